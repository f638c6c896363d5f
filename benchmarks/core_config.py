"""Configuration of the core benchmark (bench.py): its sizes for a full and a --quick run,
the addresses and database it uses, the GraphQL documents it sends, the names it enrols,
and say(), how it prints. bench_read_http.py reads members with the same MEMBER_READ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]

HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/0"
DATABASE = "loyalty_bench"
STORE = "store-001"


@dataclass(frozen=True)
class Params:
    members: int
    read_clients: int
    read_seconds: float
    stack_seconds: float
    write_clients: int
    write_members_per_client: int
    write_seconds: float
    warmup_seconds: float
    subscribers: int
    subscribed_members: int
    push_samples: int
    push_timeout: float
    seed_clients: int
    budget_seconds: float


FULL = Params(
    members=1000,
    read_clients=32,
    read_seconds=15,
    stack_seconds=5,
    write_clients=8,
    write_members_per_client=4,
    write_seconds=15,
    warmup_seconds=2,
    subscribers=1000,
    subscribed_members=500,
    push_samples=200,
    push_timeout=5.0,
    seed_clients=8,
    budget_seconds=285,
)

QUICK = Params(
    members=150,
    read_clients=32,
    read_seconds=3,
    stack_seconds=1.5,
    write_clients=8,
    write_members_per_client=2,
    write_seconds=3,
    warmup_seconds=0.5,
    subscribers=200,
    subscribed_members=100,
    push_samples=40,
    push_timeout=3.0,
    seed_clients=8,
    budget_seconds=57,
)

ENROLL = """mutation Enroll($input: EnrollMemberInput!) {
  enrollMember(input: $input) { member { id version } userErrors { code message field } }
}"""

MEMBER_READ = """query MemberRead($id: ID!) {
  member(id: $id) {
    id
    version
    profile {
      firstName lastName email phone birthday preferredChannel preferredStoreId
      consents { email sms push personalization }
    }
    balance { available pending lifetime }
    tier { current { id name } next { id name } qualifyingPoints pointsToNext progress since }
  }
}"""

MEMBER_ID_ONLY = "query MemberId($id: ID!) { member(id: $id) { id } }"
TYPENAME = "query Typename { __typename }"

PURCHASE = """mutation Purchase($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) {
    member { id version balance { available } }
    userErrors { code message field }
  }
}"""

MEMBER_UPDATED = """subscription Updates($memberId: ID!, $sinceVersion: Int) {
  memberUpdated(memberId: $memberId, sinceVersion: $sinceVersion) {
    version changes member { balance { available } }
  }
}"""

FIRST_NAMES = ["Ann", "Bram", "Chloe", "Daan", "Eva", "Finn", "Gina", "Hugo", "Iris", "Jens"]
LAST_NAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos"]


def say(text: str = "") -> None:
    print(text, flush=True)
