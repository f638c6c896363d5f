"""Command-line tools that run the pure rules without a server (see each module)."""
