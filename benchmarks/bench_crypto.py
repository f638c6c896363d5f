"""What encryption at rest costs the codec: a member encoded and decoded with its personal
fields encrypted (Fernet) and match keys hashed, against the same codec with a pass-through
cipher measured in the same run (the floor).

    .venv/bin/python benchmarks/bench_crypto.py [--rounds N]
"""

from __future__ import annotations

import argparse
import platform
from datetime import UTC, datetime
from typing import Any

from bench_procs import ROOT, import_service
from bench_stats import per_call_us


def demo_program() -> Any:
    """The demo program file, parsed as the service parses it."""
    program_module = import_service("loyalty.program")
    return program_module.parse_program((ROOT / "config" / "program.toml").read_text())


def sample_member() -> Any:
    enrollment = import_service("loyalty.enrollment")
    model = import_service("loyalty.model")
    program_module = import_service("loyalty.program")
    changes = import_service("loyalty.changes")
    program = demo_program()
    profile = model.Profile(
        first_name="Johanna", last_name="Jansen", email="jo.jansen@example.com",
        phone="+31612345678", birthday="1990-04-12",
    )  # fmt: skip
    ctx = changes.Context(
        now=datetime(2026, 11, 24, tzinfo=UTC),
        actor="bench",
        channel=program_module.Channel.APP,
    )
    identifiers = [
        (model.IdentifierKind.EMAIL, "jo.jansen@example.com"),
        (model.IdentifierKind.PHONE, "+31612345678"),
        (model.IdentifierKind.LOYALTY_CARD, "123456789012"),
    ]
    return enrollment.enroll("mbr_bench", identifiers, profile, program, ctx).member


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5000)
    rounds = parser.parse_args().rounds
    crypto = import_service("db.crypto")
    codec = import_service("db.codec")
    member = sample_member()

    class PassThrough(crypto.PersonalDataCipher):  # type: ignore[name-defined,misc]
        def encrypt(self, value: str | None) -> str | None:
            return value

        def decrypt(self, stored: str | None) -> str | None:
            return stored

    from cryptography.fernet import Fernet, MultiFernet

    key = Fernet.generate_key().decode()
    real = crypto.PersonalDataCipher.of([key, Fernet.generate_key().decode()], "k" * 32)
    floor = PassThrough(MultiFernet([Fernet(key)]), b"k" * 32)
    results = {}
    for name, cipher in (
        ("floor (pass-through)", floor),
        ("encrypted", real),
        ("floor again", floor),
    ):
        crypto.configure(cipher)
        results[name] = per_call_us(
            rounds, lambda: codec.member_from_doc(codec.member_to_doc(member))
        )
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {rounds} rounds")
    for name, us in results.items():
        print(f"  member encode + decode, {name:22s} {us:8.1f} us")
    floor_us = min(results["floor (pass-through)"], results["floor again"])
    print(f"  ratio encrypted / floor: {results['encrypted'] / floor_us:.2f}x")


if __name__ == "__main__":
    main()
