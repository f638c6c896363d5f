"""Decisioning and orchestration: churn risk, next best actions, action outcomes and journeys.

Pure rules like the rest of loyalty/: the member's state, the program and the time go in,
dataclasses come out. What the rules need between calls (purchase cadence, caps counters,
cooldowns, closed storylines, journey marks) lives on the member as `Engagement`, so deciding
costs no query beyond reading the member.
"""
