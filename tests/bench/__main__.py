"""python -m bench --out FILE: runs every suite in bench.suites and writes one JSON document."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from bench import environment

SUITES_PACKAGE = "bench.suites"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="bench-results/bench.json")
    parser.add_argument("--only", help="run only suites whose name contains this")
    args = parser.parse_args()
    environment.prepare()
    suites = importlib.import_module(SUITES_PACKAGE)
    results = []
    for module_info in sorted(pkgutil.iter_modules(suites.__path__), key=lambda info: info.name):
        if args.only and args.only not in module_info.name:
            continue
        module = importlib.import_module(f"{SUITES_PACKAGE}.{module_info.name}")
        print(f"bench: {module_info.name}", file=sys.stderr)
        started = time.perf_counter()
        with environment.fresh_aws():
            results.extend(module.run())
        print(f"bench: {module_info.name} done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "note": "Latency is moto in-process on this machine, not DynamoDB's; quote it as a ratio to "
        "put_item_ms. Requests and items are what DynamoDB would bill.",
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(document, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
