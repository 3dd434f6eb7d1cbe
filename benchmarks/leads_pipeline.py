"""Offline lead pipeline throughput: 10,000 synthetic leads through import, validate, classify,
dedupe, score and export (enrichment recorded as offline). Last line: JSON figures.

Usage: python benchmarks/leads_pipeline.py [--leads 10000]
Goal: >= 20,000 leads/min and <= 400 MB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    """Generate, run in-process, report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="revline-bench-"))
    os.environ["REVLINE_HOME"] = str(work / "home")
    os.environ["REVLINE_OFFLINE"] = "true"

    from synth import write_csv

    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.leads.pipeline import LeadPipeline, RunOptions

    src = work / "leads.csv"
    write_csv(src, args.leads, 11)
    settings = get_settings()
    db = get_database(settings)
    with db.session() as session:
        tenant_id = ensure_tenant(session, "bench").id
    pipeline = LeadPipeline(db, settings, tenant_id)
    started = time.perf_counter()
    run_id = pipeline.prepare(RunOptions(input_path=src, output_xlsx=work / "out.xlsx"))
    summary = pipeline.execute(run_id)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert summary.total == args.leads, (summary.total, args.leads)
    print(f"leads={summary.total} seconds={seconds:.2f} clusters={summary.clusters} "
          f"duplicates={summary.duplicates} layers={summary.layer_counts}")
    print(json.dumps({"leads_per_min": round(summary.total / seconds * 60),
                      "peak_rss_mb": round(peak_mb, 1), "seconds": round(seconds, 2),
                      "leads": summary.total}))


if __name__ == "__main__":
    main()
