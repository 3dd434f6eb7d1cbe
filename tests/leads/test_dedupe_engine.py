"""The dedupe engine on real DuckDB + Splink: keys as evidence, role inboxes, vetoes, labels,
explanations, golden records and stable ids."""

from __future__ import annotations

import random

import pytest

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError, InvalidInput
from revline.leads.dedupe import Deduper, DedupeRecord, PairLabel, effective_config, load_config
from revline.leads.dedupe.config import parse_config, with_threshold
from revline.leads.dedupe.runs import cluster_records
from tests.leads.dedupe_helpers import background, groups

R = DedupeRecord


def run(settings: Settings, records: list[DedupeRecord], **kw: object) -> dict[str, dict]:
    return cluster_records(settings, records, **kw).clusters  # type: ignore[arg-type]


def test_one_person_spelled_many_ways_is_one_cluster(settings: Settings) -> None:
    people = [
        R("p1", company="Lee Dental Care", name="Ann Lee", email="ann.lee@gmail.com",
          phone="(415) 555-0101", state="CA", city="San Francisco", website="leedental.com"),
        R("p2", company="LEE DENTAL CARE LLC", name="Lee, Ann", email="AnnLee+web@googlemail.com",
          phone="+1 415 555 0101", city="San Francisco", website="https://www.leedental.com/"),
        R("p3", company="Lee Dentl Care", name="Ann Lee", email="", phone="415.555.0101",
          city="San Francisco", website="http://leedental.com"),
    ]
    out = run(settings, background(300) + people)
    assert groups(out, "p") == {frozenset({"p1", "p2", "p3"})}
    assert out["p1"]["cluster_id"] == "p1"
    assert out["p1"]["is_primary"]
    why = out["p2"]["match_reason"]
    for part in ("email: same personal email (+", "phone: same phone (+",
                 "name: same name (+", "domain: same company domain (+"):  # "Lee, Ann" is read
        assert part in why
    assert out["p2"]["match_probability"] >= 0.99
    assert out["p2"]["match_weight"] > 20
    golden = out["p1"]["golden"]
    assert golden["phone_e164"] == "+14155550101"
    assert golden["domain"] == "leedental.com"
    assert out["p1"]["members"] == ["p1", "p2", "p3"]


def test_shared_inbox_never_merges_different_people(settings: Settings) -> None:
    shared = {"company": "Acme Plumbing", "email": "info@acmeplumbing.com",
                  "phone_e164": "+14155550123", "domain": "acmeplumbing.com", "city": "Austin"}
    records = background(300) + [
        R("r1", name="John Smith", **shared),
        R("r2", name="Mary Jones", **shared),  # a colleague behind the same inbox and phone
        R("r3", name="John Smith", **{**shared, "email": "INFO@AcmePlumbing.com"}),
    ]
    result = cluster_records(settings, records)
    assert groups(result.clusters, "r") == {frozenset({"r1", "r3"}), frozenset({"r2"})}
    assert result.stats.profile == "person"
    assert result.stats.vetoed_pairs >= 2  # r2 with r1 and with r3


def test_shared_inbox_never_merges_different_companies(settings: Settings) -> None:
    records = [R(f"bg{i}", company=r.company, email=r.email, phone_e164=r.phone_e164,
                 domain=r.domain, city=r.city) for i, r in enumerate(background(300))]
    records += [
        R("c1", company="Acme Plumbing", email="info@shared-host.com", city="Austin"),
        R("c2", company="Zenith Roofing", email="info@shared-host.com", city="Austin"),
        R("c3", company="Acme Plumbing LLC", email="Info@Shared-Host.com", city="Austin"),
        R("c4", company="Harbor Dental", phone="+1 512 555 0199", city="Austin"),
        R("c5", company="Smith Bakery", phone="(512) 555-0199", city="Austin"),  # call centre
    ]
    result = cluster_records(settings, records)
    assert result.stats.profile == "company"  # no contact names: company leads
    assert groups(result.clusters, "c") == {
        frozenset({"c1", "c3"}), frozenset({"c2"}), frozenset({"c4"}), frozenset({"c5"})
    }


def test_ids_are_stable_when_rerun_or_reordered(settings: Settings) -> None:
    dups = [R(f"d{i}", company=f"Dup Co {i}", name="Eve Stone", email=f"eve{i}@dupco{i}.com",
              phone_e164=f"+1303555{1000 + i}") for i in range(5)]
    records = background(200) + dups + [
        R(f"e{i}", company=d.company.upper(), name="Stone, Eve", email=d.email.upper(),
          phone_e164=d.phone_e164) for i, d in enumerate(dups)
    ]
    first = run(settings, records)
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    second = run(settings, shuffled)
    assert {k: v["cluster_id"] for k, v in first.items()} == {
        k: v["cluster_id"] for k, v in second.items()
    }
    assert first["e3"]["cluster_id"] == "d3"  # natural order: "d3" < "e3"


def test_golden_record_survivorship(settings: Settings) -> None:
    base = {"company": "Blue Fin Sushi", "email": "kai@bluefin.com", "phone_e164": "+13035550144",
                "domain": "bluefin.com", "city": "Denver", "name": "Kai Moana"}
    records = background(200) + [
        R("g1", **{**base, "title": ""}, source="import", updated_at="2023-01-05"),
        R("g2", **{**base, "company": "Blue Fin Sushi Bar", "email": "kai.m@bluefin.com",
                   "title": "Owner"}, source="CRM", updated_at="2024-06-30"),
        R("g3", **{**base, "email": "kai+new@bluefin.com", "address": "12 Main St"},
          source="scrape", updated_at="2025-02-01"),
    ]
    out = run(settings, records)
    assert groups(out, "g") == {frozenset({"g1", "g2", "g3"})}
    golden, chosen = out["g1"]["golden"], out["g1"]["golden_from"]
    assert golden["company"] == "Blue Fin Sushi Bar"
    assert chosen["company"] == "g2"
    assert golden["email"] == "kai+new@bluefin.com"
    assert chosen["email"] == "g3"
    assert golden["title"] == "Owner"
    assert golden["address"] == "12 Main St"
    assert "golden" not in out["g2"]  # only the primary carries it


