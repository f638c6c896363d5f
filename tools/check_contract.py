"""Fail on any breaking change of the served schema against the client contract and against the
served SDL committed in schema/served.graphql (graphql-core's find_breaking_changes).

python -m tools.check_contract [--update]   (--update rewrites schema/served.graphql first)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes, find_dangerous_changes

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT.parent / "shared" / "contract" / "schema.graphql"
COMMITTED = ROOT / "schema" / "served.graphql"


def served_sdl() -> str:
    from schema.build import build_schema as build_served

    return build_served().as_str() + "\n"


def committed_sdl() -> str | None:
    """schema/served.graphql as committed at HEAD (the working copy when git cannot say)."""
    try:
        shown = subprocess.run(
            ["git", "show", "HEAD:schema/served.graphql"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return shown.stdout
    except (OSError, subprocess.CalledProcessError):
        return COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else None


def breaking(old: GraphQLSchema, new: GraphQLSchema) -> list[str]:
    return [f"{c.type.name}: {c.description}" for c in find_breaking_changes(old, new)]


def dangerous(old: GraphQLSchema, new: GraphQLSchema) -> list[str]:
    return [f"{c.type.name}: {c.description}" for c in find_dangerous_changes(old, new)]


def check(served_text: str, baselines: dict[str, str]) -> list[str]:
    """Every breaking change of the served schema against each named baseline SDL."""
    served = build_schema(served_text)
    problems: list[str] = []
    for name, text in baselines.items():
        old = build_schema(text)
        problems += [f"against {name}: {p}" for p in breaking(old, served)]
        for warning in dangerous(old, served):
            print(f"check-contract: note against {name}: {warning}", file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite schema/served.graphql")
    args = parser.parse_args(argv)
    served = served_sdl()
    baselines = {"the contract": CONTRACT.read_text(encoding="utf-8")}
    previous = committed_sdl()
    if previous is not None:
        baselines["the committed schema/served.graphql"] = previous
    problems = check(served, baselines)
    for problem in problems:
        print(f"check-contract: BREAKING {problem}", file=sys.stderr)
    if problems:
        return 1
    if args.update:
        COMMITTED.write_text(served, encoding="utf-8")
        print(f"check-contract: wrote {COMMITTED.relative_to(ROOT)}")
    elif COMMITTED.exists() and COMMITTED.read_text(encoding="utf-8") != served:
        print(
            "check-contract: schema/served.graphql differs from the served schema (no breaking "
            "change): run `make schema` and commit it",
            file=sys.stderr,
        )
    print(f"check-contract: no breaking change against {', '.join(baselines)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
