"""The packed lots round-trip exactly, through the cache and without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from db import codec
from loyalty.model import PointsLot

MS = st.integers(min_value=0, max_value=4_000_000_000_000).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)
LOTS = st.lists(
    st.builds(
        PointsLot,
        seq=st.integers(0, 2**40),
        points=st.integers(1, 2**31 - 1),
        earned_at=MS,
        expires_at=st.none() | MS,
        available_at=st.none() | MS,
    ),
    max_size=40,
).map(tuple)


@given(LOTS)
def test_lots_round_trip(lots: tuple[PointsLot, ...]) -> None:
    raw = bytes(codec.pack_lots(lots))
    assert len(raw) == 36 * len(lots)
    assert codec.unpack_lots(raw) == lots
    codec._DECODED.clear()  # decoded from the bytes alone
    assert codec.unpack_lots(raw) == lots


def test_the_cache_is_bounded() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(codec.CACHED + 50):
        codec.pack_lots((PointsLot(i, 1, start, None),))
    assert len(codec._DECODED) <= codec.CACHED
    assert codec.unpack_lots(b"") == ()


def test_milliseconds_are_kept_exactly() -> None:
    # 1970-04-08T09:12:58.530Z came back as .529 when times went through float seconds
    at = datetime(1970, 4, 8, 9, 12, 58, 530000, tzinfo=UTC)
    lot = PointsLot(1, 1, at, at, None)
    codec._DECODED.clear()
    raw = bytes(codec.pack_lots((lot,)))
    codec._DECODED.clear()
    assert codec.unpack_lots(raw) == (lot,)
