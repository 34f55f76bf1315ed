"""Run every benchmark (``make bench``) and summarise the targets.

Each benchmark builds its own throwaway installation (a temporary data directory and, for
PostgreSQL, a temporary database created and dropped on the server named by
PHIVAULT_BENCH_PG_ADMIN, default postgresql://postgres@127.0.0.1:5432/postgres).

    .venv/bin/python bench/run_all.py [--backend sqlite|postgres|both] [--size small|default|large]
                                      [--only guarded_read,audit_append,...] [--events N] [--strict]

Besides the four benchmarks above it runs issue 9's scripts (http_reads, people_pages,
audit_viewer, audit_export, hidden_costs, cli_help), each in its own process; their tables say
met or MISSED and the summary lists what they missed. The default size takes the better part
of an hour on a 2-core machine (100,000 people, 1M audit events); --size small is a smoke
run. Figures are printed as Markdown tables (docs/performance.md is written from them).
With --strict the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import audit_append
import audit_verify
import common
import guarded_read
import pages

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "guarded_read": guarded_read,
    "audit_append": audit_append,
    "audit_verify": audit_verify,
    "pages": pages,
}
# Issue 9's benchmarks are scripts that print their own tables with met/MISSED: run each in a
# process of its own (they start servers and build large trails), arguments per size.
SCRIPTS: dict[str, dict[str, list[str]]] = {
    "http_reads": {
        "small": ["--rounds", "1", "--seconds", "2"],
        "default": [],
        "large": ["--rounds", "5"],
    },
    "people_pages": {"small": ["--people", "10000", "--repeat", "3"], "default": [], "large": []},
    "audit_viewer": {
        "small": ["--events", "100000", "--repeat", "3"],
        "default": [],
        "large": ["--events", "10000000"],
    },
    "audit_export": {
        "small": ["--events", "10000"],
        "default": [],
        "large": ["--events", "1000000"],
    },
    "hidden_costs": {"small": ["--size", "small"], "default": [], "large": ["--size", "large"]},
    "cli_help": {"small": ["--runs", "5"], "default": [], "large": []},
}
BACKENDLESS = {"cli_help"}


def run_script(name: str, size: str, backend: str) -> list[str]:
    """Run one issue-9 script; print its output; return its lines that name a missed goal."""
    args = [sys.executable, str(HERE / f"{name}.py"), *SCRIPTS[name][size]]
    if name not in BACKENDLESS:
        args += ["--backend", backend]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    print(done.stdout)
    if done.returncode != 0:
        print(f"!!! {name} failed ({done.returncode}): {done.stderr[-2000:]}")
        return [f"{name}: failed"]
    return [f"{name}: {line.strip()}" for line in done.stdout.splitlines() if "MISSED" in line]


def main(argv: list[str] | None = None) -> int:
    p = common.parser("Run every phivault benchmark.")
    p.add_argument(
        "--only", default=",".join([*BENCHMARKS, *SCRIPTS]), help="comma-separated subset"
    )
    p.add_argument("--events", type=int, default=None, help="audit_verify chain length")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS and name not in SCRIPTS]
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
    missed_in_scripts: list[str] = []
    for name in chosen:
        if name in SCRIPTS:
            for backend in [args.backend] if name in BACKENDLESS else backends:
                print(f"### {name}" + ("" if name in BACKENDLESS else f" - {backend}") + "\n")
                missed_in_scripts += run_script(name, args.size, backend)
            continue
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
    if missed_in_scripts:
        print("\nMissed in the issue-9 scripts:\n" + "\n".join(f"- {m}" for m in missed_in_scripts))
    missed = [c for c in checks if c[4] is False] + missed_in_scripts
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
