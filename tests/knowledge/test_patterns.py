"""Pattern library: seeding per tenant, differential upgrades, locking, search, health."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.kernel.errors import InvalidInput, NotFound
from revline.knowledge import service
from revline.knowledge.patterns import service as patterns
from revline.knowledge.patterns.library import read_library
from revline.knowledge.patterns.seeding import forget_seeded
from tests.knowledge.conftest import FIXTURE_PATTERNS


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the fixture library, used as the configured pattern folder."""
    folder = tmp_path / "patterns"
    shutil.copytree(FIXTURE_PATTERNS, folder)
    monkeypatch.setenv("REVLINE_KB_PATTERNS_DIR", str(folder))
    get_settings.cache_clear()
    return folder


def _edit(path: Path, **changes: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_first_use_seeds_once_and_upgrades_apply_only_differences(
    db: Database, tenant_id: uuid.UUID, library: Path
) -> None:
    with db.session() as session:
        records = service.list_patterns(session, tenant_id)
    assert sorted(r.id for r in records) == sorted(p.stem for p in FIXTURE_PATTERNS.glob("*.yml"))
    assert {r.origin for r in records} == {"bundled"}
    rag = next(r for r in records if r.id == "support-rag-chatbot")
    assert rag.pattern["graph"]["nodes"][1]["data"]["type"] == "knowledge-retrieval"
    assert rag.slots[0]["name"] == "kb_name"
    with db.session() as session:
        again = patterns.reseed(session, get_settings(), tenant_id)
    assert again.up_to_date
    # The tenant customises one bundled pattern and deletes another.
    with db.session() as session:
        custom = dict(service.get_pattern(session, tenant_id, "blog-post-writer").pattern)
        custom["description"] = "Our own article workflow with a brand-voice check."
        service.upsert_pattern(session, tenant_id, custom)
        service.delete_pattern(session, tenant_id, "lead-qualification")
    # A release changes two files, removes one and adds one.
    _edit(library / "support-rag-chatbot.yml", description="Grounded answers with citations.")
    _edit(library / "blog-post-writer.yml", description="New bundled wording.")
    (library / "invoice-reminder.yml").unlink()
    new = yaml.safe_load((FIXTURE_PATTERNS / "invoice-reminder.yml").read_text())
    new.update(id="churn-winback", name="Win back churned customers", category="marketing")
    (library / "churn-winback.yml").write_text(yaml.safe_dump(new), encoding="utf-8")
    forget_seeded()  # a new process after the upgrade
    with db.session() as session:
        count = service.ensure_patterns(session, tenant_id)
        seed = patterns.reseed(session, get_settings(), tenant_id)
    assert seed.up_to_date
    with db.session() as session:
        by_id = {r.id: r for r in service.list_patterns(session, tenant_id)}
    assert count == len(by_id) == 3
    assert by_id["support-rag-chatbot"].description == "Grounded answers with citations."
    assert by_id["blog-post-writer"].origin == "user"
    assert by_id["blog-post-writer"].description.startswith("Our own article workflow")
    assert "lead-qualification" not in by_id  # the tenant's deletion sticks
    assert "invoice-reminder" not in by_id  # removed from the library
    assert by_id["churn-winback"].origin == "bundled"


def test_seed_report_lists_each_change(db: Database, tenant_id: uuid.UUID, library: Path) -> None:
    settings = get_settings()
    with db.session() as session:
        first = patterns.reseed(session, settings, tenant_id)
    assert sorted(first.added) == sorted(p.stem for p in FIXTURE_PATTERNS.glob("*.yml"))
    _edit(library / "invoice-reminder.yml", tags=["billing", "dunning"])
    (library / "blog-post-writer.yml").unlink()
    with db.session() as session:
        second = patterns.reseed(session, settings, tenant_id)
    assert (second.added, second.updated, second.deleted) == (
        [], ["invoice-reminder"], ["blog-post-writer"])


def test_concurrent_first_starts_seed_exactly_once(
    db: Database, tenant_id: uuid.UUID, library: Path
) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        try:
            barrier.wait()
            with db.session() as session:
                service.ensure_patterns(session, tenant_id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session() as session:
        assert len(service.list_patterns(session, tenant_id)) == 4


def test_search_patterns_and_filters(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID
) -> None:
    with db.session() as session:
        found = service.search_patterns(
            session, tenant_id, "answer customer questions from our help center articles", k=2)
    assert found[0][0].id == "support-rag-chatbot"
    assert found[0][1] > 0
    with db.session() as session:
        sales = service.search_patterns(session, tenant_id, "send emails", k=4,
                                        filters={"category": "sales"})
        tagged = service.search_patterns(session, tenant_id, "automation", k=4,
                                         filters={"tags": "seo"})
    assert [r.id for r, _ in sales] == ["lead-qualification"]
    assert [r.id for r, _ in tagged] == ["blog-post-writer"]
    # An edited pattern is re-indexed with its new text on the next search.
    with db.session() as session:
        body = dict(service.get_pattern(session, tenant_id, "invoice-reminder").pattern)
        body["description"] = "Sends birthday greetings with a coupon to loyal customers."
        service.upsert_pattern(session, tenant_id, body)
    with db.session() as session:
        top = service.search_patterns(session, tenant_id, "birthday coupon greetings", k=1)
    assert top[0][0].id == "invoice-reminder"
    with db.session() as session:
        service.delete_pattern(session, tenant_id, "invoice-reminder")
    with db.session() as session:
        after = service.search_patterns(session, tenant_id, "birthday coupon greetings", k=4)
    assert "invoice-reminder" not in [r.id for r, _ in after]


def test_pattern_validation_errors(db: Database, tenant_id: uuid.UUID, tmp_path: Path) -> None:
    with db.session() as session:
        with pytest.raises(InvalidInput, match="mode"):
            service.upsert_pattern(session, tenant_id, {
                "schema": 1, "id": "x", "name": "X", "mode": "chat", "category": "ops",
                "description": "d", "graph": {"nodes": [{"id": "a"}], "edges": []}})
        with pytest.raises(InvalidInput, match="graph: required"):
            service.upsert_pattern(session, tenant_id, {
                "schema": 1, "id": "x", "name": "X", "mode": "workflow", "category": "ops",
                "description": "d"})
        with pytest.raises(NotFound):
            service.get_pattern(session, tenant_id, "does-not-exist")
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(FIXTURE_PATTERNS / "blog-post-writer.yml", bad / "renamed.yml")
    (bad / "broken.yml").write_text("id: [", encoding="utf-8")
    lib = read_library(bad)
    assert lib.patterns == {}
    assert any("must equal the file name 'renamed'" in e for e in lib.errors)
    assert any(e.startswith("broken.yml: unreadable") for e in lib.errors)


def test_health_reports_pattern_count(db: Database, library: Path) -> None:
    from revline.api.app import create_app

    with TestClient(create_app()) as client:
        assert client.get("/health").json()["patterns"] == 4
    (library / "invoice-reminder.yml").unlink()
    with TestClient(create_app()) as client:
        assert client.get("/health").json()["patterns"] == 3


@pytest.mark.postgres
def test_postgres_concurrent_seeding(pg_url: str, library: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(pg_url)
    db.migrate()
    try:
        with db.session() as session:
            tenant = ensure_tenant(session, "pg").id
        errors: list[BaseException] = []
        barrier = threading.Barrier(5)

        def start() -> None:
            try:
                barrier.wait()
                with db.session() as session:
                    patterns.ensure_patterns(session, get_settings(), tenant)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with db.session() as session:
            assert patterns.list_patterns(session, tenant)[0].origin == "bundled"
            assert len(patterns.list_patterns(session, tenant)) == 4
    finally:
        db.dispose()
