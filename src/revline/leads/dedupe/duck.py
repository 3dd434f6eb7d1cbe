"""Small DuckDB helpers shared by the dedupe modules."""

from __future__ import annotations

from typing import Any

import duckdb


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    """First row of a query, reading the result to the end (DuckDB 2 refuses new work on a
    connection while an earlier result is still open)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """An integer query result; NULL or no rows count as 0."""
    row = one(con, sql)
    return int(row[0]) if row and row[0] is not None else 0


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in a table or view."""
    return scalar(con, f"select count(*) from {table}")
