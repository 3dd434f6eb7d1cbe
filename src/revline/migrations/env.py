"""Alembic environment: runs on the connection handed in by Database.migrate()."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from revline.kernel.db.base import Base
from revline.registry import load_models

load_models()
target_metadata = Base.metadata
config = context.config


def run_migrations_online() -> None:
    """Use the caller's connection when given, else build one from sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
