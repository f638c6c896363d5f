"""A pytest plugin: every log line of the test run, formatted as production writes it, is kept
and searched at the end for tokens, keys and full identifiers. One found fails the run.

Only the test process's own logs are seen (the in-process servers and everything they call);
child `serve` processes write to their own files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import pytest

from api.logs import JsonFormatter
from tests.support.servers import TEST_KEYS

PATTERNS = {
    "a JWT": re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.?"),
    "an auth secret": re.compile(r"test-secret-[0-9a-f]{32}"),
    "an email address": re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    "a phone number": re.compile(r"\+\d{8,15}\b"),
}


def findings(lines: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """What in `lines` must never be logged: each as `what: the line`."""
    found: list[str] = []
    literal = [s for s in secrets if s]
    for line in lines:
        for what, pattern in PATTERNS.items():
            if pattern.search(line):
                found.append(f"{what}: {line[:300]}")
        if any(s in line for s in literal):
            found.append(f"a key: {line[:300]}")
    return found


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is no leak
            self.handleError(record)


_KEEP = _Keep()


def pytest_sessionstart(session: pytest.Session) -> None:
    root = logging.getLogger()
    root.addHandler(_KEEP)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_KEEP)
    found = findings(_KEEP.lines, TEST_KEYS.values())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"log scan: {len(_KEEP.lines)} log lines searched, {len(found)} leaks")
    if found:
        if reporter is not None:
            for item in found[:20]:
                reporter.write_line(f"log scan: {item}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
