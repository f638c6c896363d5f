"""What operators watch: Prometheus metrics (and optional tracing), importable from any layer."""
