"""The loyalty program's rules: pure, synchronous, no I/O and no clock reads."""
