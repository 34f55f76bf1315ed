"""Run every benchmark (``make bench``) and summarise the targets.

Each benchmark builds its own throwaway installation (a temporary data directory and, for
PostgreSQL, a temporary database created and dropped on the server named by
PHIVAULT_BENCH_PG_ADMIN, default postgresql://postgres@127.0.0.1:5432/postgres).

    .venv/bin/python bench/run_all.py [--backend sqlite|postgres|both] [--size small|default|large]
                                      [--only guarded_read,audit_append,audit_verify,pages]
                                      [--events N] [--strict]

The default size takes a few minutes on a 2-core machine. Figures are printed as Markdown
tables (docs/performance.md is written from them). With --strict the exit status is 1 when a
target is missed.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import audit_append
import audit_verify
import common
import guarded_read
import pages

BENCHMARKS = {
    "guarded_read": guarded_read,
    "audit_append": audit_append,
    "audit_verify": audit_verify,
    "pages": pages,
}


def main(argv: list[str] | None = None) -> int:
    p = common.parser("Run every phivault benchmark.")
    p.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    p.add_argument("--events", type=int, default=None, help="audit_verify chain length")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(unknown)}")
    common.check_source()
    print("## phivault benchmarks\n")
    common.print_machine()
    print(
        f"\nsize: {args.size}; 1-minute load average at start: {os.getloadavg()[0]:.2f}; "
        f"CPU probe: {common.cpu_probe()}\n"
    )
    backends = common.backends(args.backend)
    checks: list[tuple[Any, ...]] = []
    started = time.perf_counter()
    for name in chosen:
        module = BENCHMARKS[name]
        for backend in backends:
            t0 = time.perf_counter()
            if name == "audit_verify":
                result = module.run(backend, args.size, args.events)
            else:
                result = module.run(backend, args.size)
            print(module.report(result))
            load = os.getloadavg()[0]
            print(
                f"({name} on {backend}: {time.perf_counter() - t0:.0f} s; "
                f"1-minute load average afterwards {load:.2f} on {os.cpu_count()} CPUs)\n",
                flush=True,
            )
            checks.extend(result["checks"])
    rows = [
        [backend, what, measured, target,
         "n/a" if met is None else ("met" if met else "MISSED")]
        for backend, what, measured, target, met in checks
    ]  # fmt: skip
    print("### Targets\n")
    print(common.table(["backend", "measure", "measured", "target", "status"], rows))
    print(
        f"\nTotal time: {time.perf_counter() - started:.0f} s; "
        f"CPU probe at the end: {common.cpu_probe()}"
    )
    missed = [c for c in checks if c[4] is False]
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
