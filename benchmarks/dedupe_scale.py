"""Dedupe at scale: 1,000,000 synthetic leads with known truth through `revline leads dedupe`.

About a quarter of the leads are duplicated one to three times with realistic corruptions:
typos, case and legal-suffix changes in company names, swapped or reordered contact names,
reformatted phone numbers, Gmail dot/plus/googlemail variants, website scheme changes, dropped
fields. Some businesses also get a *colleague*: a different person at the same company, often
behind the same info@ inbox, phone and website, which must stay a separate lead.

The CLI runs as a child process (exactly what a user runs, state saving included), so its
wall time and peak RSS are measured on their own; the generator is not timed. Peak RSS is the
larger of the biggest single process (getrusage) and the sampled sum over the CLI's whole process
tree (every 50 ms), since key building runs in spawned worker processes whose memory adds to the
main process's.
Pairwise precision/recall/F1 compare its clusters with the truth.

Usage: python benchmarks/dedupe_scale.py [--rows 1000000] [--seed 3] [--keep DIR]
Goal: <= 3 minutes and <= 6 GB peak RSS on 2 cores. Last line: JSON figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import _FIRST, _GEO, _LAST, _ROLES, _TITLES, _VERTICALS, _Rng, _slug, _typo

COLUMNS = ("id", "Company Name", "Contact", "Title", "Email", "Phone", "Website", "City",
           "State", "Country")
_CONS = "bcdfghklmnprstvz"
_VOWELS = "aeiou"
_WORDS = tuple(w for words in _VERTICALS.values() for w in words)
_FREE = ("gmail.com", "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com")
_TLD = {"US": ".com", "GB": ".co.uk", "CA": ".ca", "AU": ".com.au"}
_COUNTRIES = ("US",) * 60 + ("GB",) * 18 + ("CA",) * 12 + ("AU",) * 10
_SUFFIXES = (" LLC", " Inc.", " Ltd", " Co.", " Pty Ltd", " LLP")


def _brand(rng: _Rng) -> str:
    syl = "".join(rng.pick(_CONS) + rng.pick(_VOWELS) for _ in range(rng.span(2, 3)))
    return syl.capitalize()


def _digits(rng: _Rng, n: int) -> str:
    return "".join(str(rng.below(10)) for _ in range(n))


def _phone_number(rng: _Rng, country: str, areas: tuple[str, ...]) -> tuple[str, str, str]:
    """(country, area, subscriber) of a number libphonenumber considers valid."""
    if country in ("US", "CA"):
        return country, rng.pick(areas), f"{rng.span(201, 989)}{_digits(rng, 4)}"
    if country == "GB":
        area = rng.pick(areas)
        return country, area, ("7" if area == "20" else "") + _digits(rng, 7 if area == "20"
                                                                     else 6) + (
            "" if area == "20" else str(rng.span(1, 9)))
    return country, rng.pick(areas), f"9{_digits(rng, 7)}"


def _format_phone(rng: _Rng, num: tuple[str, str, str]) -> str:
    country, area, sub = num
    if country in ("US", "CA"):
        a, b = sub[:3], sub[3:]
        return rng.pick((f"({area}) {a}-{b}", f"{area}-{a}-{b}", f"{area}.{a}.{b}",
                         f"+1 {area} {a} {b}", f"1-{area}-{a}-{b}", f"{area}{a}{b}",
                         f"+1{area}{a}{b}"))
    if country == "GB":
        return rng.pick((f"0{area} {sub[:4]} {sub[4:]}", f"+44 {area} {sub[:4]} {sub[4:]}",
                         f"(0{area}) {sub}", f"+44 (0){area} {sub}"))
    return rng.pick((f"(0{area}) {sub[:4]} {sub[4:]}", f"0{area} {sub}", f"+61 {area} {sub}"))


def _entity(rng: _Rng) -> dict[str, object]:
    country = rng.pick(_COUNTRIES)
    labels, places = _GEO[country]
    city, state, areas = rng.pick(places)
    word = rng.pick(_WORDS)
    company = f"{_brand(rng)} {word}" if rng.random() < 0.8 else f"{_brand(rng)} {_brand(rng)}"
    domain = f"{_slug(company)}{_TLD[country]}"
    first, last = rng.pick(_FIRST), rng.pick(_LAST)
    return {
        "country": country, "country_label": rng.pick(labels), "city": city, "state": state,
        "company": company + (rng.pick(_SUFFIXES) if rng.random() < 0.1 else ""),
        "domain": domain, "has_site": rng.random() < 0.85, "first": first, "last": last,
        "title": rng.pick(_TITLES), "phone": _phone_number(rng, country, areas),
        "has_phone": rng.random() < 0.9, "email": _email(rng, first, last, domain),
        "areas": areas,
    }


def _email(rng: _Rng, first: str, last: str, domain: str) -> str:
    f, la = _slug(first).replace("-", ""), _slug(last).replace("-", "")
    r = rng.random()
    if r < 0.3:
        return f"{f}@{domain}"
    if r < 0.5:
        return f"{f}.{la}@{domain}"
    if r < 0.65:
        return f"{rng.pick(_ROLES)}@{domain}"
    if r < 0.92:
        return f"{f}{rng.pick(('.', '', '_'))}{la}{rng.span(1, 999)}@{rng.pick(_FREE)}"
    return ""


def _colleague(rng: _Rng, base: dict[str, object]) -> dict[str, object]:
    """A different person at the same business: same site and switchboard, often same inbox."""
    first, last = rng.pick(_FIRST), rng.pick(_LAST)
    email = str(base["email"])
    if not (email.split("@", 1)[0] in _ROLES and rng.random() < 0.6):
        email = _email(rng, first, last, str(base["domain"]))
    return {**base, "first": first, "last": last, "email": email, "title": rng.pick(_TITLES)}


def _row(rng: _Rng, e: dict[str, object], rid: int) -> list[str]:
    site = ""
    if e["has_site"]:
        site = rng.pick(("{}", "www.{}", "https://{}", "http://www.{}/", "https://www.{}/"))
        site = site.format(e["domain"])
    phone = _format_phone(rng, e["phone"]) if e["has_phone"] else ""  # type: ignore[arg-type]
    return [str(rid), str(e["company"]), f"{e['first']} {e['last']}", str(e["title"]),
            str(e["email"]), phone, site, str(e["city"]), str(e["state"]),
            str(e["country_label"])]


def _gmail(rng: _Rng, email: str) -> str:
    local, _, domain = email.partition("@")
    if domain != "gmail.com":
        return email.upper() if rng.random() < 0.5 else email.capitalize()
    if rng.random() < 0.5 and len(local) > 2:
        i = rng.span(1, len(local) - 2)
        local = local[:i] + "." + local[i:]
    else:
        local += "+" + rng.pick(("leads", "web", "promo"))
    return f"{local}@{rng.pick(('gmail.com', 'googlemail.com', 'GMail.com'))}"


def _corrupt(rng: _Rng, e: dict[str, object], row: list[str]) -> list[str]:
    out = list(row)
    for _ in range(rng.span(1, 3)):
        kind = rng.below(10)
        if kind == 0:
            out[1] = _typo(rng, out[1])
        elif kind == 1:
            out[1] = rng.pick((out[1].upper(), out[1].lower(), out[1].replace("&", "and"),
                               out[1] + rng.pick(_SUFFIXES), f" {out[1]} "))
        elif kind == 2:
            out[2] = rng.pick((f"{e['last']}, {e['first']}", f"{e['last']} {e['first']}",
                               str(e["first"]) + " " + _typo(rng, str(e["last"]))))
        elif kind == 3 and e["has_phone"]:
            out[5] = _format_phone(rng, e["phone"])  # type: ignore[arg-type]
        elif kind == 4 and out[4]:
            out[4] = _gmail(rng, out[4])
        elif kind == 5:
            out[6] = out[6].replace("https://", "").replace("www.", "") or out[6]
        elif kind == 6:
            drop = rng.pick((4, 5, 6, 3))
            if sum(1 for c in (4, 5, 6) if out[c]) > 1 or drop == 3:
                out[drop] = ""
        elif kind == 7 and rng.random() < 0.3:
            out[7] = _typo(rng, out[7])
        elif kind == 8:
            out[3] = rng.pick(_TITLES)
        else:
            out[2] = out[2].upper() if rng.random() < 0.3 else out[2]
    return out


def generate(path: Path, rows: int, seed: int) -> array[int]:
    """Write `rows` leads to path (CSV) and return each row's true entity id, in row order."""
    rng = _Rng(seed)
    truth: array[int] = array("l")
    pending: list[tuple[int, dict[str, object], list[str]]] = []
    entity = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for rid in range(1, rows + 1):
            if pending and (rng.random() < 0.22 or len(pending) > 5000):
                ent, e, base = pending.pop(rng.below(len(pending)))
                row = _corrupt(rng, e, base)
                row[0] = str(rid)
            else:
                entity += 1
                ent = entity
                e = _entity(rng) if not (pending and rng.random() < 0.03) else None  # type: ignore[assignment]
                if e is None:
                    e = _colleague(rng, pending[rng.below(len(pending))][1])
                row = _row(rng, e, rid)
                r = rng.random()
                copies = 1 if r < 0.17 else 2 if r < 0.23 else 3 if r < 0.25 else 0
                pending.extend((ent, e, row) for _ in range(copies))
            writer.writerow(row)
            truth.append(ent)
    return truth


