"""The HTTP and WebSocket surface: routes, authentication, limits, assets."""
