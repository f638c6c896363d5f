"""The audit trail as the graph shows it to admins."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import strawberry
from graphql import GraphQLError

from db.audit import AuditRecord as AuditState
from schema.shared import PageInfo


@strawberry.type(description="One thing done to a member: who, when, why, and what it moved.")
class AuditRecord:
    state: strawberry.Private[AuditState]

    @strawberry.field(description="The record's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.state.id)

    @strawberry.field(description="When it happened.")
    def at(self) -> datetime:
        return self.state.at

    @strawberry.field(description="The operation, e.g. mergeMembers.")
    def action(self) -> str:
        return self.state.action

    @strawberry.field(description="The token subject that did it.")
    def actor(self) -> str:
        return self.state.actor

    @strawberry.field(description="The role it acted as.")
    def role(self) -> str:
        return self.state.role

    @strawberry.field(description="The member it was done to (the survivor, for a merge).")
    def member_id(self) -> strawberry.ID | None:
        return strawberry.ID(self.state.member_id) if self.state.member_id else None

    @strawberry.field(description="OK, or the code it was refused with.")
    def outcome(self) -> str:
        return self.state.outcome

    @strawberry.field(description="The reason given, when one was.")
    def reason(self) -> str | None:
        return self.state.reason

    @strawberry.field(
        description="What it did, as a JSON object of kinds and counts (never a personal value)."
    )
    def details(self) -> str:
        return json.dumps(self.state.details, sort_keys=True, default=str)

    @strawberry.field(description="The request id, to find the request's log lines.")
    def request_id(self) -> str | None:
        return self.state.request_id


@strawberry.type(description="One audit record and where it is in the trail.")
class AuditRecordEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from here.")
    node: AuditRecord = strawberry.field(description="The record.")


@strawberry.type(description="A page of the audit trail, newest first.")
class AuditRecordConnection:
    edges: list[AuditRecordEdge] = strawberry.field(description="The records of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more records follow.")


def encode_cursor(record_id: str) -> str:
    return base64.urlsafe_b64encode(f"audit:{record_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError("malformed cursor", extensions={"code": "INVALID_INPUT"}) from exc
    if kind != "audit" or not value:
        raise GraphQLError("malformed cursor", extensions={"code": "INVALID_INPUT"})
    return value