def score(clusters_csv: Path, truth: array[int]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of the clusters against the true entities."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.register("truth", pa.table({"id": pa.array(range(1, len(truth) + 1), pa.int64()),
                                    "entity": pa.array(truth, pa.int64())}))
    row = con.execute(f"""
        with c as (select cast(record_id as bigint) as id, cluster_id
                   from read_csv('{clusters_csv}', header = true, all_varchar = true)),
        j as (select c.cluster_id, t.entity from c join truth t using (id)),
        ce as (select count(*) as n from j group by cluster_id, entity),
        cl as (select count(*) as n from j group by cluster_id),
        en as (select count(*) as n from j group by entity)
        select (select sum(n * (n - 1) / 2) from ce), (select sum(n * (n - 1) / 2) from cl),
               (select sum(n * (n - 1) / 2) from en), (select count(*) from c)
    """).fetchall()[0]
    tp, predicted, actual, n = (float(x or 0) for x in row)
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "true_pairs": int(actual), "rows_out": int(n)}


class TreeRSS(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, every_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.peak_mb = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        """Poll until stop() or the process is gone."""
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._done.wait(self.every_s)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._done.set()
        self.join(timeout=5)


def main() -> None:
    """Generate, run the CLI in a child process, score, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep files in this directory")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="revline-dedupe-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    src, out = work / "leads.csv", work / "clusters.csv"
    started = time.perf_counter()
    truth = generate(src, args.rows, args.seed)
    print(f"generated {args.rows:,} rows ({max(truth):,} entities) in "
          f"{time.perf_counter() - started:.1f}s -> {src}")
    env = {**os.environ, "REVLINE_HOME": str(work / "home")}
    revline = shutil.which("revline") or "revline"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [revline, "leads", "dedupe", str(src), "-o", str(out), "--id-column", "id",
         "--state", "scale"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    sampler = TreeRSS(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    largest_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak_mb = max(largest_mb, sampler.peak_mb)
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    print(proc.stdout.strip())
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(proc.returncode)
    if proc.stderr.strip():
        print(proc.stderr.strip())
    figures = score(out, truth)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"f1": figures["f1"], "seconds": round(seconds, 1),
                      "peak_rss_mb": round(peak_mb, 1),
                      "largest_process_rss_mb": round(largest_mb, 1),
                      "precision": figures["precision"],
                      "recall": figures["recall"], "rows": args.rows,
                      "true_pairs": figures["true_pairs"]}))


if __name__ == "__main__":
    main()
