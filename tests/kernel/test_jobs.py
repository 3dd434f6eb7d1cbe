"""Jobs: enqueue after commit (dropped on rollback) and a real worker on the real brokers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.kernel.jobs import enqueue_after_commit, make_celery, pending_jobs, task
from revline.kernel.jobs.app import _BEAT


@contextmanager
def running_worker(app: Celery) -> Iterator[None]:
    """A real Celery worker thread consuming from the app's broker."""
    import revline.kernel.jobs.builtin  # noqa: F401 - registers kernel.ping

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield


def test_task_name_must_be_domain_verb() -> None:
    with pytest.raises(ValueError, match="domain.verb"):
        task("ping")


def test_jobs_carry_ids_only(db: Database) -> None:
    with db.session() as session, pytest.raises(TypeError, match="IDs"):
        enqueue_after_commit(session, "kernel.ping", {"not": "an id"})


def test_rollback_drops_pending_jobs(db: Database) -> None:
    session = db.sessionmaker()
    enqueue_after_commit(session, "kernel.ping", "x")
    assert pending_jobs(session)
    session.rollback()
    assert "revline.pending_jobs" not in session.info
    session.close()


def test_beat_schedule_has_cache_purge() -> None:
    import revline.kernel.jobs.builtin  # noqa: F401

    app = make_celery(get_settings())
    assert app.conf.beat_schedule["purge-cache-hourly"]["task"] == "kernel.purge_cache"
    assert "purge-cache-hourly" in _BEAT


def _roundtrip(app: Celery, db: Database) -> None:
    """Enqueue inside a transaction; the worker only sees it after commit and answers."""
    import revline.kernel.jobs.app as jobs_app

    jobs_app._app = app  # the after-commit hook sends through this app
    with running_worker(app):
        with db.session() as session:
            ensure_tenant(session, "jobs")
            enqueue_after_commit(session, "kernel.ping", "committed")
        result = app.send_task("kernel.ping", args=["direct"])
        assert result.get(timeout=30) == "pong:direct"
        # The after-commit job ran too: its result is in the backend.
        deadline = 30.0
        import time

        start = time.monotonic()
        found = False
        while time.monotonic() - start < deadline and not found:
            found = _backend_has(app, "pong:committed")
            time.sleep(0.2)
        assert found, "job enqueued after commit never ran"


def _backend_has(app: Celery, value: str) -> bool:
    backend = app.backend
    if hasattr(backend, "ResultSession"):
        from celery.backends.database.models import Task as TaskMeta

        session = backend.ResultSession()
        try:
            # The DB backend stores the serialized (JSON) payload.
            return any(
                value.encode() in bytes(t.result or b"") for t in session.query(TaskMeta).all()
            )
        finally:
            session.close()
    client = backend.client
    for key in client.scan_iter("celery-task-meta-*"):
        if value.encode() in client.get(key):
            return True
    return False


@pytest.mark.slow
def test_real_worker_on_embedded_sqlite_broker(settings: Settings, db: Database) -> None:
    app = make_celery(settings)
    assert app.conf.broker_url.startswith("sqla+sqlite")
    _roundtrip(app, db)


@pytest.mark.redis
def test_real_worker_on_redis_broker(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    monkeypatch.setenv("REVLINE_BROKER_URL", redis_url)
    monkeypatch.setenv("REVLINE_RESULT_BACKEND", redis_url)
    get_settings.cache_clear()
    app = make_celery(get_settings())
    assert app.conf.broker_url.startswith("redis://")
    _roundtrip(app, db)


def test_worker_beat_schedule_has_every_domains_entries() -> None:
    """What `revline worker` does, in a fresh interpreter: no test module has imported tasks."""
    import subprocess
    import sys

    code = (
        "from revline.registry import configure_jobs\n"
        "from revline.kernel.jobs import get_celery\n"
        "configure_jobs()\n"
        "print(' '.join(sorted(get_celery().conf.beat_schedule)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    for entry in ("purge-cache-hourly", "ads-crm-sync-hourly", "experiments-sweep-pending",
                  "kb-optimize-hourly", "workflows-resume-stalled"):
        assert entry in out, out
