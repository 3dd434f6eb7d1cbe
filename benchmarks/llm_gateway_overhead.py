"""Latency the LLM gateway adds over a direct OpenAI SDK call, against the same local emulator.

Both paths call the same emulator (run in a separate process, so its threads do not compete
with the client for the GIL) with the same SDK, one at a time, interleaved call by call so
drift hits both equally. The gateway path does everything a real call does: a cache lookup
that misses (every prompt is unique, temperature 0) and the cache write after it, a budget
reservation for a tenant that has a budget (and a job budget), the pending ledger row, the
provider call through the retry policy, and the synchronous settlement of the ledger row and
both budgets. Nothing is deferred to a background thread.

Goal: <= 0.5 ms added per call (median). Last line: JSON.

Usage: python benchmarks/llm_gateway_overhead.py [--calls 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.emulators.llm_server import serve_llm
with serve_llm(lambda request: "a short answer of seven words here") as emu:
    print(emu.base_url, flush=True)
    sys.stdin.read()  # serve until the benchmark closes our stdin
"""


def main() -> None:
    """Start the emulator, time both paths interleaved, print the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp home")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="revline-llm-bench-"))
    os.environ["REVLINE_HOME"] = str(home)

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    if server.stdout is None or server.stdin is None:
        raise SystemExit("could not start the emulator")
    base_url = server.stdout.readline().strip()
    try:
        result = run(base_url, args.calls, args.warmup, args.database_url)
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    print(json.dumps(result))


def run(base_url: str, calls: int, warmup: int, database_url: str) -> dict[str, object]:
    """Interleave direct and gateway calls; return the figures."""
    import openai

    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import Settings
    from revline.kernel.db import get_database
    from revline.kernel.llm import CallScope, LLMGateway
    from revline.kernel.llm.budgets import set_budget
    from revline.kernel.llm.models import LLMCall

    settings = Settings(openai_api_key="sk-test", llm_base_url=base_url,
                        database_url=database_url)
    db = get_database(settings)
    with db.session() as session:
        tenant = ensure_tenant(session, "bench").id
        set_budget(session, tenant, "tenant", None, 1_000_000.0)
        set_budget(session, tenant, "job", "bench-run", 1_000_000.0)
    gateway = LLMGateway(settings)
    scope = CallScope(tenant_id=tenant, feature="bench", job_id="bench-run")
    direct = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0, timeout=60)

    def call_direct(i: int) -> float:
        started = time.perf_counter()
        direct.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"benchmark prompt {i}"}],
            max_tokens=64, temperature=0.0)
        return time.perf_counter() - started

    def call_gateway(i: int) -> float:
        started = time.perf_counter()
        result = gateway.chat([{"role": "user", "content": f"benchmark prompt {i}"}],
                              model="gpt-4o", max_tokens=64, temperature=0.0, scope=scope)
        elapsed = time.perf_counter() - started
        if result.cached or result.cost_usd_micros <= 0:
            raise SystemExit("benchmark invalid: the gateway call was cached or free")
        return elapsed

    for i in range(warmup):
        call_direct(-i - 1)
        call_gateway(-i - 1)
    direct_s: list[float] = []
    gateway_s: list[float] = []
    for i in range(calls):
        # Alternate which goes first so neither always follows the other's warm socket.
        if i % 2:
            direct_s.append(call_direct(i))
            gateway_s.append(call_gateway(i))
        else:
            gateway_s.append(call_gateway(i))
            direct_s.append(call_direct(i))
    with db.session() as session:
        rows = session.query(LLMCall).filter(LLMCall.status == "ok").count()
    if rows != calls + warmup:  # every call must be in the ledger, synchronously
        raise SystemExit(f"ledger has {rows} rows for {calls + warmup} calls")
    direct.close()
    gateway.close()
    d_med = statistics.median(direct_s) * 1000
    g_med = statistics.median(gateway_s) * 1000
    paired = statistics.median(g - d for g, d in zip(gateway_s, direct_s, strict=True)) * 1000
    print(f"calls={calls} direct median {d_med:.3f} ms, gateway median {g_med:.3f} ms, "
          f"added {g_med - d_med:.3f} ms (paired {paired:.3f} ms); "
          f"database={'SQLite' if db.is_sqlite else 'PostgreSQL'}, ledger rows={rows}")
    return {
        "added_ms_median": round(g_med - d_med, 3),
        "direct_ms_median": round(d_med, 3),
        "gateway_ms_median": round(g_med, 3),
        "added_ms_paired_median": round(paired, 3),
        "calls": calls,
        "database": "sqlite" if db.is_sqlite else "postgresql",
        "goal_added_ms": 0.5,
    }


if __name__ == "__main__":
    main()
