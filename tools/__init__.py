"""Development tools run from the Makefile."""
