"""Micro-benchmark: sealing and opening one field against the raw AES-GCM calls it is built on.

Prints the cost per encrypt+decrypt pair of:
  raw      AESGCM.encrypt + AESGCM.decrypt with a fresh nonce (the baseline)
  field    KeyService.seal + KeyService.open: key lookup, header, place-bound associated data
  model    assigning, sealing (as the flush does) and reading an encrypted attribute of a model
and each one's ratio to the baseline, measured in the same run, interleaved.

    .venv/bin/python benchmarks/crypto_fields.py [--rounds 7] [--number 20000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VALUE = "Priya Shah, 10 Demo Lane, Manchester"
TARGET = 2.0


def build(tmp: Path):
    """A real app on a temporary SQLite database and key store, one tenant, one person."""
    from trustcenter import create_app, migrate
    from trustcenter.accounts import service
    from trustcenter.crypto.aead import Place
    from trustcenter.extensions import db

    app = create_app({"ENV": "testing", "SECRET_KEY": "b" * 48, "INSTANCE_PATH": str(tmp),
                      "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "KEYSTORE_URL": f"sqlite:///{tmp / 'keys.db'}"})
    keys = app.extensions["keys"]
    with app.app_context():
        migrate.upgrade(db.engine, keys)
        session = db.session()
        org = service.create_organisation(session, "Benchmark Ltd")
        user = service.create_user(session, org, "bench@example.com", "customer_member", first_name="x")
        session.commit()
    app.extensions["mail_worker"].stop()
    return keys, user, Place("users", "first_name", user.id), session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000, help="encrypt+decrypt pairs per round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        keys, user, place, _session = build(Path(tmp))
        field = type(user).first_name  # the attribute's declaration
        plaintext = VALUE.encode()
        aad = b"users\x1ffirst_name\x1f" + user.id.encode()
        raw = AESGCM(AESGCM.generate_key(bit_length=256))

        def raw_pair() -> None:
            nonce = os.urandom(12)
            raw.decrypt(nonce, raw.encrypt(nonce, plaintext, aad), aad)

        def field_pair() -> None:
            keys.open(keys.seal(plaintext, user.data_key_id, place), place)

        def model_pair() -> None:
            user.first_name = VALUE
            field.seal(user, keys)  # what the flush does for this attribute
            user.__dict__.pop("_plain_first_name", None)  # force a real decryption on read
            _ = user.first_name

        candidates = {"raw": raw_pair, "field": field_pair, "model": model_pair}
        for fn in candidates.values():
            fn()  # warm caches (unwrapped keys, code paths)
        timings: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(args.rounds):
            for name, fn in candidates.items():
                timings[name].append(timeit.timeit(fn, number=args.number) / args.number * 1e6)

    medians = {name: statistics.median(values) for name, values in timings.items()}
    best = {name: min(values) for name, values in timings.items()}
    print(f"Python {sys.version.split()[0]}, cryptography {__import__('cryptography').__version__}, "
          f"{os.cpu_count()} CPUs; {args.rounds} interleaved rounds of {args.number} pairs; "
          f"{len(plaintext)}-byte value")
    print(f"{'case':<8}{'median µs':>11}{'ratio':>8}{'best µs':>10}{'ratio':>8}   rounds (µs)")
    for name, median in medians.items():
        rounds = ", ".join(f"{v:.2f}" for v in timings[name])
        print(f"{name:<8}{median:>11.2f}{median / medians['raw']:>8.2f}{best[name]:>10.2f}"
              f"{best[name] / best['raw']:>8.2f}   {rounds}")
    ratio = medians["field"] / medians["raw"]
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"field/raw = {ratio:.2f} (medians), {best['field'] / best['raw']:.2f} (best rounds): "
          f"{verdict} the target of at most {TARGET:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
