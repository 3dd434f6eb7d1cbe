"""Batch generation on real Celery workers: per-item results, resumption after a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient
from sqlalchemy import select

import revline.kernel.jobs.app as jobs_app
from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.jobs import make_celery
from revline.registry import configure_jobs
from revline.workflows import service
from revline.workflows.models import WorkflowGeneration
from tests.emulators.llm_server import LLMEmulator
from tests.workflows.script import Script, good_draft, user_input

pytestmark = pytest.mark.usefixtures("embedder")
REQUIREMENTS = [
    "A chatbot that answers customer questions from the globex-docs knowledge base",
    "Every Monday at 8am post our weekly metrics to a Slack webhook",
    "Extract invoice number, date and total from uploaded PDF invoices",
]


def worker_app() -> Celery:
    configure_jobs()
    app = make_celery(get_settings())
    jobs_app._app = app  # the after-commit hook sends through this app
    return app


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool],
             timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fetch()
    return value


@pytest.mark.slow
def test_batch_items_run_as_jobs_and_finished_items_are_never_redone(
    client: TestClient, auth: dict[str, str], db: Database, tenant_id: uuid.UUID
) -> None:
    app = worker_app()
    resp = client.post("/api/v1/generate/batch", headers=auth, json={
        "requirements": REQUIREMENTS[:2], "items": [{"requirement": REQUIREMENTS[2],
                                                     "name": "Invoice reader"}],
        "mode": "simple", "name": "nightly"})
    assert resp.status_code == 202, resp.text
    batch = resp.json()
    assert batch["total"] == 3
    assert batch["counts"] == {"queued": 3}
    url = f"/api/v1/generate/batches/{batch['id']}"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        final = wait_for(lambda: client.get(url, headers=auth).json(),
                         lambda b: b["complete"])
        assert final["counts"] == {"done": 3}, final
        items = final["items"]
        assert [i["batch_index"] for i in items] == [0, 1, 2]
        assert all(i["mode"] == "retrieval" and i["valid"] and i["version"] == 1
                   for i in items)
        assert items[2]["title"] == "Invoice reader"
        # Each item's result is a generation of its own.
        second = client.get(f"/api/v1/generate/{items[1]['id']}", headers=auth).json()
        assert second["current"]["patterns"][0]["id"] == "weekly-metrics-report"
        # Resuming a finished batch queues nothing; a stray duplicate job is a no-op.
        resumed = client.post(f"{url}/resume", headers=auth).json()
        assert resumed["requeued"] == []
        duplicate = app.send_task("workflows.generate", args=[str(tenant_id), items[0]["id"]])
        assert duplicate.get(timeout=30)["status"] == "skipped"
    with db.session() as session:
        attempts = session.scalars(select(WorkflowGeneration.attempts).where(
            WorkflowGeneration.batch_id == uuid.UUID(batch["id"]))).all()
    assert attempts == [1, 1, 1]
    listed = client.get(f"/api/v1/generate?batch_id={batch['id']}", headers=auth).json()
    assert len(listed) == 3


def test_a_bad_item_refuses_the_whole_batch(client: TestClient, auth: dict[str, str]) -> None:
    resp = client.post("/api/v1/generate/batch", headers=auth,
                       json={"requirements": ["a good requirement", ""]})
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith("item 2: the requirement is empty")
    empty = client.post("/api/v1/generate/batch", headers=auth, json={"requirements": []})
    assert empty.status_code == 422
    assert client.get("/api/v1/generate", headers=auth).json() == []


@pytest.mark.slow
def test_a_killed_workers_item_is_resumed_and_finished_items_are_kept(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID, revline_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REVLINE_WORKFLOWS_STALE_AFTER_S", "2")
    get_settings.cache_clear()
    entered, release = threading.Event(), threading.Event()
    scripted = Script(WorkflowDraft=[good_draft()])
    seen: list[str] = []

    def answer(payload: dict[str, Any]) -> str:
        requirement = str(user_input(payload).get("requirement", ""))
        seen.append(requirement)
        if requirement == REQUIREMENTS[1] and not entered.is_set():
            entered.set()
            release.wait(60)  # the first worker dies waiting here
        return scripted(payload)

    llm.responder = answer
    with db.session() as session:
        batch = service.create_batch(session, get_settings(), tenant_id,
                                     [{"requirement": r} for r in REQUIREMENTS], "simple")
        batch_id = batch.id
    # A separate worker process, on the same embedded broker and database.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_TEST_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "revline.cli.main", "worker", "--pool", "solo",
         "--concurrency", "1", "--no-beat"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert entered.wait(120), "the worker never reached the second item"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()

    def items() -> list[WorkflowGeneration]:
        with db.session() as session:
            return list(session.scalars(select(WorkflowGeneration).where(
                WorkflowGeneration.batch_id == batch_id).order_by(
                WorkflowGeneration.batch_index)))

    before = items()
    assert [i.status for i in before] == ["done", "running", "queued"]
    assert seen.count(REQUIREMENTS[0]) == 1
    app = worker_app()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        # The queued item's job is still in the broker; the dead one is found by the sweep.
        time.sleep(2.1)
        assert app.send_task("workflows.resume_stalled").get(timeout=30) >= 1
        after = wait_for(items, lambda rows: all(r.status == "done" for r in rows))
    assert [i.status for i in after] == ["done", "done", "done"]
    assert [i.attempts for i in after] == [1, 2, 1]
    assert [i.current_version for i in after] == [1, 1, 1]
    assert seen.count(REQUIREMENTS[0]) == 1  # the finished item was not generated again
    with db.session() as session:
        detail = service.get_batch(session, tenant_id, batch_id)
        events = client_events(session, tenant_id, after[1].id)
    assert detail["counts"] == {"done": 3}
    assert "resuming an interrupted run (attempt 2)" in events


def client_events(session: Any, tenant_id: uuid.UUID, generation_id: uuid.UUID) -> list[str]:
    """Messages of a generation's events."""
    from revline.workflows.repository import EventRepository

    return [e.message for e in EventRepository(session, tenant_id).since(generation_id, 0)]