def test_labels_decide_pairs_and_reach_unblocked_pairs(settings: Settings) -> None:
    a = R("qa", company="Quartz Media", name="Ola Berg", email="ola@quartz.io",
          phone_e164="+13035550177", city="Denver")
    b = R("qb", company="Quartz Media", name="Ola Berg", email="ola@quartz.io",
          phone_e164="+13035550177", city="Boulder")
    c = R("qc", company="Totally Other", name="Someone Else", email="x@other.io", city="Tampa")
    plain = run(settings, [*background(100), a, b, c])
    assert groups(plain, "q") == {frozenset({"qa", "qb"}), frozenset({"qc"})}
    with Deduper(settings, effective_config(settings)) as d:  # identity fingerprints
        d.load_records([a, b, c])
        d.run()
        fps = dict(d.con.execute("select unique_id, fp from keyed").fetchall())
    labels = [PairLabel.of(fps["qa"], fps["qb"], False, "human"),
              PairLabel.of(fps["qa"], fps["qc"], True, "llm")]
    result = cluster_records(settings, [*background(100), a, b, c], labels=labels)
    # "Not the same" splits a pair the model links; "same" links a pair blocking never saw.
    assert result.clusters["qb"]["cluster_id"] != result.clusters["qa"]["cluster_id"]
    assert result.clusters["qc"]["cluster_id"] == "qa"
    assert result.clusters["qc"]["match_reason"] == "labelled the same by llm"
    assert result.stats.labelled_pairs >= 2


def test_hot_keys_do_not_block(settings: Settings, tmp_path: object) -> None:
    cfg = load_config()
    cfg = cfg.model_copy(update={"max_block_size": 20})
    records = [R(f"h{i}", company=f"Franchise Store {i}", city=f"City {i}",
                 phone_e164="+18005550100", name=f"Manager {i}") for i in range(30)]
    result = cluster_records(settings, records + background(50), config=cfg)
    assert result.stats.capped_keys == 30
    assert any("not used for blocking" in n for n in result.stats.notes)
    assert len(groups(result.clusters, "h")) == 30  # a shared 0800 number links no one


def test_threshold_band_and_config_errors(settings: Settings, tmp_path: object) -> None:
    cfg = with_threshold(effective_config(settings), 0.999999)
    pair = [R("u1", company="Nova Print", city="Boston", phone_e164="+16175550100"),
            R("u2", company="Nova Prints", city="Boston", phone_e164="+16175550100")]
    with Deduper(settings, cfg) as d:
        d.load_records(background(100) + pair)
        stats = d.run()
        review = d.uncertain_pairs()
    assert stats.uncertain_pairs == len(review) >= 1
    assert {(p.record_id_l, p.record_id_r) for p in review} & {("u1", "u2"), ("u2", "u1")}
    assert review[0].left["company"] in {"Nova Print", "Nova Prints"}
    with pytest.raises(InvalidInput, match="--threshold must be between 0 and 1"):
        with_threshold(cfg, 1.5)
    data = load_config().model_dump(by_alias=True)
    data["profiles"]["person"]["blocking"] = []
    with pytest.raises(ConfigError, match=r"^bad.yml: profiles.person: at least one blocking"):
        parse_config(data, "bad.yml")
    with Deduper(settings, cfg) as d, pytest.raises(InvalidInput, match="duplicate record id"):
        d.load_records([R("x"), R("x")])


def test_settings_override_the_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLINE_DEDUPE_THRESHOLD", "0.97")
    monkeypatch.setenv("REVLINE_DEDUPE_MAX_CLUSTER_SIZE", "7")
    cfg = effective_config(Settings())
    assert cfg.link.threshold == 0.97
    assert cfg.link.max_cluster_size == 7
    assert cfg.link.uncertain[1] == 0.97


def test_llm_answers_are_handed_over_batch_by_batch(settings: Settings) -> None:
    """A crash during LLM review keeps every answer already paid for (one sink call a batch)."""
    cfg = with_threshold(effective_config(settings), 0.999999)
    cfg = cfg.model_copy(update={"llm": cfg.llm.model_copy(update={"batch_size": 1})})
    pairs = [R("u1", company="Nova Print", city="Boston", phone_e164="+16175550100"),
             R("u2", company="Nova Prints", city="Boston", phone_e164="+16175550100"),
             R("v1", company="Zeta Bakery", city="Tampa", phone_e164="+18135550111"),
             R("v2", company="Zeta Bakeries", city="Tampa", phone_e164="+18135550111")]
    stored: list[PairLabel] = []
    calls = 0

    def judge(batch: object) -> list[PairLabel | None]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # the process dies while the second batch is in flight
        return [PairLabel.of(p.fp_l, p.fp_r, True, "llm") for p in batch]  # type: ignore[attr-defined]

    with Deduper(settings, cfg) as d:
        d.load_records(background(100) + pairs)
        with pytest.raises(KeyboardInterrupt):
            d.run(judge=judge, on_labels=stored.extend)
    assert calls == 2
    assert len(stored) == 1  # the first batch's answer was stored before the crash
