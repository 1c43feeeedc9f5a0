"""python -m chaos [--out FILE] [--rate 0.1] [--seed N] [--small]: the chaos workload on the local
stack with faults on; prints the figures as JSON and writes them to FILE."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

from chaos.workload import ChaosConfig, run

SMALL = {
    "new_senders": 12,
    "known_messages": 4,
    "per_delivery": 4,
    "replies": 4,
    "scheduled": 2,
    "broadcast": 6,
    "scheduled_delay_seconds": 3.0,
    "contacts_wait_seconds": 30.0,
    "settle_seconds": 60.0,
    "quiet_seconds": 4.0,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="bench-results/chaos.json")
    parser.add_argument("--rate", type=float, default=ChaosConfig.rate)
    parser.add_argument("--seed", type=int, default=ChaosConfig.seed)
    parser.add_argument("--small", action="store_true", help="a tiny workload (a smoke run)")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless every figure is 0")
    for name in ("new_senders", "replies", "scheduled", "broadcast", "settle_seconds", "budget_seconds"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float if "seconds" in name else int)
    args = parser.parse_args()
    values = dict(SMALL) if args.small else {}
    values.update(rate=args.rate, seed=args.seed)
    known = {field.name for field in fields(ChaosConfig)}
    values.update({name: value for name, value in vars(args).items() if name in known and value is not None})
    config = ChaosConfig(**values)
    with tempfile.TemporaryDirectory(prefix="chaos-") as data_dir:
        report = run(config, Path(data_dir))
    text = json.dumps(report, indent=2, sort_keys=False, default=str)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    print(f"chaos: {json.dumps(report['figures'])} -> {out}", file=sys.stderr)
    return 1 if args.strict and not report["all_zero"] else 0


if __name__ == "__main__":
    sys.exit(main())
