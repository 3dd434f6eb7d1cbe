"""Small DuckDB helpers shared by the dedupe modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def create_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: Mapping[str, tuple[str, Sequence[Any]]],
) -> None:
    """Create table `name` from Python lists (column -> (SQL type, values)) via UNNEST.

    DuckDB converts the lists natively, so no Arrow or pandas is loaded: that keeps the lead
    pipeline's memory flat, and a million values still load in well under a second.
    """
    params: dict[str, Any] = {}
    selects = []
    for i, (col, (sql_type, values)) in enumerate(columns.items()):
        params[f"c{i}"] = list(values)
        selects.append(f"unnest($c{i}::{sql_type}[]) as {col}")
    con.execute(f"create or replace table {name} as select {', '.join(selects)}", params)
