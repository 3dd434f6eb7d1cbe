"""Turn raw lead rows into the keyed table Splink compares, inside DuckDB.

Python runs once per *distinct* raw value (through the validate.py/classify normalizers in
keys.py); everything per row is DuckDB SQL: joins, flags, hot-key caps and fingerprints. That is
what keeps a million rows within minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, fields
from typing import Any

import duckdb
import pyarrow as pa

from revline.leads.classify.dictionary import normalize
from revline.leads.dedupe.duck import one
from revline.leads.dedupe.keys import (
    DedupeRecord,
    company_domain,
    company_key,
    email_key,
    person_name,
    phone_key,
    website_domain,
)
from revline.leads.validate import ContactValidator, region_for

# Raw columns every input table carries (all text, "" when unknown) plus row_pos (input order).
RAW_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(DedupeRecord))
RAW_SCHEMA = pa.schema(
    [pa.field("record_id", pa.string()), *(pa.field(c, pa.string()) for c in RAW_COLUMNS[1:])]
    + [pa.field("row_pos", pa.int64())]
)
# Prepared columns that describe a record's identity (fingerprint and completeness use them).
IDENTITY_COLUMNS: tuple[str, ...] = (
    "email_key", "phone_key", "domain_key", "company_key", "full_name", "city_key",
)
COMPLETENESS_FIELDS: tuple[str, ...] = (
    "company", "name", "email", "phone", "website", "domain", "city", "address", "postal_code",
    "title",
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y",
                 "%d.%m.%Y", "%Y/%m/%d")


def records_table(records: Iterable[DedupeRecord]) -> pa.Table:
    """DedupeRecords as the raw Arrow table `prepare` reads (row_pos is the input order)."""
    rows = [astuple(r) for r in records]
    columns: list[list[Any]] = [list(col) for col in zip(*rows, strict=True)] if rows else [
        [] for _ in RAW_COLUMNS
    ]
    columns.append(list(range(len(rows))))
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, RAW_SCHEMA, strict=True)],
        schema=RAW_SCHEMA,
    )


def _distinct(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def _register_map(
    con: duckdb.DuckDBPyConnection, name: str, keys: Sequence[tuple[Any, ...]],
    key_names: Sequence[str], fn: Callable[..., Sequence[Any]], out: Sequence[tuple[str, pa.DataType]],
) -> None:
    """Apply `fn` once per distinct key tuple and expose the results as a DuckDB view."""
    results = [fn(*k) for k in keys]
    arrays: list[pa.Array] = [
        pa.array([k[i] for k in keys], type=pa.string()) for i in range(len(key_names))
    ]
    for pos, (_, typ) in enumerate(out):
        arrays.append(pa.array([r[pos] for r in results], type=typ))
    table = pa.Table.from_arrays(arrays, names=[*key_names, *(n for n, _ in out)])
    con.register(name, table)


def prepare(
    con: duckdb.DuckDBPyConnection,
    source: str,
    target: str,
    *,
    source_priority: Sequence[str] = (),
    default_region: str = "US",
) -> None:
    """Build `target` (one row per record, keyed) from the raw table/view `source`."""
    validator = ContactValidator(default_region=default_region)
    s = source
    _register_map(
        con, "_dd_email", _distinct(con, f"select distinct email from {s} where email <> ''"),
        ["email"], email_key,
        [("key", pa.string()), ("role", pa.bool_()), ("free", pa.bool_()),
         ("disposable", pa.bool_()), ("company_domain", pa.string())],
    )
    regions = _distinct(con, f"select distinct country, state from {s} where phone <> ''")
    _register_map(
        con, "_dd_region", regions, ["country", "state"],
        lambda c, st: (region_for(c or "", default_region, st or ""),), [("region", pa.string())],
    )
    # Punctuation and spacing variants of one number collapse before phonenumbers runs.
    con.execute(f"""
        create or replace temp view _dd_phone_in as
        select s.record_id, lower(regexp_replace(s.phone, '[\\s().\\-/]', '', 'g')) as phone_c,
               r.region
        from {s} s join _dd_region r
          on r.country = s.country and r.state = s.state
        where s.phone <> '' and s.phone_e164 = ''
    """)
    _register_map(
        con, "_dd_phone", _distinct(con, "select distinct phone_c, region from _dd_phone_in"),
        ["phone_c", "region"], lambda p, r: (phone_key(p, r, "", validator),),
        [("e164", pa.string())],
    )
    con.execute(f"""
        create or replace temp view _dd_host_in as
        select record_id, split_part(split_part(split_part(
            regexp_replace(lower(trim(website)), '^[a-z][a-z0-9+.\\-]*://', ''),
            '/', 1), '?', 1), '#', 1) as host
        from {s} where website <> '' and domain = ''
    """)
    _register_map(
        con, "_dd_site", _distinct(con, "select distinct host from _dd_host_in where host <> ''"),
        ["host"], lambda h: (website_domain(h, validator),), [("domain", pa.string())],
    )
    _register_map(
        con, "_dd_domain", _distinct(con, f"select distinct domain from {s} where domain <> ''"),
        ["domain"], lambda d: (company_domain(d),), [("key", pa.string())],
    )
    _register_map(
        con, "_dd_company",
        _distinct(con, f"select distinct company from {s} where company <> ''"),
        ["company"], lambda c: (company_key(c),), [("key", pa.string())],
    )
    _register_map(
        con, "_dd_name", _distinct(con, f"select distinct name from {s} where name <> ''"),
        ["name"], person_name,
        [("first", pa.string()), ("last", pa.string()), ("full", pa.string()),
         ("sorted", pa.string())],
    )
    _register_map(
        con, "_dd_city", _distinct(con, f"select distinct city from {s} where city <> ''"),
        ["city"], lambda c: (normalize(c),), [("key", pa.string())],
    )
    _register_map(
        con, "_dd_address",
        _distinct(con, f"select distinct address from {s} where address <> ''"),
        ["address"], lambda a: (normalize(a),), [("key", pa.string())],
    )
    rank = " ".join(
        f"when {_sql_str(name.strip().lower())} then {i}" for i, name in enumerate(source_priority)
    )
    source_rank = (
        f"case lower(trim(r.source)) {rank} else {len(source_priority)} end" if rank else "0"
    )
    formats = ", ".join(_sql_str(f) for f in _DATE_FORMATS)
    completeness = " + ".join(f"(r.{c} <> '')::int" for c in COMPLETENESS_FIELDS)
    identity = ", ".join(f"coalesce({c}, '')" for c in IDENTITY_COLUMNS)
    con.execute(f"""
        create or replace table {target} as
        with base as (
            select r.record_id as unique_id, r.row_pos,
                nullif(e.key, '') as email_key,
                case when not e.role then nullif(e.key, '') end as email_person,
                case when e.role then nullif(e.key, '') end as email_role,
                coalesce(e.free, false) as email_free,
                coalesce(e.disposable, false) as email_disposable,
                nullif(coalesce(nullif(r.phone_e164, ''), p.e164, ''), '') as phone_key,
                nullif(coalesce(nullif(d.key, ''), nullif(w.domain, ''), e.company_domain, ''),
                       '') as domain_key,
                nullif(c.key, '') as company_key,
                nullif(n.first, '') as first_name, nullif(n.last, '') as last_name,
                nullif(n.full, '') as full_name, nullif(n.sorted, '') as name_sorted,
                nullif(ci.key, '') as city_key,
                nullif(regexp_replace(upper(r.postal_code), '[^0-9A-Z]', '', 'g'), '')
                    as postcode_key,
                nullif(a.key, '') as address_key,
                {source_rank} as source_rank,
                coalesce(try_cast(nullif(r.updated_at, '') as timestamp),
                         try_strptime(nullif(r.updated_at, ''), [{formats}])) as recency,
                {completeness} as completeness
            from {s} r
            left join _dd_email e on e.email = r.email
            left join (select record_id, phone_c, region from _dd_phone_in) pi
                on pi.record_id = r.record_id
            left join _dd_phone p on p.phone_c = pi.phone_c and p.region = pi.region
            left join _dd_host_in hi on hi.record_id = r.record_id
            left join _dd_site w on w.host = hi.host
            left join _dd_domain d on d.domain = r.domain
            left join _dd_company c on c.company = r.company
            left join _dd_name n on n.name = r.name
            left join _dd_city ci on ci.city = r.city
            left join _dd_address a on a.address = r.address
        )
        select *, md5(concat_ws('|', {identity})) as fp from base
    """)
    for view in ("_dd_phone_in", "_dd_host_in"):
        con.execute(f"drop view if exists {view}")
    for name in ("_dd_email", "_dd_region", "_dd_phone", "_dd_site", "_dd_domain", "_dd_company",
                 "_dd_name", "_dd_city", "_dd_address"):
        con.unregister(name)


def block_columns(rules: Sequence[Sequence[str]]) -> list[str]:
    """Names of the capped blocking-key columns, one per blocking rule."""
    return [f"blk_{i}" for i in range(len(rules))]


def add_block_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rules: Sequence[Sequence[str]],
    cap: int,
    count_over: Sequence[str] = (),
) -> dict[str, int]:
    """Add blk_i = the rule's key when fewer than `cap` records share it, else NULL.

    A key shared by thousands of records (a call-centre number, a franchise's info@) would make
    blocking quadratic and says little about identity; such pairs are still scored when
    another rule brings them together. `count_over` adds tables (earlier state) to the counts.
    Returns how many records lost each rule's key to the cap.
    """
    names = block_columns(rules)
    keys = [_key_sql(cols, "t.") for cols in rules]
    for i, cols in enumerate(rules):
        key = _key_sql(cols)
        sources = " union all ".join(f"select {key} as k from {t}" for t in (table, *count_over))
        con.execute(f"""
            create or replace temp table _dd_hot_{i} as
            select k from ({sources}) where k is not null group by k having count(*) > {cap}
        """)
    existing_order = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    keep = ", ".join(f"t.{c}" for c in existing_order if c not in names)
    selects = ", ".join(
        f"case when h{i}.k is null then {key} end as {name}"
        for i, (key, name) in enumerate(zip(keys, names, strict=True))
    )
    joins = " ".join(
        f"left join _dd_hot_{i} h{i} on h{i}.k = {key}"
        for i, key in enumerate(keys)
    )
    con.execute(f"create or replace temp table _dd_blocked as select {keep}, {selects} "
                f"from {table} t {joins}")
    con.execute(f"create or replace table {table} as select * from _dd_blocked")
    con.execute("drop table _dd_blocked")
    capped: dict[str, int] = {}
    for i, (key, name) in enumerate(zip(keys, names, strict=True)):
        row = one(con,
            f"select count(*) from {table} t where {key} is not null "
            f"and {name} is null"
        )
        capped[name] = int(row[0]) if row else 0
        con.execute(f"drop table _dd_hot_{i}")
    return capped


def _key_sql(cols: Sequence[str], prefix: str = "") -> str:
    """One text key over columns, NULL when any is NULL (so missing values never block)."""
    parts = [f"cast({prefix}{c} as varchar)" for c in cols]
    if len(parts) == 1:
        return parts[0]
    nulls = " or ".join(f"{prefix}{c} is null" for c in cols)
    return f"(case when {nulls} then null else concat_ws('|', {', '.join(parts)}) end)"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
