"""Tier-2 enrichment throughput through the whole pipeline against local fixture sites.

Every lead points at a distinct generated small-business page on a loopback server, so the page
cache cannot inflate the figure. Last line: JSON. Goal: >= 1,500 leads/min.

Usage: python benchmarks/leads_enrich.py [--leads 1500]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Serve sites, run tier 2 in-process, report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="revline-enrich-"))
    os.environ["REVLINE_HOME"] = str(work / "home")
    os.environ["REVLINE_OFFLINE"] = "false"

    from tests.emulators.sites import serve_sites

    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.leads.pipeline import LeadPipeline, RunOptions

    with serve_sites() as sites:
        src = work / "leads.csv"
        with src.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Company", "Website", "Email", "Phone", "Country"])
            for i in range(args.leads):
                writer.writerow(
                    [f"Business {i}", sites.biz_url(i), f"owner{i}@biz{i}-demo.com",
                     f"+1 415 555 {i % 10000:04d}", "US"]
                )
        settings = get_settings()
        db = get_database(settings)
        with db.session() as session:
            tenant_id = ensure_tenant(session, "bench").id
        pipeline = LeadPipeline(db, settings, tenant_id)
        started = time.perf_counter()
        run_id = pipeline.prepare(RunOptions(input_path=src, output_xlsx=work / "o.xlsx", tier=2))
        summary = pipeline.execute(run_id)
        seconds = time.perf_counter() - started
    ok = summary.enrichment_status_counts.get("ok", 0)
    print(f"leads={summary.total} ok={ok} statuses={summary.enrichment_status_counts} "
          f"seconds={seconds:.1f}")
    print(json.dumps({"leads_per_min": round(summary.total / seconds * 60),
                      "ok_share": round(ok / max(1, summary.total), 3),
                      "seconds": round(seconds, 2)}))


if __name__ == "__main__":
    main()
