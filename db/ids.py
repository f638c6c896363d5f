"""Opaque, prefixed ids: the prefix tells `node(id)` which collection holds the object."""

from __future__ import annotations

import re

from bson import ObjectId

MEMBER = "mbr"
ENTRY = "led"
ISSUED = "irw"
REWARD = "rwd"
AUDIT = "aud"  # audit records: never a node, only paged through auditLog

_SHAPE = re.compile(r"^(mbr|led|irw)_[0-9a-f]{24}$|^rwd_[a-z0-9][a-z0-9-]{0,62}$")


def new_id(prefix: str) -> str:
    # ObjectIds rise with time, so ids of one kind sort roughly by creation.
    return f"{prefix}_{ObjectId()}"


def kind_of(opaque: str) -> str | None:
    """The prefix of a well-formed id, or None for anything malformed (it then reads as null)."""
    if not isinstance(opaque, str) or not _SHAPE.match(opaque):
        return None
    return opaque.split("_", 1)[0]


def reward_id(slug: str) -> str:
    return f"{REWARD}_{slug}"


def reward_slug(opaque: str) -> str | None:
    return opaque[4:] if kind_of(opaque) == REWARD else None
