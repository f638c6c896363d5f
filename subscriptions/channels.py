"""The one place channel names are built; nobody formats them by hand."""


def member_channel(member_id: str) -> str:
    return f"member:{member_id}"


def store_channel(store_id: str) -> str:
    return f"store:{store_id}"


def notifications_channel() -> str:
    """New notification intents, for email/SMS/push senders (SERVICE)."""
    return "notifications"
