"""Database, migrations, tenancy and API keys on SQLite, and on PostgreSQL when available."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from revline.kernel.auth import create_api_key, ensure_tenant, resolve_api_key
from revline.kernel.db import Database
from revline.kernel.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from revline.leads.models import LeadRun
from revline.leads.repository import LeadRunRepository

PEPPER = "test-pepper"
EXPECTED_TABLES = {"tenants", "api_keys", "lead_runs", "leads", "lead_learned_rules"}


def _exercise(db: Database) -> None:
    assert EXPECTED_TABLES <= set(db.table_names())
    with db.session() as session:
        acme = ensure_tenant(session, "acme")
        other = ensure_tenant(session, "other")
        assert ensure_tenant(session, "acme").id == acme.id
        row, key = create_api_key(session, acme, "ci", ["leads:read"], PEPPER)
        assert key.startswith("rl_")
        assert row.key_hash != key
        for tenant in (acme, other):
            LeadRunRepository(session, tenant.id).add(
                input_path="/x.csv", input_name=f"{tenant.slug}.csv", input_sha256="0" * 64,
                options_key="k", status="queued",
            )
    with db.session() as session:
        principal = resolve_api_key(session, key, PEPPER)
        assert principal.tenant_slug == "acme"
        principal.require("leads:read")
        with pytest.raises(Forbidden, match="leads:write"):
            principal.require("leads:write")
        runs = LeadRunRepository(session, principal.tenant_id).list()
        assert [r.input_name for r in runs] == ["acme.csv"]
        foreign = session.query(LeadRun).filter(LeadRun.input_name == "other.csv").one()
        with pytest.raises(NotFound):
            LeadRunRepository(session, principal.tenant_id).get(foreign.id)
        with pytest.raises(Unauthorized, match="invalid API key"):
            resolve_api_key(session, key[:-2] + "xx", PEPPER)
        with pytest.raises(Unauthorized, match="malformed"):
            resolve_api_key(session, "nope", PEPPER)


def test_sqlite_wal_and_tenancy(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    _exercise(db)


def test_migrations_are_idempotent(db: Database) -> None:
    db._migrated = False
    db.migrate()
    with db.engine.connect() as conn:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", "revline:migrations")
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_unknown_scope_rejected(db: Database) -> None:
    with db.session() as session, pytest.raises(InvalidInput, match="unknown scope"):
        create_api_key(session, ensure_tenant(session, "t"), "k", ["leads:fly"], PEPPER)


@pytest.mark.postgres
def test_postgres_migrations_and_tenancy(pg_url: str) -> None:
    db = Database(pg_url)
    db.migrate()
    try:
        _exercise(db)
        with db.engine.connect() as conn:
            kind = conn.execute(
                text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name='leads' AND column_name='contact'"
                )
            ).scalar()
        assert kind == "jsonb"
    finally:
        db.dispose()


def test_models_match_migrations(db: Database) -> None:
    """The migrated schema is exactly what the models declare: nothing missing, nothing extra."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from revline.kernel.db import Base
    from revline.registry import load_models

    load_models()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff  # tables, columns, indexes and constraints alike
