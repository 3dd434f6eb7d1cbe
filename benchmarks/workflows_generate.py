"""Workflow generation speed: retrieval mode (no LLM), and full mode's own cost beyond the LLM.

Retrieval mode: requirements of ten kinds, each run end to end (pattern search, slot filling,
build, repair, validation, scoring, history, events) after one warm-up run that loads the
embedding model. Full mode: the four-step pipeline against the local LLM emulator (in its own
process) answering instantly with scripted steps, including one quality round that fixes a
broken graph; every requirement is unique, so nothing comes from the LLM cache. The time is
what Revline adds around 5 LLM calls (the gateway, retrieval, build, validation, events,
history), the part that does not depend on the provider.

Goals: retrieval <= 250 ms per workflow (median); full mode <= 500 ms per workflow beyond
the LLM. Last line: JSON.

Usage: python benchmarks/workflows_generate.py [--runs 30]
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
import sys
sys.path.insert(0, {root!r})
from tests.emulators.llm_server import serve_llm
from tests.workflows.script import team
with serve_llm(team()) as emu:
    print(emu.base_url, emu.anthropic_base_url, flush=True)
    sys.stdin.read()  # serve until the benchmark closes our stdin
"""
REQUIREMENTS = [
    "A chatbot answering customer questions from the globex-docs knowledge base",
    "Every Monday at 9am post our weekly metrics to the Slack webhook "
    "https://hooks.slack.com/services/T0/B0/X",
    "Extract invoice number, date, supplier and total from uploaded PDF invoices in EUR",
    "Qualify inbound leads from the contact form; hot leads above 75 go to sales",
    "Translate product descriptions into German with our glossary",
    "Summarise meeting notes into decisions and action items",
    "Triage support emails into billing, bug and sales and draft a reply",
    "Turn a blog post into a LinkedIn post, a tweet thread and a newsletter blurb",
    "Generate 10 FAQ entries about Globex Backup",
    "Clean a CSV of contacts: drop rows without email, sort by company",
]


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def retrieval(runs: int) -> dict[str, float]:
    """Median and p90 time per retrieval-mode workflow, and the share that validated."""
    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.workflows import service

    settings = get_settings()
    db = get_database(settings)
    with db.session() as session:
        tenant_id = ensure_tenant(session, "bench").id
    service.generate(db, settings, tenant_id, REQUIREMENTS[0], "retrieval")  # warm-up
    times, valid = [], 0
    for i in range(runs):
        started = time.perf_counter()
        outcome = service.generate(db, settings, tenant_id,
                                   REQUIREMENTS[i % len(REQUIREMENTS)], "retrieval")
        times.append(time.perf_counter() - started)
        valid += bool(outcome.result and outcome.result.valid)
    ordered = sorted(times)
    return {"retrieval_ms_median": _median_ms(times),
            "retrieval_ms_p90": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
            "retrieval_per_min": round(60 / statistics.median(times), 1),
            "retrieval_valid_share": round(valid / runs, 3)}


def full(runs: int, base_url: str, anthropic_url: str) -> dict[str, float]:
    """Median time per full-mode workflow with an instant scripted LLM."""
    from tests.workflows.script import REQUIREMENT

    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm import reset_gateways
    from revline.workflows import service

    os.environ.update({"REVLINE_OPENAI_API_KEY": "sk-test", "REVLINE_LLM_BASE_URL": base_url,
                       "REVLINE_ANTHROPIC_API_KEY": "sk-test",
                       "REVLINE_LLM_ANTHROPIC_BASE_URL": anthropic_url})
    get_settings.cache_clear()
    reset_gateways()
    settings = get_settings()
    db = get_database(settings)
    with db.session() as session:
        tenant_id = ensure_tenant(session, "bench").id
    times, calls = [], 0
    for i in range(runs + 1):
        started = time.perf_counter()
        outcome = service.generate(db, settings, tenant_id, f"{REQUIREMENT} (run {i})", "full")
        if i:  # the first run warms connections up
            times.append(time.perf_counter() - started)
            calls += outcome.result.llm_calls if outcome.result else 0
        if outcome.result is None or not outcome.result.valid:
            raise SystemExit(f"run {i} did not produce a valid workflow")
    return {"full_ms_median": _median_ms(times), "full_llm_calls_per_workflow": calls / runs}


def main() -> None:
    """Run both measurements in a fresh home; print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="revline-wf-bench-"))
    os.environ["REVLINE_HOME"] = str(home)
    for key in [k for k in os.environ if k.startswith("REVLINE_") and k != "REVLINE_HOME"]:
        del os.environ[key]
    figures = retrieval(args.runs)
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(root=str(ROOT))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if server.stdout is None or server.stdin is None:
        raise SystemExit("could not start the emulator")
    base_url, anthropic_url = server.stdout.readline().split()
    try:
        figures.update(full(args.runs, base_url, anthropic_url))
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    figures["goal_retrieval_ms"] = 250
    figures["goal_full_ms"] = 500
    figures["ok"] = (figures["retrieval_ms_median"] <= 250 and figures["full_ms_median"] <= 500
                     and figures["retrieval_valid_share"] == 1.0)
    print(f"retrieval mode: {figures['retrieval_ms_median']} ms median per workflow "
          f"({figures['retrieval_per_min']}/min), {figures['retrieval_valid_share']:.0%} valid")
    print(f"full mode beyond the LLM: {figures['full_ms_median']} ms median per workflow "
          f"({figures['full_llm_calls_per_workflow']:.0f} LLM calls each)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
