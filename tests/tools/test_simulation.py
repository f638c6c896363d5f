"""The decisioning evaluation in small: the violations it counts are zero, and its checks can
catch a violation when one happens."""

from __future__ import annotations

from datetime import timedelta

from loyalty.channel import Channel
from loyalty.decisions.actions import Action, ActionKind, Ask
from loyalty.program import parse_program
from tools.simulate_decisions import PROGRAM, START, Simulation, roc_auc, simulate


def test_a_small_run_has_no_violations_and_ranks_lapsers_higher() -> None:
    report = simulate(members=150, days=40, seed=3)
    assert report.cap_violations == 0
    assert report.consent_violations == 0
    assert report.quiet_violations == 0
    assert report.conflicting_offers == 0
    # The run did something worth checking: decisions, shows, sends, intents, lapsers.
    assert report.decisions > 1000 and report.shown > 500 and report.sent > 20
    assert report.intents > 150 and report.lapsers > 10
    assert report.auc > 0.7


def test_the_checks_catch_what_they_look_for() -> None:
    demo = parse_program(PROGRAM.read_text(encoding="utf-8"))
    sim = Simulation(demo, members=1, days=1, seed=1)
    person = sim.people[0]
    person.delivered.clear()
    cap = demo.decisions.cap(Channel.EMAIL)  # one a day, two a week
    for _ in range(cap.day + 1):
        sim._count(person, Channel.EMAIL, START)
    assert sim.report.cap_violations == 1
    at = START + timedelta(hours=23)  # inside the quiet hours
    sim._message_allowed(person, Channel.SMS, at)
    assert sim.report.quiet_violations == 1
    assert sim.report.consent_violations == int(not person.member.profile.consents.sms)
    twice = [
        Action(
            f"SHOW_REWARD:{k}", ActionKind.SHOW_REWARD, Channel.APP, "t", "m", 1.0, (), "five-off"
        )
        for k in ("a", "b")
    ]
    sim._check_answer(person, twice, Ask(Channel.APP, START))
    assert sim.report.conflicting_offers == 1


def test_roc_auc() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0
    assert roc_auc([0.5, 0.5], [False, True]) == 0.5
