"""Helpers the API tests share: servers, a GraphQL client, WebSocket clients."""
