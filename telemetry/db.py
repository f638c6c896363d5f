"""MongoDB command latency from PyMongo's command monitoring (no wrapper around the driver)."""

from __future__ import annotations

from pymongo import monitoring

from telemetry.metrics import DB_COMMAND_DURATION, DB_COMMAND_FAILURES


class CommandMetrics(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        DB_COMMAND_DURATION.labels(command=event.command_name).observe(
            event.duration_micros / 1_000_000
        )

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        DB_COMMAND_DURATION.labels(command=event.command_name).observe(
            event.duration_micros / 1_000_000
        )
        DB_COMMAND_FAILURES.labels(command=event.command_name).inc()


_registered = False


def register_command_metrics() -> None:
    """Register once per process: it applies to every client created afterwards."""
    global _registered
    if not _registered:
        monitoring.register(CommandMetrics())
        _registered = True
