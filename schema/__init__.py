"""The GraphQL schema: strawberry types, inputs, enums, and the assembled Schema."""
