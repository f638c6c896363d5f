"""tiers: the tier held for a number of qualifying points, and the progress to the next one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.program import ProgramDef, parse_program
from loyalty.tiers import progress_of, tier_for

ONE_TIER = parse_program(
    """
[program]
name = "Flat"
currency = "EUR"
point_value = "0.01"
earn_rate = "1"
max_purchase_amount = "100.00"

[[tiers]]
id = "only"
name = "Only"
threshold = 0
earn_multiplier = "1"
"""
)

points = st.integers(min_value=0, max_value=2**31 - 1)


@pytest.mark.parametrize(
    ("qualifying", "tier_id"),
    [
        (0, "member"),
        (1, "member"),
        (499, "member"),
        (500, "silver"),
        (501, "silver"),
        (1999, "silver"),
        (2000, "gold"),
        (2**31 - 1, "gold"),
    ],
)
def test_tier_for_demo_thresholds(demo: ProgramDef, qualifying: int, tier_id: str) -> None:
    assert tier_for(qualifying, demo).id == tier_id


def test_tier_for_with_a_single_tier() -> None:
    assert tier_for(0, ONE_TIER).id == "only"
    assert tier_for(10**6, ONE_TIER).id == "only"


@given(a=points, b=points)
def test_tier_for_is_monotonic(demo: ProgramDef, a: int, b: int) -> None:
    low, high = sorted((a, b))
    rank = [t.id for t in demo.tiers]
    assert rank.index(tier_for(low, demo).id) <= rank.index(tier_for(high, demo).id)


@given(qualifying=points)
def test_tier_for_is_the_highest_tier_reached(demo: ProgramDef, qualifying: int) -> None:
    held = tier_for(qualifying, demo)
    assert held.threshold <= qualifying
    assert all(t.threshold > qualifying for t in demo.tiers if t.threshold > held.threshold)


def test_progress_at_the_start(demo: ProgramDef) -> None:
    progress = progress_of(0, demo.tier("member"), demo)
    assert progress.current.id == "member"
    assert progress.next is not None
    assert progress.next.id == "silver"
    assert progress.points_to_next == 500
    assert progress.progress == 0.0


@pytest.mark.parametrize(
    ("qualifying", "tier_id", "next_id", "to_next", "fraction"),
    [
        (250, "member", "silver", 250, 0.5),
        (499, "member", "silver", 1, 499 / 500),
        (500, "silver", "gold", 1500, 0.0),
        (1250, "silver", "gold", 750, 0.5),
        (1999, "silver", "gold", 1, 1499 / 1500),
    ],
)
def test_progress_values(
    demo: ProgramDef, qualifying: int, tier_id: str, next_id: str, to_next: int, fraction: float
) -> None:
    progress = progress_of(qualifying, tier_for(qualifying, demo), demo)
    assert progress.current.id == tier_id
    assert progress.next is not None
    assert progress.next.id == next_id
    assert progress.points_to_next == to_next
    assert progress.progress == pytest.approx(fraction)


@pytest.mark.parametrize("qualifying", [2000, 2001, 10**6])
def test_progress_at_the_top_tier(demo: ProgramDef, qualifying: int) -> None:
    progress = progress_of(qualifying, tier_for(qualifying, demo), demo)
    assert progress.current.id == "gold"
    assert progress.next is None
    assert progress.points_to_next is None
    assert progress.progress == 1.0


def test_progress_with_a_single_tier() -> None:
    progress = progress_of(42, ONE_TIER.tiers[0], ONE_TIER)
    assert (progress.next, progress.points_to_next, progress.progress) == (None, None, 1.0)


def test_progress_is_clamped_when_the_tier_lags_the_points(demo: ProgramDef) -> None:
    # The tier passed in is the one held; progress never leaves 0..1 even if they disagree.
    progress = progress_of(800, demo.tier("member"), demo)
    assert progress.points_to_next == 0
    assert progress.progress == 1.0


@given(qualifying=points)
def test_progress_is_consistent(demo: ProgramDef, qualifying: int) -> None:
    held = tier_for(qualifying, demo)
    progress = progress_of(qualifying, held, demo)
    assert 0.0 <= progress.progress <= 1.0
    assert progress.current == held
    if progress.next is None:
        assert held.id == demo.tiers[-1].id
        assert progress.points_to_next is None
        assert progress.progress == 1.0
    else:
        assert progress.points_to_next == progress.next.threshold - qualifying
        assert progress.points_to_next > 0
        assert tier_for(qualifying + progress.points_to_next, demo) == progress.next
        assert tier_for(qualifying + progress.points_to_next - 1, demo) == held
        span = progress.next.threshold - held.threshold
        assert progress.progress == (qualifying - held.threshold) / span
