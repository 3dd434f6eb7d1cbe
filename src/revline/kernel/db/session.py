"""Engine and session factory; SQLite gets WAL and a busy timeout, PostgreSQL a sized pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from revline.kernel.config import Settings, get_settings
from revline.kernel.errors import ConfigError

_MIGRATIONS = "revline:migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Database:
    """One engine + sessionmaker per URL; `migrate()` brings the schema to Alembic head."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._migrated = False
        self._lock = threading.Lock()

    def migrate(self) -> None:
        """Run Alembic upgrade to head (idempotent, once per process)."""
        with self._lock:
            if self._migrated:
                return
            from alembic import command
            from alembic.config import Config

            cfg = Config()
            cfg.set_main_option("script_location", _MIGRATIONS)
            cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            self._migrated = True

    def table_names(self) -> list[str]:
        """Tables present; used by readiness checks and tests."""
        return inspect(self.engine).get_table_names()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Unit of work: commit on success, roll back on error. Services never commit."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close pooled connections (tests, forked workers)."""
        self.engine.dispose()


_databases: dict[str, Database] = {}
_dblock = threading.Lock()


def get_database(settings: Settings | None = None, *, migrate: bool = True) -> Database:
    """Shared Database for the effective URL, migrated on first use."""
    settings = settings or get_settings()
    url = settings.effective_database_url
    with _dblock:
        db = _databases.get(url)
        if db is None:
            if url.startswith("sqlite"):
                settings.ensure_home()
            db = _databases[url] = Database(url)
    if migrate:
        db.migrate()
    return db


def reset_database() -> None:
    """Forget cached engines (tests switch REVLINE_HOME between cases)."""
    with _dblock:
        for db in _databases.values():
            db.dispose()
        _databases.clear()
