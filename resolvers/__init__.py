"""Thin query and mutation resolvers: GraphQL input -> domain call -> payload."""
