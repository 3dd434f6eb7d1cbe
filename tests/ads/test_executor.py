"""The pending_ad_changes queue: claims, leases and reclaims with concurrent workers.

SQLite (atomic conditional UPDATE) and PostgreSQL (FOR UPDATE SKIP LOCKED), each with several
worker threads applying changes to the Meta emulator over real HTTP.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from revline.ads import service
from revline.ads.executor import ChangeExecutor, claim
from revline.ads.models import AdChangeHistory, PendingAdChange
from revline.ads.schemas import BudgetChangeIn
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from tests.ads.conftest import make_ad
from tests.emulators.meta_server import MetaEmulator

N_CHANGES = 24
N_WORKERS = 4


def _seed(db: Database, settings: Settings, meta: MetaEmulator, n: int) -> list[uuid.UUID]:
    """n Meta ad sets with one queued budget change each."""
    with db.session() as session:
        tenant_id = ensure_tenant(session, "acme").id
    ids = []
    for i in range(n):
        ext = f"9{i:03d}"
        meta.add_adset(ext, daily_budget=10_000)
        ad_id = make_ad(db, tenant_id, ext, platform="meta", account="act_1001")
        with db.session() as session:
            ids.append(service.request_budget(
                session, settings, tenant_id, ad_id, BudgetChangeIn(daily_budget_minor=11_000),
                execute_after=False).id)
    return ids


def _run_workers(db: Database, settings: Settings) -> list[tuple[uuid.UUID, str]]:
    """N_WORKERS threads each loop: claim 2, process, until the queue is empty."""
    start = threading.Barrier(N_WORKERS)
    results: list[tuple[uuid.UUID, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        executor = ChangeExecutor(db, settings, rng=random.Random(n), worker=f"w{n}")
        start.wait()
        try:
            while True:
                report = executor.run(limit=2)
                if report.claimed == 0:
                    return
                with lock:
                    results.extend(report.changes)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(N_WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def _assert_each_applied_once(db: Database, meta: MetaEmulator, ids: list[uuid.UUID],
                              results: list[tuple[uuid.UUID, str]]) -> None:
    assert Counter(o for _, o in results) == {"applied": len(ids)}
    assert sorted(c for c, _ in results) == sorted(ids)
    with db.session() as session:
        rows = session.scalars(select(AdChangeHistory)).all()
        statuses = {c.status for c in session.scalars(select(PendingAdChange))}
    assert Counter(r.change_id for r in rows if r.outcome == "applied") == dict.fromkeys(ids, 1)
    assert len({r.worker for r in rows}) > 1, "the batch should be spread over workers"
    assert statuses == {"applied"}
    for adset in meta.adsets.values():
        assert len(meta.writes(adset.id)) == 1
        assert adset.daily_budget == 11_000


def test_concurrent_workers_on_sqlite(db: Database, meta: MetaEmulator) -> None:
    settings = get_settings()
    ids = _seed(db, settings, meta, N_CHANGES)
    _assert_each_applied_once(db, meta, ids, _run_workers(db, settings))


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """A migrated PostgreSQL database (skipped without REVLINE_TEST_PG_URL)."""
    db = Database(pg_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.mark.postgres
def test_concurrent_workers_on_postgres(pg_db: Database, meta: MetaEmulator) -> None:
    settings = get_settings()
    ids = _seed(pg_db, settings, meta, N_CHANGES)
    _assert_each_applied_once(pg_db, meta, ids, _run_workers(pg_db, settings))


@pytest.mark.postgres
def test_postgres_claim_skips_locked_rows_without_waiting(
    pg_db: Database, meta: MetaEmulator
) -> None:
    ids = _seed(pg_db, get_settings(), meta, 3)
    blocker = pg_db.engine.connect()
    tx = blocker.begin()
    blocker.execute(text("SELECT id FROM pending_ad_changes WHERE id = :id FOR UPDATE"),
                    {"id": ids[0]})
    try:
        started = time.monotonic()
        claims = claim(pg_db, "w-skip", 10, 300, datetime.now(UTC))
        assert time.monotonic() - started < 5
        assert sorted(c.change_id for c in claims) == sorted(ids[1:])
    finally:
        tx.rollback()
        blocker.close()
    # Released: the locked row is claimable now, and only once.
    again = claim(pg_db, "w-later", 10, 300, datetime.now(UTC))
    assert [c.change_id for c in again] == [ids[0]]


def _reclaim(db: Database, settings: Settings, meta: MetaEmulator) -> None:
    [change_id] = _seed(db, settings, meta, 1)
    t0 = datetime.now(UTC)
    lease = settings.ads_executor_lease_s
    [first] = claim(db, "dead-worker", 5, lease, t0)
    assert first.change_id == change_id
    # While the lease is fresh nobody else gets the row.
    assert claim(db, "other", 5, lease, t0 + timedelta(seconds=lease - 1)) == []
    # The first worker died; after the lease the row is reclaimed by another.
    later = t0 + timedelta(seconds=lease + 1)
    [second] = claim(db, "rescuer", 5, lease, later)
    assert second.change_id == change_id
    assert second.token != first.token
    assert second.attempt == 2
    rescuer = ChangeExecutor(db, settings, worker="rescuer", clock=lambda: later)
    assert rescuer.process([second]).outcomes == {"applied": 1}
    # The original worker wakes up: its claim is void and it touches nothing.
    zombie = ChangeExecutor(db, settings, worker="dead-worker", clock=lambda: later)
    assert zombie.process([first]).outcomes == {"lease_lost": 1}
    with db.session() as session:
        outcomes = sorted((h.worker or "", h.outcome) for h in session.scalars(
            select(AdChangeHistory).where(AdChangeHistory.change_id == change_id)))
        change = session.get(PendingAdChange, change_id)
        assert change is not None
        assert change.status == "applied"
        assert change.attempts == 2
    assert outcomes == [("dead-worker", "lease_lost"), ("rescuer", "applied")]
    assert len(meta.writes(next(iter(meta.adsets)))) == 1


def test_stale_lease_is_reclaimed_on_sqlite(db: Database, meta: MetaEmulator) -> None:
    _reclaim(db, get_settings(), meta)


@pytest.mark.postgres
def test_stale_lease_is_reclaimed_on_postgres(pg_db: Database, meta: MetaEmulator) -> None:
    _reclaim(pg_db, get_settings(), meta)


def test_newer_decision_supersedes_unclaimed_change(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    settings = get_settings()
    meta.add_adset("777", daily_budget=10_000)
    ad_id = make_ad(db, tenant_id, "777", platform="meta", account="act_1001")
    with db.session() as session:
        old = service.request_budget(session, settings, tenant_id, ad_id,
                                     BudgetChangeIn(daily_budget_minor=11_000),
                                     execute_after=False).id
        new = service.request_budget(session, settings, tenant_id, ad_id,
                                     BudgetChangeIn(daily_budget_minor=9_000),
                                     execute_after=False).id
    report = ChangeExecutor(db, settings, rng=random.Random(0)).run()
    assert report.changes == [(new, "applied")]
    with db.session() as session:
        stale = session.get(PendingAdChange, old)
        assert stale is not None
        assert stale.status == "superseded"
    assert meta.adsets["777"].daily_budget == 9_000
