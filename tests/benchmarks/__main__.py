"""Run every benchmark: `python -m tests.benchmarks [--quick] [--only media,store] [--json OUT]`.

Each `tests/benchmarks/bench_<area>.py` has `main(quick=False) -> list[dict]` and prints its figures;
this runner adds the machine and a summary table. GPU scripts (`gpu_*.py`) run on a GPU machine only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from tests.benchmarks._common import machine

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument("--only", help="comma-separated areas, e.g. media,store")
    parser.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    args = parser.parse_args(argv)
    areas = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    if args.only:
        wanted = set(args.only.split(","))
        areas = [a for a in areas if a in wanted]
    print(f"# machine: {machine()}")
    results: list[dict] = []
    failed: list[str] = []
    for area in areas:
        print(f"\n## {area}", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"tests.benchmarks.bench_{area}")
            rows = module.main(quick=args.quick) or []
        except Exception as exc:  # report and go on: one broken benchmark must not hide the others
            print(f"!! {area} failed: {type(exc).__name__}: {exc}", flush=True)
            failed.append(area)
            continue
        for row in rows:
            row.setdefault("area", area)
        results.extend(rows)
        print(f"({area}: {time.perf_counter() - start:.1f} s)", flush=True)
    print("\n## summary")
    for row in results:
        target = row.get("target")
        print(
            f"{row['area']:10} {row['name']:45} {row['value']:>12.4g} {row.get('unit', ''):8} target {target}"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
