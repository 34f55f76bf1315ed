"""How long `phivault --help` takes, beside a bare Python start-up, in one run (issue 9: the
command line must answer at once; goal < 0.3 s).

    .venv/bin/python bench/cli_help.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path
from time import perf_counter

SRC = Path(__file__).resolve().parents[1] / "src"
HELP = "import sys; sys.argv = ['phivault', '--help']; from phivault.cli.main import app; app()"


def _time(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    start = perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    return perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=15)
    runs = p.parse_args().runs
    bare, helped = [], []
    for _ in range(runs):  # interleaved, so load on the machine hits both alike
        bare.append(_time("pass"))
        helped.append(_time(HELP))
    b, h = statistics.median(bare), statistics.median(helped)
    print("| command                 | median  |")
    print("|-------------------------|---------|")
    print(f"| python -c pass          | {b * 1000:5.0f} ms |")
    print(f"| phivault --help         | {h * 1000:5.0f} ms |")
    print(
        f"\nphivault --help: {h:.3f} s (goal < 0.3 s: {'met' if h < 0.3 else 'MISSED'}), "
        f"{h / b:.1f}x a bare start-up, over {runs} runs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
