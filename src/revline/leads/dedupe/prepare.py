"""Turn raw lead rows into the keyed table Splink compares, inside DuckDB.

Python runs once per *distinct* raw value (through the validate.py/classify normalizers in
keys.py); everything per row is DuckDB SQL: joins, flags, hot-key caps and fingerprints. That is
what keeps a million rows within minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import astuple, fields
from functools import lru_cache, partial
from multiprocessing import current_process, get_context
from typing import Any

import duckdb

from revline.leads.classify.dictionary import normalize
from revline.leads.dedupe.duck import create_table, one
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
RAW_COLUMNS: tuple[str, ...] = ("record_id", *[f.name for f in fields(DedupeRecord)][1:])
RAW_TABLE_COLUMNS: tuple[str, ...] = (*RAW_COLUMNS, "row_pos")
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


def raw_columns(
    values: Mapping[str, Sequence[Any]], n: int
) -> dict[str, tuple[str, Sequence[Any]]]:
    """Typed raw columns for `create_table` (missing text columns are empty strings)."""
    out: dict[str, tuple[str, Sequence[Any]]] = {
        c: ("varchar", values.get(c) or [""] * n) for c in RAW_COLUMNS
    }
    out["row_pos"] = ("bigint", values.get("row_pos") or list(range(n)))
    return out


def records_columns(records: Iterable[DedupeRecord]) -> dict[str, tuple[str, Sequence[Any]]]:
    """DedupeRecords as the raw columns `prepare` reads (row_pos is the input order)."""
    rows = [astuple(r) for r in records]
    cols = dict(zip(RAW_COLUMNS, ([list(c) for c in zip(*rows, strict=True)] if rows else
                                  [[] for _ in RAW_COLUMNS]), strict=True))
    return raw_columns(cols, len(rows))


def _distinct(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


# Key functions: module level (picklable) so a process pool can run them; each takes the
# distinct key tuple and returns the output columns.
@lru_cache(maxsize=4)
def _validator(region: str) -> ContactValidator:
    return ContactValidator(default_region=region)


def _k_email(k: tuple[str]) -> tuple[Any, ...]:
    return tuple(email_key(k[0]))


def _k_region(k: tuple[str, str], region: str) -> tuple[str]:
    return (region_for(k[0] or "", region, k[1] or ""),)


def _k_phone(k: tuple[str, str], region: str) -> tuple[str]:
    return (phone_key(k[0], k[1], "", _validator(region)),)


def _k_site(k: tuple[str], region: str) -> tuple[str]:
    return (website_domain(k[0], _validator(region)),)


def _k_domain(k: tuple[str]) -> tuple[str]:
    return (company_domain(k[0]),)


def _k_company(k: tuple[str]) -> tuple[str]:
    return (company_key(k[0]),)


def _k_name(k: tuple[str]) -> tuple[str, ...]:
    return tuple(person_name(k[0]))


def _k_normalize(k: tuple[str]) -> tuple[str]:
    return (normalize(k[0]),)


def _apply(fn: Callable[[Any], Any], keys: Sequence[Any]) -> list[Any]:
    return [fn(k) for k in keys]


class KeyMapper:
    """Runs a key function over distinct values, in worker processes when there are many.

    phonenumbers and tldextract cost tens of microseconds per value; at a million distinct
    phones that is most of a run, and it parallelizes perfectly. Workers are spawned (not
    forked: DuckDB's threads live in this process) once, on first need.
    """

    CHUNK = 20_000

    def __init__(self, workers: int = 1, parallel_min: int = 100_000) -> None:
        self.workers = max(1, workers)
        self.parallel_min = parallel_min
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[Any], Any], keys: Sequence[Any]) -> list[Any]:
        """fn over keys, order kept."""
        # A daemonic process (a Celery prefork worker) may not start children.
        if self.workers == 1 or len(keys) < self.parallel_min or current_process().daemon:
            return _apply(fn, keys)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        chunks = [keys[i : i + self.CHUNK] for i in range(0, len(keys), self.CHUNK)]
        try:
            return [r for part in self._pool.map(partial(_apply, fn), chunks) for r in part]
        except (BrokenProcessPool, OSError):
            # Workers cannot start when the main module cannot be re-imported (an
            # interactive session); the same work then simply runs here.
            self.workers = 1
            self.close()
            return _apply(fn, keys)

    def close(self) -> None:
        """Stop the workers, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _register_map(
    con: duckdb.DuckDBPyConnection,
    mapper: KeyMapper,
    name: str,
    sql: str,
    key_names: Sequence[str],
    fn: Callable[[Any], Sequence[Any]],
    out: Sequence[tuple[str, str]],
) -> None:
    """Apply `fn` once per distinct key tuple of `sql` and store the results as table `name`."""
    keys = _distinct(con, sql)
    results = mapper.map(fn, keys)
    columns: dict[str, tuple[str, Sequence[Any]]] = {
        key: ("varchar", [k[i] for k in keys]) for i, key in enumerate(key_names)
    }
    for pos, (col, sql_type) in enumerate(out):
        columns[col] = (sql_type, [r[pos] for r in results])
    create_table(con, name, columns)


def prepare(
    con: duckdb.DuckDBPyConnection,
    source: str,
    target: str,
    *,
    source_priority: Sequence[str] = (),
    default_region: str = "US",
    workers: int = 1,
) -> None:
    """Build `target` (one row per record, keyed) from the raw table/view `source`."""
    mapper = KeyMapper(workers)
    try:
        _key_tables(con, source, mapper, default_region)
    finally:
        mapper.close()
    _keyed_table(con, source, target, source_priority)


def _key_tables(
    con: duckdb.DuckDBPyConnection, s: str, mapper: KeyMapper, region: str
) -> None:
    """One small table per normalizer: distinct raw value -> key."""
    varchar = "varchar"
    _register_map(
        con, mapper, "_dd_email", f"select distinct email from {s} where email <> ''",
        ["email"], _k_email,
        [("key", varchar), ("role", "boolean"), ("free", "boolean"),
         ("disposable", "boolean"), ("company_domain", varchar)],
    )
    _register_map(
        con, mapper, "_dd_region", f"select distinct country, state from {s} where phone <> ''",
        ["country", "state"], partial(_k_region, region=region), [("region", varchar)],
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
        con, mapper, "_dd_phone", "select distinct phone_c, region from _dd_phone_in",
        ["phone_c", "region"], partial(_k_phone, region=region), [("e164", varchar)],
    )
    con.execute(f"""
        create or replace temp view _dd_host_in as
        select record_id, split_part(split_part(split_part(
            regexp_replace(lower(trim(website)), '^[a-z][a-z0-9+.\\-]*://', ''),
            '/', 1), '?', 1), '#', 1) as host
        from {s} where website <> '' and domain = ''
    """)
    _register_map(
        con, mapper, "_dd_site", "select distinct host from _dd_host_in where host <> ''",
        ["host"], partial(_k_site, region=region), [("domain", varchar)],
    )
    for name, col, fn in (
        ("_dd_domain", "domain", _k_domain),
        ("_dd_company", "company", _k_company),
        ("_dd_city", "city", _k_normalize),
        ("_dd_address", "address", _k_normalize),
    ):
        _register_map(
            con, mapper, name, f"select distinct {col} from {s} where {col} <> ''", [col], fn,
            [("key", varchar)],
        )
    _register_map(
        con, mapper, "_dd_name", f"select distinct name from {s} where name <> ''", ["name"],
        _k_name, [("first", varchar), ("last", varchar), ("full", varchar), ("sorted", varchar)],
    )


def _keyed_table(
    con: duckdb.DuckDBPyConnection, s: str, target: str, source_priority: Sequence[str]
) -> None:
    """Join the key tables back onto every record, in one DuckDB statement."""
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
        select *,
            case when coalesce({', '.join(IDENTITY_COLUMNS[:-1])}) is not null
                 then md5(concat_ws('|', {identity})) end as fp
        from base
    """)
    for view in ("_dd_phone_in", "_dd_host_in"):
        con.execute(f"drop view if exists {view}")
    for name in ("_dd_email", "_dd_region", "_dd_phone", "_dd_site", "_dd_domain", "_dd_company",
                 "_dd_name", "_dd_city", "_dd_address"):
        con.execute(f"drop table {name}")


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
        row = one(con, f"select count(*) from {table} t where {key} is not null and {name} is null")
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
