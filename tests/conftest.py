"""Shared fixtures: every test gets its own REVLINE_HOME, fresh settings, engines and Celery app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database, get_database, reset_database
from revline.kernel.jobs import reset_celery

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def revline_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolate each test: own home dir, no stray env config, no network by default."""
    home = tmp_path / "revline-home"
    for key in list(os.environ):
        if key.startswith("REVLINE_") and not key.startswith("REVLINE_TEST_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("REVLINE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    reset_database()
    reset_celery()
    yield home
    get_settings.cache_clear()
    reset_database()
    reset_celery()


@pytest.fixture
def settings(revline_home: Path) -> Settings:
    """Settings for the isolated home."""
    return get_settings()


@pytest.fixture
def db(settings: Settings) -> Database:
    """Migrated SQLite database under the test home."""
    return get_database(settings)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test; skipped unless REVLINE_TEST_PG_URL is set."""
    base = os.environ.get("REVLINE_TEST_PG_URL")
    if not base:
        pytest.skip("REVLINE_TEST_PG_URL not set")
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"revline_test_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        reset_database()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    """Redis broker URL; skipped unless REVLINE_TEST_REDIS_URL is set."""
    url = os.environ.get("REVLINE_TEST_REDIS_URL")
    if not url:
        pytest.skip("REVLINE_TEST_REDIS_URL not set")
    return url
