"""The decisioning evaluation: synthetic members, day by day, through the real pure rules.

    .venv/bin/python tools/simulate_decisions.py                 # 10,000 members, 90 days
    .venv/bin/python tools/simulate_decisions.py --members 500 --days 30   # a quick look

A known generator gives each member a purchase rhythm, a basket size, consents and a preferred
channel; a known set of them (the lapsers) stops buying partway through. Every day: purchases
and redemptions at the till (recordPurchase / redeemReward rules), app sessions that ask
nextBestActions on APP and report SHOWN / DISMISSED / CONVERTED, a sender that asks on the
member's message channel at a random hour (day or night) and reports SENT, and the scheduled job
at 03:00 (loyalty/schedule.run_due) - every change through `observe`, as the writer does, so the
journeys run too. Some members withdraw every consent halfway.

The checks are the simulator's own bookkeeping, not the engine's: what it showed and sent per
member, channel, day and week against the program's caps; every message or PENDING intent
against the consent the member had at that moment and the quiet hours; every answer for two
actions of one reward, a reward the member may not see on that channel, or a storyline
converted or redeemed within the program's closed days. Churn is scored on the last day and
compared with the generator's truth (ROC AUC). No server: the rules are pure.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loyalty.changes import Context, Outcome
from loyalty.channel import MESSAGE_CHANNELS, Channel
from loyalty.decisions import churn, orchestration
from loyalty.decisions.actions import Action, ActionKind, Ask, next_best_actions, visible
from loyalty.decisions.notice import Notice, NoticeStatus
from loyalty.decisions.observe import observe
from loyalty.decisions.outcomes import ActionOutcome, record_outcome
from loyalty.enrollment import enroll
from loyalty.errors import DomainError
from loyalty.model import Consents, IdentifierKind, Member, Profile
from loyalty.program import ProgramDef, parse_program
from loyalty.purchases import record_purchase
from loyalty.rewards import redeem
from loyalty.schedule import run_due

PROGRAM = Path(__file__).resolve().parents[1] / "config" / "program.toml"
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@dataclass
class Person:
    """The generator's truth about one member, and what the simulator saw happen to them."""

    member: Member
    cadence: float  # days between purchases, on average
    basket: float
    lapses_on: int | None  # the day they stop buying (None: they keep going)
    # (channel, "D"/"W", period) -> what the simulator showed or sent
    delivered: dict[tuple[str, str, str], int] = field(default_factory=dict)
    closed: dict[str, datetime] = field(default_factory=dict)  # storyline -> converted at


@dataclass
class Report:
    members: int
    days: int
    decisions: int = 0
    shown: int = 0
    sent: int = 0
    intents: int = 0
    suppressed_intents: int = 0
    purchases: int = 0
    redemptions: int = 0
    cap_violations: int = 0
    consent_violations: int = 0
    quiet_violations: int = 0
    conflicting_offers: int = 0
    latencies: list[float] = field(default_factory=list)
    auc: float = 0.0
    lapsers: int = 0
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def roc_auc(scores: list[float], truth: list[bool]) -> float:
    """The probability that a random lapser scores above a random stayer (ties count half)."""
    ranked = sorted(zip(scores, truth, strict=True), key=lambda pair: pair[0])
    rank_sum, positives, i = 0.0, sum(truth), 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2  # 1-based ranks i+1..j
        rank_sum += mean_rank * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


