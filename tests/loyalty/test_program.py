"""parse_program: the TOML program file is validated at start and bad keys are named by path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.program import INT32_MAX, Channel, ProgramDef, ProgramFileError, parse_program

PROGRAM = """
[program]
name = "Tiny"
currency = "EUR"
currency_decimals = 2
point_value = "0.01"
earn_rate = "1"
return_window_days = 0
max_purchase_amount = "1000.00"
"""

TIER_A = """
[[tiers]]
id = "a"
name = "A"
threshold = 0
earn_multiplier = "1"
"""

TIER_B = """
[[tiers]]
id = "b"
name = "B"
threshold = 100
earn_multiplier = "2"
"""

REWARD = """
[[rewards]]
id = "r"
name = "R"
cost = 10
channels = ["APP"]
"""

VALID = PROGRAM + TIER_A + TIER_B + REWARD


def refused(text: str) -> str:
    """The ProgramFileError message for `text` (which must be refused)."""
    with pytest.raises(ProgramFileError) as info:
        parse_program(text, source="tiny.toml")
    message = str(info.value)
    assert message.startswith("tiny.toml")
    return message


def test_demo_file_parses(demo: ProgramDef) -> None:
    assert demo.name == "Northwind Rewards"
    assert demo.currency == "EUR"
    assert demo.currency_decimals == 2
    assert demo.point_value == Decimal("0.01")
    assert demo.earn_rate == Decimal("1")
    assert demo.return_window_days == 0
    assert demo.max_purchase_amount == Decimal("10000.00")
    assert demo.default_phone_region == "NL"
    assert [(t.id, t.threshold, t.earn_multiplier) for t in demo.tiers] == [
        ("member", 0, Decimal("1.0")),
        ("silver", 500, Decimal("1.25")),
        ("gold", 2000, Decimal("1.5")),
    ]
    assert [r.id for r in demo.rewards] == ["free-coffee", "five-off", "tote-bag", "gold-lounge"]
    lounge = demo.reward("gold-lounge")
    assert lounge is not None
    assert lounge.minimum_tier == "gold"
    assert lounge.channels == (Channel.APP, Channel.WEB, Channel.POS)
    assert lounge.active is True
    assert demo.reward("free-coffee") is not None
    assert demo.reward("no-such-reward") is None
    assert demo.tier("silver").name == "Silver"
    with pytest.raises(KeyError):
        demo.tier("platinum")


def test_small_inline_program_parses() -> None:
    program = parse_program(VALID)
    assert [t.id for t in program.tiers] == ["a", "b"]
    assert program.default_phone_region == "NL"  # the default
    (reward,) = program.rewards
    assert reward.valid_days is None
    assert reward.description is None


def test_program_is_frozen(demo: ProgramDef) -> None:
    with pytest.raises(ValueError, match="frozen"):
        demo.name = "other"  # type: ignore[misc]


def test_bad_tier_threshold_names_its_path() -> None:
    message = refused(PROGRAM + TIER_A + TIER_B.replace("threshold = 100", "threshold = -1"))
    assert "tiers.1.threshold" in message


def test_bad_currency_names_its_key() -> None:
    message = refused(VALID.replace('currency = "EUR"', 'currency = "euro"'))
    assert "\n  currency:" in message


def test_empty_reward_channels_names_its_path() -> None:
    message = refused(VALID.replace('channels = ["APP"]', "channels = []"))
    assert "rewards.0.channels" in message


def test_unknown_reward_channel_names_its_path() -> None:
    message = refused(VALID.replace('channels = ["APP"]', 'channels = ["FAX"]'))
    assert "rewards.0.channels.0" in message


def test_every_bad_key_is_listed() -> None:
    text = VALID.replace('currency = "EUR"', 'currency = "eu"').replace("cost = 10", "cost = 0")
    message = refused(text)
    assert "\n  currency:" in message
    assert "rewards.0.cost" in message


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (PROGRAM.replace("[program]", "[program]\ncolour = 'red'") + TIER_A, "colour"),
        (PROGRAM + TIER_A.replace('name = "A"', 'name = "A"\nperks = 1'), "tiers.0.perks"),
        (PROGRAM + TIER_A + REWARD.replace("cost = 10", "cost = 10\nprice = 1"), "rewards.0.price"),
    ],
)
def test_unknown_keys_are_refused(text: str, path: str) -> None:
    message = refused(text)
    assert path in message
    assert "Extra inputs are not permitted" in message


def test_unknown_top_level_table_is_refused() -> None:
    message = refused(VALID + "\n[promotions]\nx = 1\n")
    assert "unknown top-level key(s): promotions" in message


def test_tiers_must_start_at_zero() -> None:
    message = refused(PROGRAM + TIER_A.replace("threshold = 0", "threshold = 1"))
    assert "tiers" in message
    assert "threshold 0" in message


@pytest.mark.parametrize("upper", [100, 50])
def test_tiers_must_ascend(upper: int) -> None:
    text = (
        PROGRAM
        + TIER_A
        + TIER_B
        + TIER_B.replace('id = "b"', 'id = "c"').replace("threshold = 100", f"threshold = {upper}")
    )
    message = refused(text)
    assert "\n  tiers:" in message
    assert "'c' must have a higher threshold than 'b'" in message


def test_tiers_are_required() -> None:
    message = refused(PROGRAM)
    assert "\n  tiers:" in message


def test_tier_ids_must_be_unique() -> None:
    message = refused(PROGRAM + TIER_A + TIER_B.replace('id = "b"', 'id = "a"'))
    assert "tier ids must be unique" in message


def test_reward_ids_must_be_unique() -> None:
    message = refused(VALID + REWARD)
    assert "rewards: ids must be unique" in message


def test_minimum_tier_must_name_a_tier() -> None:
    ok = parse_program(VALID.replace("cost = 10", 'cost = 10\nminimum_tier = "b"'))
    assert ok.rewards[0].minimum_tier == "b"
    message = refused(VALID.replace("cost = 10", 'cost = 10\nminimum_tier = "platinum"'))
    assert "rewards.0.minimum_tier" in message
    assert "platinum" in message


def test_overflowing_points_are_refused() -> None:
    # 10,000,000 x 1000 points per unit x 2 (tier b) is far above 2**31 - 1.
    text = VALID.replace('"1000.00"', '"10000000.00"').replace(
        'earn_rate = "1"', 'earn_rate = "1000"'
    )
    message = refused(text)
    assert "overflows 32-bit points" in message


def test_overflow_boundary_uses_the_top_multiplier() -> None:
    # With tier b's multiplier 2, the largest allowed amount is INT32_MAX / 2 points.
    limit = Decimal(INT32_MAX) / 2  # 1073741823.5
    at_limit = VALID.replace('"1000.00"', f'"{limit}"')
    assert parse_program(at_limit).max_purchase_amount == limit
    over = VALID.replace('"1000.00"', f'"{limit + Decimal("0.01")}"')
    assert "overflows 32-bit points" in refused(over)


def test_max_amount_with_too_many_decimals_is_refused() -> None:
    message = refused(VALID.replace('"1000.00"', '"1000.001"'))
    assert "more decimals than the currency" in message


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('point_value = "0.01"', 'point_value = "0"', "point_value"),
        ('earn_rate = "1"', 'earn_rate = "1001"', "earn_rate"),
        ("return_window_days = 0", "return_window_days = 366", "return_window_days"),
        ("currency_decimals = 2", "currency_decimals = 5", "currency_decimals"),
        ('name = "Tiny"', 'name = ""', "name"),
        (
            '[program]\nname = "Tiny"',
            '[program]\nname = "Tiny"\ndefault_phone_region = "nl"',
            "default_phone_region",
        ),
        ('earn_multiplier = "1"', 'earn_multiplier = "0"', "tiers.0.earn_multiplier"),
        ('id = "a"', 'id = "Gold Tier"', "tiers.0.id"),
        ("cost = 10", "cost = 10\nvalid_days = 0", "rewards.0.valid_days"),
    ],
)
def test_bad_values_name_their_path(old: str, new: str, path: str) -> None:
    assert old in VALID
    message = refused(VALID.replace(old, new, 1))
    assert f"\n  {path}:" in message


def test_invalid_toml_is_refused() -> None:
    message = refused('[program]\nname = "unterminated\n')
    assert "not valid TOML" in message


@pytest.mark.parametrize("program", ["program = 5", 'program = "Tiny"'])
def test_program_key_that_is_not_a_table_is_refused(program: str) -> None:
    message = refused(program + "\n" + TIER_A)
    assert "program" in message
