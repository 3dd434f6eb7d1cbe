"""`revline leads dedupe` as users run it: the CLI contract, bad input, saved state and
incremental runs, golden/links outputs, human review and LLM review (local emulator)."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.errors import InvalidInput, NotFound
from revline.leads.dedupe.review import read_review_csv
from revline.leads.dedupe.runs import FileRequest, dedupe_file, import_labels
from tests.emulators.llm_server import serve_llm
from tests.leads.dedupe_helpers import background

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "leads.csv"
sys.path.insert(0, str(REPO / "benchmarks"))

from dedupe_scale import generate  # noqa: E402 - the benchmark's generator, with known truth


def revline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter, as the console script runs it."""
    return subprocess.run([sys.executable, "-m", "revline.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def env(revline_home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    base["REVLINE_HOME"] = str(revline_home)
    return base


def read_clusters(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["record_id", "cluster_id"]
    return [(r[0], r[1]) for r in rows[1:]]


def write_leads(path: Path, rows: list[dict[str, str]]) -> Path:
    cols = ["id", "Company", "Contact", "Email", "Phone", "Website", "City"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, cols)
        writer.writeheader()
        writer.writerows(rows)
    return path


def bg_rows(n: int) -> list[dict[str, str]]:
    return [{"id": r.id, "Company": r.company, "Contact": r.name, "Email": r.email,
             "Phone": r.phone_e164, "Website": r.domain, "City": r.city} for r in background(n)]


def pairwise_f1(clusters: list[tuple[str, str]], truth: list[int]) -> float:
    by_cluster: dict[str, list[int]] = {}
    for (rid, cid) in clusters:
        by_cluster.setdefault(cid, []).append(truth[int(rid) - 1])
    predicted = sum(len(m) * (len(m) - 1) // 2 for m in by_cluster.values())
    tp = 0
    for members in by_cluster.values():
        counts: dict[int, int] = {}
        for e in members:
            counts[e] = counts.get(e, 0) + 1
        tp += sum(c * (c - 1) // 2 for c in counts.values())
    per_entity: dict[int, int] = {}
    for e in truth:
        per_entity[e] = per_entity.get(e, 0) + 1
    actual = sum(c * (c - 1) // 2 for c in per_entity.values())
    precision, recall = tp / max(predicted, 1), tp / max(actual, 1)
    return 2 * precision * recall / (precision + recall)


def test_contract_one_row_per_input_row(tmp_path: Path, env: dict[str, str]) -> None:
    src = tmp_path / "leads.csv"
    src.write_bytes(EXAMPLE.read_bytes())
    out = tmp_path / "clusters.csv"
    proc = revline("leads", "dedupe", str(src), "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    rows = read_clusters(out)
    with EXAMPLE.open(encoding="utf-8") as fh:
        n = sum(1 for _ in csv.reader(fh)) - 1
    assert [r for r, _ in rows] == [str(i) for i in range(1, n + 1)]  # row numbers, in order
    ids = {r for r, _ in rows}
    assert {c for _, c in rows} <= ids  # a cluster is named after one of its records
    assert len({c for _, c in rows}) < n  # the example has duplicates
    assert f"{n} records ->" in proc.stdout
    assert "clusters of 2+" in proc.stdout
    again = tmp_path / "again.csv"
    assert revline("leads", "dedupe", str(src), "-o", str(again), env=env).returncode == 0
    assert read_clusters(again) == rows  # re-running gives the same ids


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"Lead,Company\n1,Acme\n", ["--id-column", "id"],
         "no id column 'id'; columns are: Lead, Company"),
        (b"id,Company\n7,Acme\n8,Beta\n7,Gamma\n", ["--id-column", "id"],
         "duplicate record id '7' (input rows 1 and 3)"),
        (b"", [], "is empty"),
        ("id,Company\n1,Acme\n".encode("utf-32"), ["--id-column", "id"],
         "is UTF-32 encoded, which is not supported"),
        (b"\x00\x01\x02PK garbage\x00" * 20, [], "not a text file"),
    ],
    ids=["missing-id-column", "duplicate-ids", "empty-file", "utf-32", "binary"],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, env: dict[str, str], content: bytes, extra: list[str], message: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    out = tmp_path / "out.csv"
    proc = revline("leads", "dedupe", str(src), "-o", str(out), *extra, env=env)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_incremental_matches_new_records_without_renumbering(tmp_path: Path) -> None:
    settings = get_settings()
    db = get_database(settings)
    tenant = _tenant()
    base = bg_rows(150)
    base[10].update(Contact="Ola Berg", Email="ola.berg@gmail.com", Phone="+1 303 555 0177")
    base[11].update(Company=base[10]["Company"], Contact="Berg, Ola", Email="olaberg@gmail.com",
                    Phone="(303) 555-0177", Website=base[10]["Website"], City=base[10]["City"])
    first = tmp_path / "c1.csv"
    src = write_leads(tmp_path / "base.csv", base)
    result = dedupe_file(db, settings, tenant, FileRequest(src, first, id_column="id"))
    before = dict(read_clusters(first))
    assert before[base[11]["id"]] == before[base[10]["id"]] == base[10]["id"]
    assert result.stats.model.startswith("default model")

    twin = {**base[40], "id": "new-1", "Company": base[40]["Company"].upper(),
            "Email": base[40]["Email"].upper()}
    newcomers = [twin, {**bg_rows(160)[155], "id": "new-2"},
                 {**bg_rows(160)[155], "id": "new-3", "Contact": "Someone Else",
                  "Email": "other@example.org"}, base[5]]  # base[5] is already known
    new_src = write_leads(tmp_path / "new.csv", newcomers)
    out = tmp_path / "c2.csv"
    inc = dedupe_file(db, settings, tenant, FileRequest(new_src, out, id_column="id",
                                                      incremental=True))
    after = dict(read_clusters(out))
    assert list(after) == ["new-1", "new-2", "new-3", base[5]["id"]]
    assert after["new-1"] == before[base[40]["id"]]  # joined the existing cluster, its name kept
    assert after[base[5]["id"]] == before[base[5]["id"]]
    assert after["new-2"] == "new-2"
    assert after["new-3"] == "new-3"
    assert inc.stats.known_records == 1
    assert inc.stats.attached_to_existing == 1
    assert inc.stats.model == result.stats.model  # no retraining

    # The saved state now holds both files; re-sending the base file renames nothing.
    check = tmp_path / "c3.csv"
    dedupe_file(db, settings, tenant, FileRequest(src, check, id_column="id", incremental=True))
    assert dict(read_clusters(check)) == before
    home = settings.home / "dedupe" / "state" / str(tenant) / "default"
    assert [p.name for p in home.glob("*.parquet")] == ["records-v3.parquet"]  # old ones gone
    with sqlite3.connect(settings.home / "revline.db") as con:
        count, clusters = con.execute(
            "select record_count, cluster_count from lead_dedupe_states where name='default'"
        ).fetchone()
    assert count == 150 + 3


def test_incremental_needs_saved_state(tmp_path: Path) -> None:
    settings = get_settings()
    src = write_leads(tmp_path / "a.csv", bg_rows(5))
    with pytest.raises(NotFound, match="no saved dedupe state 'crm'"):
        dedupe_file(get_database(settings), settings, _tenant(),
                    FileRequest(src, tmp_path / "o.csv", id_column="id", incremental=True,
                                state="crm"))
    with pytest.raises(InvalidInput, match="--incremental needs --id-column"):
        dedupe_file(get_database(settings), settings, _tenant(),
                    FileRequest(src, tmp_path / "o.csv", incremental=True))
    with pytest.raises(InvalidInput, match="would overwrite the input"):
        dedupe_file(get_database(settings), settings, _tenant(), FileRequest(src, src))


def test_training_golden_and_links_on_synthetic_leads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVLINE_DEDUPE_MIN_TRAIN_RECORDS", "1000")
    get_settings.cache_clear()
    settings = get_settings()
    src = tmp_path / "synthetic.csv"
    truth = list(generate(src, 2500, seed=11))
    out, golden, links = tmp_path / "c.csv", tmp_path / "g.csv", tmp_path / "l.csv"
    result = dedupe_file(get_database(settings), settings, _tenant(), FileRequest(
        src, out, id_column="id", golden_out=golden, links_out=links, save=False))
    assert result.stats.model == "trained (EM) on 2,500 records"
    assert result.loaded.fast_path  # DuckDB read the UTF-8 CSV directly
    assert pairwise_f1(read_clusters(out), truth) >= 0.98
    with golden.open(encoding="utf-8") as fh:
        gold = list(csv.DictReader(fh))
    assert len(gold) == result.stats.clusters
    assert all(g["company"] and g["company_from"] in g["members"].split(", ") for g in gold)
    with links.open(encoding="utf-8") as fh:
        link_rows = list(csv.DictReader(fh))
    assert link_rows
    assert all(float(r["match_probability"]) >= 0.9 for r in link_rows)
    assert all("(+" in r["why"] for r in link_rows)


def _pair_files(tmp_path: Path) -> Path:
    rows = bg_rows(120)
    rows += [
        {"id": "u1", "Company": "Nova Print", "Contact": "", "Email": "", "Phone": "+16175550100",
         "Website": "", "City": "Boston"},
        {"id": "u2", "Company": "Nova Prints", "Contact": "", "Email": "",
         "Phone": "+16175550100", "Website": "", "City": "Boston"},
    ]
    return write_leads(tmp_path / "pair.csv", rows)


def test_human_review_round_trip(tmp_path: Path, env: dict[str, str]) -> None:
    src = _pair_files(tmp_path)
    out, review = tmp_path / "c.csv", tmp_path / "review.csv"
    args = ["leads", "dedupe", str(src), "-o", str(out), "--id-column", "id", "--threshold",
            "0.999999", "--uncertain-out", str(review)]
    proc = revline(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    with review.open(encoding="utf-8") as fh:
        pairs = list(csv.DictReader(fh))
    target = [p for p in pairs if {p["record_id_l"], p["record_id_r"]} == {"u1", "u2"}]
    assert target
    assert target[0]["company_l"] in ("Nova Print", "Nova Prints")
    assert dict(read_clusters(out))["u2"] != dict(read_clusters(out))["u1"]
    for p in pairs:
        p["label"] = "yes" if p is target[0] else ""
    with review.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(pairs[0]))
        writer.writeheader()
        writer.writerows(pairs)
    proc = revline("leads", "dedupe-labels", str(review), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1 answers stored (1 same, 0 different)" in proc.stdout
    proc = revline(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    clusters = dict(read_clusters(out))
    assert clusters["u1"] == clusters["u2"] == "u1"  # the person's answer decides the pair
    bad = tmp_path / "bad.csv"
    bad.write_text("fp_l,fp_r,label\n" + "a" * 32 + "," + "b" * 32 + ",maybe\n")
    proc = revline("leads", "dedupe-labels", str(bad), env=env)
    assert proc.returncode == 2
    assert "line 2: label 'maybe' is not yes or no" in proc.stderr


def test_llm_reviews_uncertain_pairs_and_answers_are_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _pair_files(tmp_path)
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        pairs = json.loads(request["messages"][-1]["content"])["pairs"]
        seen.extend(pairs)
        return json.dumps({"results": [
            {"id": p["id"], "same": p["a"].get("company", "")[:4] == p["b"].get("company",
                                                                               "")[:4],
             "confidence": 0.9, "reason": "same shop, plural typo"} for p in pairs
        ]})

    with serve_llm(responder) as llm:
        monkeypatch.setenv("REVLINE_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("REVLINE_OPENAI_API_KEY", "sk-test")
        get_settings.cache_clear()
        settings = get_settings()
        req = FileRequest(src, tmp_path / "c.csv", id_column="id", threshold=0.999999, llm=True)
        result = dedupe_file(get_database(settings), settings, _tenant(), req)
        assert llm.requests
        assert llm.requests[0]["temperature"] == 0
    assert result.stats.llm_reviewed == len(seen) >= 1
    clusters = dict(read_clusters(tmp_path / "c.csv"))
    assert clusters["u1"] == clusters["u2"]
    with sqlite3.connect(settings.home / "revline.db") as con:
        stored = con.execute("select source, match, reason from lead_dedupe_labels").fetchall()
    assert ("llm", 1, "same shop, plural typo") in stored
    with sqlite3.connect(settings.home / "revline.db") as con:  # billed to the tenant
        billed = con.execute("select tenant_id, feature from llm_calls").fetchall()
    assert billed
    assert set(billed) == {(_tenant().hex, "leads.dedupe")}
    # Later runs reuse the stored answers: no LLM configured, same decision.
    monkeypatch.delenv("REVLINE_LLM_BASE_URL")
    get_settings.cache_clear()
    settings = get_settings()
    req = FileRequest(src, tmp_path / "c2.csv", id_column="id", threshold=0.999999)
    again = dedupe_file(get_database(settings), settings, _tenant(), req)
    assert again.stats.labelled_pairs >= 1
    assert again.stats.llm_reviewed == 0
    assert dict(read_clusters(tmp_path / "c2.csv"))["u2"] == "u1"
    # A review file without the label column is refused with a pointer to the right one.
    empty = tmp_path / "empty-review.csv"
    empty.write_text("fp_l,fp_r\n")
    with pytest.raises(InvalidInput, match="not a dedupe review file"):
        list(read_review_csv(empty))
    assert import_labels(get_database(settings), _tenant(), []) == 0


def _tenant() -> Any:
    from revline.kernel.auth import ensure_tenant

    settings = get_settings()
    with get_database(settings).session() as session:
        return ensure_tenant(session, settings.default_tenant).id
