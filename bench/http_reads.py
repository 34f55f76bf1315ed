"""Guarded reads over HTTP with concurrent clients, beside ``/health`` in the same run
(issue 9: >= 400 guarded reads/s on both backends with 4 clients).

A real uvicorn server (``phivault serve``'s app in a separate process on a loopback port, as
bench/guarded_read.py starts it) and N client threads, each with its own keep-alive httpx
client. The phases alternate (health, guarded, health, guarded, ...) for ``--rounds`` rounds
of ``--seconds`` each; the figure per side is requests completed / time, over all its rounds.
Every guarded read is a real one: bearer token, purpose of use, guard decision, decryption,
an audit event appended and committed.

Run: ``.venv/bin/python bench/http_reads.py [--backend sqlite|postgres|both] [--clients 4]``
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

import common
from guarded_read import _wait_ready, start_server, stop_server

TARGET = 400.0  # guarded reads per second with 4 clients


def _phase(
    base: str, headers: dict[str, str], paths: list[str], clients: int, seconds: float
) -> int:
    """Requests completed by ``clients`` threads in ``seconds``; any non-200 stops the run."""
    import httpx

    done = [0] * clients
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def work(index: int) -> None:
        with httpx.Client(base_url=base, headers=headers) as client:
            k = index
            while time.monotonic() < stop and not failures:
                response = client.get(paths[k % len(paths)])
                if response.status_code != 200:
                    failures.append(f"HTTP {response.status_code} on {paths[k % len(paths)]}")
                    return
                done[index] += 1
                k += clients

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(failures[0])
    return sum(done)


def run(backend: str, clients: int, rounds: int, seconds: float) -> dict[str, Any]:
    import httpx

    with common.installation(backend) as inst:
        vault, world = common.build_world(inst.settings, people=200, records_per_person=5)
        vault.db.dispose()
        server, port, log = start_server(inst)
        base = f"http://127.0.0.1:{port}"
        headers = {
            "Authorization": f"Bearer {world.clinician_token}",
            "X-Purpose-Of-Use": "treatment",
        }
        try:
            with httpx.Client(base_url=base) as probe:
                _wait_ready(probe, server, log.name)
            t = world.tenant_id
            reads = [f"/api/v1/tenants/{t}/records/{r}" for r in world.records]
            _phase(base, headers, reads, clients, 1.0)  # warm up both paths
            _phase(base, headers, ["/health"], clients, 0.5)
            totals = {"/health": 0, "guarded read": 0}
            for _ in range(rounds):
                totals["/health"] += _phase(base, headers, ["/health"], clients, seconds)
                totals["guarded read"] += _phase(base, headers, reads, clients, seconds)
        finally:
            stop_server(server, log)
    elapsed = rounds * seconds
    return {name: count / elapsed for name, count in totals.items()} | {"backend": backend}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args(argv)
    common.check_source()
    common.print_machine()
    rows = []
    for backend in common.backends(args.backend):
        result = run(backend, args.clients, args.rounds, args.seconds)
        guarded, health = result["guarded read"], result["/health"]
        rows.append(
            [
                backend,
                f"{health:,.0f}/s",
                f"{guarded:,.0f}/s",
                f"{guarded / health:.2f}x",
                f">= {TARGET:.0f}/s",
                "met" if guarded >= TARGET else "MISSED",
            ]
        )
    print(f"\n{args.clients} clients, {args.rounds} rounds of {args.seconds:g} s per side\n")
    print(
        common.table(
            ["backend", "/health", "guarded read", "read / health", "target", "status"], rows
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
