"""The log scan of the test run (tests/support/log_scan.py) finds what it must."""

from __future__ import annotations

import logging

from api.auth import issue
from api.logs import JsonFormatter
from resolvers.access import Role
from tests.support.log_scan import findings


def line(message: str, **extra: object) -> str:
    record = logging.LogRecord("api", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return JsonFormatter().format(record)


def test_tokens_keys_and_identifiers_are_found_and_clean_lines_pass() -> None:
    jwt = issue("s" * 40, "iss", subject="x", role=Role.ADMIN)
    leaks = [
        line("auth.rejected", reason=f"bad token {jwt}"),
        line("request", authorization=f"Bearer {jwt}"),
        line("config", secret="test-secret-" + "a" * 32),
        line("lookup", value="jo.jansen@example.com"),
        line("lookup", value="+31612345678"),
        line("started", key="the-configured-key-value"),
    ]
    found = findings(leaks, ["the-configured-key-value"])
    assert len(found) == len(leaks)
    clean = [
        line("auth.rejected", reason="ExpiredSignatureError"),
        line("graphql.request", operation="Purchase", ms=12.5, request_id="ab12"),
        line("lookup", member="mbr_6b05c25ed9be5e436e60b41e"),
    ]
    assert findings(clean, ["the-configured-key-value"]) == []
