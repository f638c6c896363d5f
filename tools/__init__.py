"""Development tools: the contract check (from the Makefile) and simulations of the rules."""
