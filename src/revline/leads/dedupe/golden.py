"""Golden records: one best value per field per cluster, by survivorship rules, in DuckDB SQL.

Rules (configurable order, per field too): `source_priority` (the `source` column ranked by the
configured list), `most_recent` (a parsed "last updated" column; rows without one rank last) and
`most_complete` (the record with more identity fields filled). Ties fall to input order. Each
field records which member it came from, so a reader can check the choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from revline.leads.dedupe.config import SurvivorshipSpec
from revline.leads.dedupe.duck import one

GOLDEN_FIELDS: tuple[str, ...] = (
    "company", "name", "title", "email", "phone", "phone_e164", "website", "domain", "address",
    "city", "state", "postal_code", "country", "source", "updated_at",
)
# Values that come from the identity keys when the input did not carry them.
_DERIVED: dict[str, str] = {
    "phone_e164": "coalesce(nullif(r.phone_e164, ''), k.phone_key, '')",
    "domain": "coalesce(nullif(r.domain, ''), k.domain_key, '')",
}
_ORDER: dict[str, str] = {
    "source_priority": "k.source_rank asc",
    # Only a real date counts: without one, input order decides (the first row, as primary).
    "most_recent": "k.recency desc nulls last",
    "most_complete": "k.completeness desc",
}


def order_by(rules: Sequence[str]) -> str:
    """ORDER BY for one field's survivorship rules (input order breaks the last tie)."""
    return ", ".join([*(_ORDER[r] for r in rules), "r.row_pos asc"])


def build_golden(
    con: duckdb.DuckDBPyConnection,
    *,
    raw: str,
    keyed: str,
    assignments: str,
    target: str,
    spec: SurvivorshipSpec,
    fields: Sequence[str] = GOLDEN_FIELDS,
) -> int:
    """Create `target`: one golden record per cluster with 2+ members; returns how many."""
    cols = []
    for field in fields:
        order = order_by(spec.fields.get(field, spec.rules))
        value = _DERIVED.get(field, f"r.{field}")
        cols.append(
            f"coalesce(first({value} order by {order}) filter (where {value} <> ''), '') "
            f"as {field}"
        )
        cols.append(
            f"first(r.record_id order by {order}) filter (where {value} <> '') as {field}_from"
        )
    con.execute(f"""
        create or replace table {target} as
        select a.cluster_id, count(*) as cluster_size,
               string_agg(r.record_id, ', ' order by r.row_pos) as members,
               {', '.join(cols)}
        from {assignments} a
        join {raw} r on r.record_id = a.unique_id
        join {keyed} k on k.unique_id = a.unique_id
        where a.cluster_size > 1
        group by a.cluster_id
    """)
    row = one(con, f"select count(*) from {target}")
    return int(row[0]) if row else 0


def rule_text(spec: SurvivorshipSpec, field: str) -> str:
    """Human-readable rule chain for one field, e.g. 'source priority > most recent'."""
    return " > ".join(r.replace("_", " ") for r in spec.fields.get(field, spec.rules))
