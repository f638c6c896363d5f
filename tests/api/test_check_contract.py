"""`make check-contract`: graphql-core's breaking-change finder against the contract and the
committed served SDL."""

from __future__ import annotations

import re

from tools.check_contract import COMMITTED, CONTRACT, check, served_sdl


def test_the_served_schema_breaks_neither_the_contract_nor_the_committed_sdl() -> None:
    baselines = {"contract": CONTRACT.read_text(), "committed": COMMITTED.read_text()}
    assert check(served_sdl(), baselines) == []


def test_a_removed_field_or_a_narrowed_argument_is_reported_as_breaking() -> None:
    served = served_sdl()
    without_field = re.sub(r'\n(  """[^\n]*"""\n)?  pointsToNext: Int\n', "\n", served, count=1)
    assert without_field != served
    assert any(
        "TierStatus.pointsToNext was removed" in p
        for p in check(without_field, {"committed": served})
    )
    required_since = served.replace("sinceVersion: Int = null)", "sinceVersion: Int!)", 1)
    assert required_since != served
    assert check(required_since, {"committed": served}) != []


def test_adding_a_field_is_not_breaking() -> None:
    served = served_sdl()
    added = served.replace("type TierStatus {", "type TierStatus {\n  extra: Int", 1)
    assert added != served
    assert check(added, {"committed": served}) == []
