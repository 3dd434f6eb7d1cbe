"""Knowledge API: CRUD, uploads (413/422), query, listings, scopes, tenancy, legacy winner
routes, and uploads/URLs ingested by a real Celery worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient

import revline.kernel.jobs.app as jobs_app
from revline.api.app import create_app
from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.kernel.jobs import make_celery
from revline.registry import configure_jobs
from tests.knowledge.builders import make_pdf
from tests.knowledge.conftest import write_corpus


def _auth(db: Database, tenant: str, scopes: list[str]) -> dict[str, str]:
    with db.session() as session:
        _, key = create_api_key(session, ensure_tenant(session, tenant), "t", scopes,
                                get_settings().api_keys_pepper.get_secret_value())
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(db: Database, kb_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_crud_upload_query_and_listings(client: TestClient, db: Database, tmp_path: Path) -> None:
    auth = _auth(db, "acme", ["kb:read", "kb:write"])
    created = client.post("/api/v1/kb", headers=auth,
                          json={"name": "Help Center", "description": "public docs"})
    assert created.status_code == 201, created.text
    assert created.json()["embed_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert client.post("/api/v1/kb", headers=auth, json={"name": "Help Center"}).status_code == 409
    assert client.post("/api/v1/kb", headers=auth, json={"name": "winners"}).status_code == 422
    corpus = write_corpus(tmp_path / "c")
    files = [("files", (p.name, p.read_bytes())) for p in sorted(corpus.iterdir())]
    up = client.post("/api/v1/kb/Help Center/documents?wait=true", headers=auth, files=files,
                     data={"meta": ["lang=en"]})
    assert up.status_code == 200, up.text
    assert up.json()["added"] == 5
    again = client.post("/api/v1/kb/Help Center/documents?wait=true", headers=auth,
                        files=files[:1])
    assert again.json()["unchanged"] == 1
    hits = client.post("/api/v1/kb/Help Center/query", headers=auth,
                       json={"text": "how long do I have to pay an invoice", "k": 3,
                             "filters": {"lang": "en"}}).json()
    assert hits["query"] == "how long do I have to pay an invoice"
    top = hits["hits"][0]
    assert top["source"] == "billing.pdf"
    assert {"chunk", "score", "span", "document_id", "chunk_id"} <= top.keys()
    assert top["span"]["page_start"] == 1
    docs = client.get("/api/v1/kb/Help Center/documents", headers=auth).json()
    assert sorted(d["source"] for d in docs) == sorted(p.name for p in corpus.iterdir())
    pdf = next(d for d in docs if d["kind"] == "pdf")
    assert pdf["meta"]["lang"] == "en"
    chunks = client.get(f"/api/v1/kb/Help Center/documents/{pdf['id']}/chunks",
                        headers=auth).json()
    assert [c["ordinal"] for c in chunks] == list(range(pdf["chunk_count"]))
    detail = client.get("/api/v1/kb/Help Center", headers=auth).json()
    assert detail["documents"] == 5
    assert detail["store_rows"] == detail["chunks"]
    listed = client.get("/api/v1/kb", headers=auth).json()
    assert [k["name"] for k in listed] == ["Help Center"]
    assert client.patch("/api/v1/kb/Help Center", headers=auth,
                        json={"description": "v2"}).json()["description"] == "v2"
    assert client.delete(f"/api/v1/kb/Help Center/documents/{pdf['id']}",
                         headers=auth).status_code == 204
    assert client.delete("/api/v1/kb/Help Center", headers=auth).status_code == 204
    assert client.get("/api/v1/kb/Help Center", headers=auth).status_code == 404


def test_upload_errors_scopes_and_tenants(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVLINE_KB_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    writer = _auth(db, "acme", ["kb:write", "kb:read"])
    reader = _auth(db, "acme", ["kb:read"])
    other = _auth(db, "globex", ["*"])
    big = client.post("/api/v1/kb/docs/documents?wait=true", headers=writer,
                      files=[("files", ("big.txt", b"a " * (600 * 1024)))])
    assert big.status_code == 413
    assert "over the 1 MB limit" in big.json()["detail"]
    exe = client.post("/api/v1/kb/docs/documents?wait=true", headers=writer,
                      files=[("files", ("tool.exe", b"MZ"))])
    assert exe.status_code == 422
    assert "unsupported file type" in exe.json()["detail"]
    denied = client.post("/api/v1/kb", headers=reader, json={"name": "x"})
    assert denied.status_code == 403
    ok = client.post("/api/v1/kb/docs/documents?wait=true", headers=writer,
                     files=[("files", ("a.md", b"# Secret\n\nThe vault code is 4711.\n"))])
    assert ok.status_code == 200
    assert client.post("/api/v1/kb/docs/query", headers=other,
                       json={"text": "vault code"}).status_code == 404
    bad = client.post("/api/v1/kb/docs/query", headers=reader, json={"text": "x", "k": 0})
    assert bad.status_code == 422


def test_patterns_and_winner_routes_including_legacy(client: TestClient, db: Database) -> None:
    auth = _auth(db, "acme", ["kb:read", "kb:write"])
    listed = client.get("/api/v1/kb/patterns", headers=auth).json()
    assert len(listed) == 4
    assert "pattern" not in listed[0]
    found = client.post("/api/v1/kb/patterns/search", headers=auth,
                        json={"text": "write SEO articles for keywords", "k": 1}).json()
    assert found[0]["id"] == "blog-post-writer"
    one = client.get("/api/v1/kb/patterns/blog-post-writer", headers=auth).json()
    assert one["pattern"]["graph"]["nodes"]
    body = {**one["pattern"], "name": "Our blog writer"}
    assert client.put("/api/v1/kb/patterns/blog-post-writer", headers=auth,
                      json=body).json()["origin"] == "user"
    assert client.put("/api/v1/kb/patterns/other-id", headers=auth, json=body).status_code == 422
    assert client.delete("/api/v1/kb/patterns/blog-post-writer", headers=auth).status_code == 204
    added = client.post("/api/ml/rag/add-winner", headers=auth, json={
        "ad_id": "A1", "text": "Free shipping on all orders this weekend", "channel": "meta",
        "metrics": {"impressions": 20000, "clicks": 600, "conversions": 30, "spend": 120.5,
                    "revenue": 990.0}})
    assert added.json()["status"] == "ok"
    assert added.json()["created"] is True
    rest = client.post("/api/v1/kb/winners", headers=auth, json={
        "body": "Weekend deal: shipping is free", "channel": "meta", "impressions": 100,
        "clicks": 1, "spend_minor": 500})
    assert rest.status_code == 201
    similar = client.post("/api/ml/rag/find-similar", headers=auth,
                          json={"text": "free delivery this weekend", "top_k": 2}).json()
    first = similar["results"][0]
    assert first["ad_id"] == "A1"
    assert first["spend"] == 120.5
    assert first["ctr"] == pytest.approx(0.03)
    searched = client.post("/api/v1/kb/winners/search", headers=auth,
                           json={"text": "free delivery this weekend", "k": 2}).json()
    assert searched[0]["id"] == added.json()["id"]
    winner_id = rest.json()["id"]
    assert client.get(f"/api/v1/kb/winners/{winner_id}", headers=auth).json()["clicks"] == 1
    assert client.delete(f"/api/v1/kb/winners/{winner_id}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/kb/winners/{winner_id}", headers=auth).status_code == 404


class _Site(BaseHTTPRequestHandler):
    """A tiny local site: one article page and one PDF; no robots.txt."""

    pdf = make_pdf([["Our warranty covers manufacturing defects for three years."]])

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.path == "/guide.html":
            body = (b"<html><head><title>Care guide</title></head><body><article><h1>Care "
                    b"guide</h1><p>Clean the kettle with white vinegar once a month to remove "
                    b"limescale.</p></article></body></html>")
            self._send(200, "text/html; charset=utf-8", body)
        elif self.path == "/warranty.pdf":
            self._send(200, "application/pdf", self.pdf)
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _wait(client: TestClient, auth: dict[str, str], job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 90
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/kb/jobs/{job_id}", headers=auth).json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    return body


@pytest.mark.slow
def test_queued_uploads_urls_and_optimize_run_on_a_real_worker(
    client: TestClient, db: Database, site: str, tmp_path: Path
) -> None:
    auth = _auth(db, "acme", ["kb:read", "kb:write"])
    configure_jobs()
    app = make_celery(get_settings())
    jobs_app._app = app
    corpus = write_corpus(tmp_path / "c")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        queued = client.post("/api/v1/kb/docs/documents", headers=auth, files=[
            ("files", ("widget.md", (corpus / "widget.md").read_bytes())),
            ("files", ("notes.txt", (corpus / "notes.txt").read_bytes())),
        ])
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "queued"
        done = _wait(client, auth, queued.json()["id"])
        assert done["status"] == "completed", done
        assert done["done"] == 2
        assert done["report"]["added"] == 2  # type: ignore[index]
        urls = client.post("/api/v1/kb/docs/urls", headers=auth, json={"urls": [
            f"{site}/guide.html", f"{site}/warranty.pdf", f"{site}/missing.html"]})
        fetched = _wait(client, auth, urls.json()["id"])
        assert fetched["status"] == "completed", fetched
        report = fetched["report"]
        assert report["added"] == 2
        assert report["failed"] == 1
        reembed = client.post("/api/v1/kb/docs/reembed", headers=auth)
        assert _wait(client, auth, reembed.json()["id"])["status"] == "completed"
        optimized = app.send_task("kb.optimize").get(timeout=60)
        assert any(r["kb"].endswith("/docs") and r["rows"] > 0 for r in optimized)
    hits = client.post("/api/v1/kb/docs/query", headers=auth,
                       json={"text": "how to descale the kettle", "k": 1}).json()["hits"]
    assert hits[0]["source"] == f"{site}/guide.html"
    pdf = client.post("/api/v1/kb/docs/query", headers=auth,
                      json={"text": "warranty years", "k": 1}).json()["hits"]
    assert pdf[0]["source"] == f"{site}/warranty.pdf"
    leftovers = list((get_settings().home / "uploads" / "kb").glob("*/*"))
    assert leftovers == []  # uploads are deleted once ingested


def test_beat_schedules_optimize() -> None:
    import revline.knowledge.tasks  # noqa: F401 - registers the entry

    app = make_celery(get_settings())
    assert app.conf.beat_schedule["kb-optimize-hourly"]["task"] == "kb.optimize"