class Simulation:
    def __init__(self, program: ProgramDef, members: int, days: int, seed: int) -> None:
        self.program = program
        self.days = days
        self.rng = random.Random(seed)
        self.report = Report(members=members, days=days)
        self.people = [self._person(i) for i in range(members)]

    # --- the generator -----------------------------------------------------------------------

    def _person(self, index: int) -> Person:
        rng = self.rng
        consents = Consents(
            email=rng.random() < 0.6, sms=rng.random() < 0.2, push=rng.random() < 0.4
        )
        preferred = rng.choice([None, Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.APP])
        profile = Profile(
            first_name=f"M{index}",
            birthday=f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-15"
            if rng.random() < 0.5
            else None,
            preferred_channel=preferred,
            consents=consents,
        )
        enrolled = START - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
        ctx = Context(now=enrolled, actor="sim", channel=Channel.POS, store_id="s-1")
        outcome = enroll(
            f"mbr_{index:06d}",
            [(IdentifierKind.EMAIL, f"m{index}@example.com")],
            profile,
            self.program,
            ctx,
        )
        outcome = observe(None, outcome, self.program, enrolled)
        person = Person(
            member=outcome.member,
            cadence=math.exp(rng.uniform(math.log(4), math.log(35))),
            basket=math.exp(rng.gauss(math.log(28), 0.5)),
            # About one in five lapses, at a random day of the second half of the run.
            lapses_on=rng.randint(self.days // 3, self.days - 10)
            if rng.random() < 0.2 and self.days > 20
            else None,
        )
        self._intents(person, outcome.notices)
        return person

    # --- bookkeeping and checks ----------------------------------------------------------

    def _count(self, person: Person, channel: Channel, at: datetime) -> None:
        year, week, _ = at.isocalendar()
        cap = self.program.decisions.cap(channel)
        for period, key, limit in (
            ("D", at.date().isoformat(), cap.day),
            ("W", f"{year}-W{week:02d}", cap.week),
        ):
            slot = (channel.value, period, key)
            person.delivered[slot] = person.delivered.get(slot, 0) + 1
            if person.delivered[slot] > limit:
                self.report.cap_violations += 1

    def _message_allowed(self, person: Person, channel: Channel, at: datetime) -> None:
        c = person.member.profile.consents
        consent = {Channel.EMAIL: c.email, Channel.SMS: c.sms, Channel.PUSH: c.push}
        if not consent.get(channel, False):
            self.report.consent_violations += 1
        if orchestration.quiet_until(at, self.program.decisions) is not None:
            self.report.quiet_violations += 1

    def _intents(self, person: Person, notices: tuple[Notice, ...]) -> None:
        for notice in notices:
            self.report.intents += 1
            if notice.status is not NoticeStatus.PENDING:
                self.report.suppressed_intents += 1
                continue
            assert notice.channel is not None
            self._message_allowed(person, notice.channel, notice.not_before)
            self._count(person, notice.channel, notice.created_at)

    def _check_answer(self, person: Person, actions: list[Action], ask: Ask) -> None:
        rewards = [a.reward_id for a in actions if a.reward_id]
        if len(rewards) != len(set(rewards)):
            self.report.conflicting_offers += 1
        closed_for = timedelta(days=self.program.decisions.closed_days)
        for action in actions:
            if action.reward_id is not None:
                reward = self.program.reward(action.reward_id)
                assert reward is not None
                if not visible(person.member, reward, ask.channel, self.program):
                    self.report.conflicting_offers += 1
                closed_at = person.closed.get(f"reward:{action.reward_id}")
                if closed_at is not None and ask.at - closed_at < closed_for:
                    self.report.conflicting_offers += 1

    # --- what happens each day ---------------------------------------------------------------

    def _apply(self, person: Person, outcome: Outcome, at: datetime) -> None:
        seen = observe(person.member, outcome, self.program, at)
        person.member = seen.member
        self._intents(person, seen.notices)

    def _decide(self, person: Person, ask: Ask, first: int) -> list[Action]:
        started = time.perf_counter()
        actions = next_best_actions(person.member, self.program, ask, first)
        self.report.latencies.append(time.perf_counter() - started)
        self.report.decisions += 1
        self._check_answer(person, actions, ask)
        return actions

    def _outcome(
        self, person: Person, action: Action, outcome: ActionOutcome, at: datetime
    ) -> None:
        done = record_outcome(person.member, action.key, outcome, action.channel, self.program, at)
        person.member = done.member
        if outcome is ActionOutcome.CONVERTED and action.reward_id:
            person.closed[f"reward:{action.reward_id}"] = at

    def _purchase(self, person: Person, day: int, at: datetime) -> None:
        amount = Decimal(str(round(person.basket * self.rng.uniform(0.5, 1.5), 2)))
        ctx = Context(now=at, actor="sim", channel=Channel.POS, store_id="s-1")
        order = f"{person.member.id}-{day}"
        self._apply(
            person, record_purchase(person.member, amount, order, at, self.program, ctx), at
        )
        self.report.purchases += 1
        affordable = [
            r
            for r in self.program.rewards
            if visible(person.member, r, Channel.POS, self.program)
            and r.cost <= person.member.balance.available
        ]
        if affordable and self.rng.random() < 0.3:
            reward = self.rng.choice(affordable)
            later = at + timedelta(minutes=1)
            ctx = Context(now=later, actor="sim", channel=Channel.POS, store_id="s-1")
            try:
                outcome = redeem(person.member, reward, f"C{day}", self.program, ctx)
            except DomainError:
                return
            self._apply(person, outcome, later)
            person.closed[f"reward:{reward.id}"] = later
            self.report.redemptions += 1

    def _app_session(self, person: Person, at: datetime) -> None:
        ask = Ask(Channel.APP, at)
        actions = self._decide(person, ask, 3)
        if not actions or actions[0].kind is ActionKind.SUPPRESS_MESSAGE:
            return
        shown = actions[0]  # one slot on the home screen
        self._count(person, Channel.APP, at)
        self._outcome(person, shown, ActionOutcome.SHOWN, at)
        self.report.shown += 1
        roll = self.rng.random()
        if roll < 0.1:
            self._outcome(person, shown, ActionOutcome.DISMISSED, at)
        elif roll < 0.15:
            self._outcome(person, shown, ActionOutcome.CONVERTED, at)

    def _sender(self, person: Person, at: datetime) -> None:
        channel = orchestration.message_channel(person.member) or self.rng.choice(MESSAGE_CHANNELS)
        actions = self._decide(person, Ask(channel, at), 1)
        for action in actions:
            if action.kind is ActionKind.SEND_MESSAGE:
                self._message_allowed(person, channel, at)
                self._count(person, channel, at)
                self._outcome(person, action, ActionOutcome.SENT, at)
                self.report.sent += 1

    def _job(self, person: Person, at: datetime) -> None:
        self._apply(person, run_due(person.member, self.program, at, "scheduler"), at)

    def run(self) -> Report:
        started = time.perf_counter()
        rng = self.rng
        for day in range(self.days):
            midnight = START + timedelta(days=day)
            for person in self.people:
                self._job(person, midnight + timedelta(hours=3))
                if day == self.days // 2 and rng.random() < 0.1:
                    withdrawn = replace(person.member.profile, consents=Consents())
                    person.member = replace(person.member, profile=withdrawn)
                buys = person.lapses_on is None or day < person.lapses_on
                if buys and rng.random() < 1 / person.cadence:
                    at = midnight + timedelta(hours=rng.randint(8, 19), minutes=rng.randint(0, 59))
                    self._purchase(person, day, at)
                if rng.random() < 0.3:
                    at = midnight + timedelta(hours=rng.randint(7, 22), minutes=rng.randint(0, 59))
                    self._app_session(person, at)
                if rng.random() < 0.3:
                    at = midnight + timedelta(hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
                    self._sender(person, at)
        end = START + timedelta(days=self.days)
        scores = [
            churn.score(p.member, self.program.decisions.churn, end).risk for p in self.people
        ]
        truth = [p.lapses_on is not None for p in self.people]
        self.report.auc = roc_auc(scores, truth)
        self.report.lapsers = sum(truth)
        self.report.seconds = time.perf_counter() - started
        return self.report


def simulate(members: int, days: int, seed: int = 7) -> Report:
    program = parse_program(PROGRAM.read_text(encoding="utf-8"), source=str(PROGRAM))
    return Simulation(program, members, days, seed).run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    r = simulate(args.members, args.days, args.seed)
    print(f"members {r.members}, days {r.days}, lapsers {r.lapsers}, {r.seconds:.1f} s")
    print(f"purchases {r.purchases}, redemptions {r.redemptions}, decisions {r.decisions}")
    print(f"actions shown {r.shown}, messages sent {r.sent}")
    print(f"journey intents {r.intents} ({r.suppressed_intents} suppressed by consent or caps)")
    print(f"cap violations       {r.cap_violations}")
    print(f"consent violations   {r.consent_violations}")
    print(f"quiet-hour violations {r.quiet_violations}")
    print(f"conflicting offers   {r.conflicting_offers}")
    print(
        f"decision latency p50 {r.percentile(50) * 1e6:.0f} us, p99 {r.percentile(99) * 1e6:.0f} us"
    )
    print(f"churn ROC AUC        {r.auc:.3f}")
    zero = (r.cap_violations, r.consent_violations, r.quiet_violations, r.conflicting_offers)
    return 0 if zero == (0, 0, 0, 0) else 1


if __name__ == "__main__":
    sys.exit(main())
