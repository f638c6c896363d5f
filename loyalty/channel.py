"""The channels: surfaces a member is in front of, and channels a message goes out on.

In its own module so the program file's sections (program.py, decisions/config.py) share it.
"""

from __future__ import annotations

from enum import Enum


class Channel(str, Enum):
    APP = "APP"
    WEB = "WEB"
    POS = "POS"
    KIOSK = "KIOSK"
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    CALL_CENTER = "CALL_CENTER"


# Channels a message is sent on (consent needed, quiet hours apply); the others are surfaces
# the member is in front of.
MESSAGE_CHANNELS = (Channel.PUSH, Channel.EMAIL, Channel.SMS)
