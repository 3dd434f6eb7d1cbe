"""Ingest and search end to end on real SQLite, real LanceDB and the real embedding model."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.kernel.errors import InvalidInput, NotFound, PayloadTooLarge, UnreadableInput
from revline.knowledge import service
from revline.knowledge.errors import ModelMismatch
from revline.knowledge.kbs import collection_of, store_of
from revline.knowledge.models import KBChunk, KnowledgeBase
from tests.knowledge.conftest import write_corpus


def _ingest(db: Database, tenant: uuid.UUID, paths: list[Path], kb: str = "docs",
            **kwargs: object) -> service.IngestReport:
    with db.session() as session:
        return service.ingest_paths(session, tenant, kb, paths, **kwargs)  # type: ignore[arg-type]


def _search(db: Database, tenant: uuid.UUID, text: str, kb: str = "docs",
            **kwargs: object) -> list[service.Hit]:
    with db.session() as session:
        return service.search(session, tenant, kb, text, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


def test_mixed_corpus_is_searchable_with_sources_and_spans(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, corpus: Path
) -> None:
    report = _ingest(db, tenant_id, [corpus])
    assert report.summary()["added"] == 5
    assert report.summary()["failed"] == 0
    expected = {
        "how do I reset the widget": "widget.md",
        "where do parcels ship from": "shipping.html",
        "how to change my password": "notes.txt",
        "what interest is charged when I pay late": "billing.pdf",
        "how many vacation days do employees get": "onboarding.docx",
    }
    for query, source in expected.items():
        hits = _search(db, tenant_id, query, k=3)
        assert Path(hits[0].source).name == source, (query, [h.source for h in hits])
        assert hits[0].source == str(corpus / source)
        assert hits[0].score > 0
    pdf = _search(db, tenant_id, "late payment interest", k=1)[0]
    assert pdf.span.page_start == 2
    assert pdf.span.section == "Late payments"
    widget = _search(db, tenant_id, "LED blinks green", k=1)[0]
    text = (corpus / "widget.md").read_text(encoding="utf-8")
    assert text[widget.span.start:widget.span.end] == widget.chunk
    for mode in ("vector", "bm25"):
        top = _search(db, tenant_id, "reset button LED", k=2, mode=mode)
        assert Path(top[0].source).name == "widget.md"
    with db.session() as session:
        stats = service.stats(session, tenant_id, "docs")
    assert stats["documents"] == 5
    assert stats["store_rows"] == stats["chunks"] > 0
    assert stats["kinds"] == {"docx": 1, "html": 1, "markdown": 1, "pdf": 1, "text": 1}


def test_reingest_is_a_noop_and_changes_replace_chunks(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, corpus: Path
) -> None:
    _ingest(db, tenant_id, [corpus])
    again = _ingest(db, tenant_id, [corpus])
    assert again.summary()["unchanged"] == 5
    assert again.chunks_added == 0
    (corpus / "widget.md").write_text(
        "# Widget guide\n\nThe widget now runs on a USB-C charger instead of mains power.\n",
        encoding="utf-8",
    )
    changed = _ingest(db, tenant_id, [corpus])
    assert changed.summary()["updated"] == 1
    assert changed.summary()["unchanged"] == 4
    assert changed.chunks_removed > 0
    top = _search(db, tenant_id, "USB-C charger", k=1)[0]
    assert Path(top.source).name == "widget.md"
    everything = _search(db, tenant_id, "reset button LED blinks green", k=20, mode="bm25")
    assert all("blinks green" not in h.chunk for h in everything)
    with db.session() as session:
        kb = session.scalars(select(KnowledgeBase).where(KnowledgeBase.name == "docs")).one()
        sql_chunks = session.scalars(select(KBChunk).where(KBChunk.kb_id == kb.id)).all()
        assert store_of(kb_settings, kb).count(collection_of(kb)) == len(sql_chunks)
        assert kb.chunk_count == len(sql_chunks)


def test_duplicates_prune_and_remove(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, corpus: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy-of-notes.txt"
    copy.write_bytes((corpus / "notes.txt").read_bytes())
    report = _ingest(db, tenant_id, [corpus, copy])
    dup = [d for d in report.documents if d.status == "duplicate"]
    assert [Path(d.source).name for d in dup] == ["copy-of-notes.txt"]
    assert dup[0].duplicate_of == str(corpus / "notes.txt")
    (corpus / "shipping.html").unlink()
    pruned = _ingest(db, tenant_id, [corpus], prune=True)
    assert [Path(d.source).name for d in pruned.documents if d.status == "removed"] == [
        "shipping.html"
    ]
    assert all(Path(h.source).name != "shipping.html"
               for h in _search(db, tenant_id, "parcels DHL Rotterdam", k=10))
    with db.session() as session:
        service.delete_document(session, tenant_id, "docs", str(corpus / "notes.txt"))
    with db.session() as session:
        sources = [d.source for d in service.documents_page(session, tenant_id, "docs")]
    assert str(corpus / "notes.txt") not in sources
    assert len(sources) == 3


def test_filters_collapse_and_bad_queries(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, corpus: Path
) -> None:
    _ingest(db, tenant_id, [corpus / "widget.md", corpus / "notes.txt"], meta={"team": "hw"})
    _ingest(db, tenant_id, [corpus / "billing.pdf", corpus / "shipping.html"],
            meta={"team": "finance"})
    finance = _search(db, tenant_id, "widget reset", k=10, filters={"team": "finance"})
    assert finance
    assert {Path(h.source).name for h in finance} <= {"billing.pdf", "shipping.html"}
    assert finance[0].metadata["team"] == "finance"
    pdf_only = _search(db, tenant_id, "payment", k=10, filters={"kind": ["pdf"]})
    assert {Path(h.source).name for h in pdf_only} == {"billing.pdf"}
    both = _search(db, tenant_id, "payment", k=10, filters={"team": ["hw", "finance"]})
    assert len({h.source for h in both}) == 4
    collapsed = _search(db, tenant_id, "widget", k=10, collapse=True)
    assert len({h.document_id for h in collapsed}) == len(collapsed)
    with pytest.raises(InvalidInput, match="query text is empty"):
        _search(db, tenant_id, "   ")
    with pytest.raises(InvalidInput, match="mode"):
        _search(db, tenant_id, "x", mode="fuzzy")
    with pytest.raises(InvalidInput, match="filter key"):
        _search(db, tenant_id, "x", filters={"bad key!": "x"})
    with pytest.raises(NotFound, match="revline kb create nope"):
        _search(db, tenant_id, "x", kb="nope")


def test_tenants_never_see_each_other(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, other_tenant_id: uuid.UUID,
    corpus: Path,
) -> None:
    _ingest(db, tenant_id, [corpus / "widget.md"])
    _ingest(db, other_tenant_id, [corpus / "notes.txt"])
    mine = _search(db, tenant_id, "change password security settings", k=10)
    theirs = _search(db, other_tenant_id, "widget reset button", k=10)
    assert {Path(h.source).name for h in mine} == {"widget.md"}
    assert {Path(h.source).name for h in theirs} == {"notes.txt"}
    with db.session() as session:
        assert [k.name for k in service.list_kbs(session, other_tenant_id)] == ["docs"]
        a = service.get_kb(session, tenant_id, "docs")
        b = service.get_kb(session, other_tenant_id, "docs")
        assert collection_of(a).name != collection_of(b).name


def test_limits_and_unreadable_files(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, corpus: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("REVLINE_KB_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000, encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a pdf")
    report = _ingest(db, tenant_id, [big, broken, corpus / "notes.txt"])
    errors = {Path(d.source).name: d.error for d in report.failed}
    assert "over the 1 MB limit" in (errors["big.txt"] or "")
    assert "not a readable PDF" in (errors["broken.pdf"] or "")
    assert report.summary()["added"] == 1
    with pytest.raises(UnreadableInput, match="no such file"):
        _ingest(db, tenant_id, [tmp_path / "missing.md"])
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(InvalidInput, match="unsupported file type"):
        _ingest(db, tenant_id, [tmp_path / "image.png"])
    from revline.knowledge.ingest.sources import too_large

    assert isinstance(too_large("x", 2 << 20, get_settings()), PayloadTooLarge)


def test_mixing_models_is_refused_until_reembed(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, corpus: Path
) -> None:
    _ingest(db, tenant_id, [corpus / "widget.md", corpus / "notes.txt"])
    with db.session() as session:
        kb = service.get_kb(session, tenant_id, "docs")
        old_collection = collection_of(kb)
        # As if this KB had been built by another model (e.g. before an upgrade).
        kb.embed_sha256 = "0" * 64
        kb.embed_model = "sentence-transformers/old-model"
    with pytest.raises(ModelMismatch, match="revline kb reembed docs"):
        _search(db, tenant_id, "widget")
    with pytest.raises(ModelMismatch, match="old-model"):
        _ingest(db, tenant_id, [corpus / "billing.pdf"])
    from revline.knowledge.reembed import reembed_kb

    with db.session() as session:
        kb = service.get_kb(session, tenant_id, "docs")
        result = reembed_kb(session, kb_settings, kb)
        assert result["chunks"] == kb.chunk_count
    store = store_of(kb_settings, kb)
    assert store.count(old_collection) == 0  # dropped after commit
    hits = _search(db, tenant_id, "reset button", k=1)
    assert Path(hits[0].source).name == "widget.md"
    assert _ingest(db, tenant_id, [corpus / "billing.pdf"]).summary()["added"] == 1


def test_optimize_compacts_and_keeps_results(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, corpus: Path
) -> None:
    for path in sorted(corpus.iterdir()):
        _ingest(db, tenant_id, [path])  # one commit (version) per file
    before = [h.chunk_id for h in _search(db, tenant_id, "payment due", k=5)]
    from revline.knowledge.tasks import optimize

    results = optimize()
    mine = [r for r in results if r["kb"].endswith("/docs")]
    assert mine
    assert mine[0]["rows"] > 0
    assert "error" not in mine[0]
    assert [h.chunk_id for h in _search(db, tenant_id, "payment due", k=5)] == before
