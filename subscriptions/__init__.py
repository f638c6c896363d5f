"""The event bus and the subscription streams built on it."""
