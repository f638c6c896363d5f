"""What the embedded server prints reaches the service's log only when it warns."""

from __future__ import annotations

import logging

import pytest

from db.embedded import forward_warnings


def test_its_warnings_and_their_tracebacks_are_logged_and_the_rest_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    output = [
        "2026-11-25 05:00:00,001 INFO secantus.server: listening on 127.0.0.1:41000\n",
        "2026-11-25 05:00:01,002 WARNING secantus.storage.conflict: delete retrying for 5.0s\n",
        "2026-11-25 05:00:02,003 INFO secantus.server: connection accepted\n",
        "2026-11-25 05:00:03,004 ERROR secantus.server: request failed\n",
        "Traceback (most recent call last):\n",
        '  File "server.py", line 1, in handle\n',
        "ValueError: bad\n",
        "2026-11-25 05:00:04,005 INFO secantus.server: connection closed\n",
    ]
    with caplog.at_level(logging.INFO, logger="embedded_db"):
        forward_warnings(output)
    said = [getattr(r, "line", "") for r in caplog.records if r.name == "embedded_db"]
    assert said == [line.rstrip() for line in output[1:2] + output[3:7]]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "embedded_db")
