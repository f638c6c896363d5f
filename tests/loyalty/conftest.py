"""Shared fixtures for the pure rule tests of the `loyalty/` package.

The rules never read the clock, so every test passes a fixed, timezone-aware UTC time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from loyalty.changes import Context
from loyalty.enrollment import enroll
from loyalty.model import IdentifierKind, Member, Profile
from loyalty.program import Channel, ProgramDef, parse_program

ROOT = Path(__file__).resolve().parents[2]
DEMO_PATH = ROOT / "config" / "program.toml"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo() -> ProgramDef:
    """The real demo program, parsed the way the service parses it at start."""
    return parse_program(DEMO_PATH.read_text(encoding="utf-8"), source=str(DEMO_PATH))


@pytest.fixture(scope="session")
def now() -> datetime:
    return T0


@pytest.fixture(scope="session")
def ctx() -> Context:
    return Context(now=T0, actor="test", channel=Channel.APP)


@pytest.fixture(scope="session")
def member(demo: ProgramDef) -> Member:
    """A freshly enrolled member of the demo program (frozen: safe to share)."""
    return enroll(
        "m-1",
        [(IdentifierKind.EMAIL, "jane@example.com")],
        Profile(first_name="Jane"),
        demo,
        Context(now=T0, actor="test", channel=Channel.APP),
    ).member
