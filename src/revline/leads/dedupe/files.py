"""Read a leads file into a dedupe run and write its outputs (clusters, golden records, review).

The importer checks the file first (existence, type, encoding, header, column mapping), so bad
input gets the same one-line errors as `revline run`. UTF-8 CSVs are then scanned by DuckDB
directly (a million rows in seconds); other encodings and XLSX stream through the importer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from revline.kernel.errors import InvalidInput, UnreadableInput
from revline.leads.dedupe.deduper import Deduper
from revline.leads.dedupe.golden import GOLDEN_FIELDS
from revline.leads.dedupe.keys import recency_value
from revline.leads.dedupe.prepare import RAW_SCHEMA
from revline.leads.importer import TableReader, normalize_header, open_table

_FAST_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "ascii"})
_BATCH = 50_000
# Raw dedupe column <- canonical importer field.
_FIELD_OF: dict[str, str] = {
    "company": "company", "email": "email", "phone": "phone", "website": "website",
    "city": "city", "state": "state", "country": "country", "postal_code": "postal_code",
    "address": "address", "title": "title", "source": "source",
}


@dataclass
class LoadedFile:
    """What was read: row count, the columns used, and anything worth telling the user."""

    rows: int
    columns: list[str]
    field_map: dict[str, str]
    fast_path: bool
    warnings: list[str] = field(default_factory=list)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _recency_column(columns: Sequence[str], wanted: Sequence[str]) -> str | None:
    keys = {normalize_header(w) for w in wanted}
    return next((c for c in columns if normalize_header(c) in keys), None)


def load_file(
    deduper: Deduper,
    path: Path,
    *,
    id_column: str | None = None,
    mapping: dict[str, str] | None = None,
    sheet: str | None = None,
) -> LoadedFile:
    """Load a CSV/XLSX leads file as the run's raw records (ids from `id_column` or row no.)."""
    recency = deduper.config.survivorship.recency_columns
    with open_table(path, mapping or None, sheet=sheet) as reader:
        columns, field_map = list(reader.columns), dict(reader.field_map)
        if id_column is not None and id_column not in columns:
            raise InvalidInput(
                f"{path}: no id column {id_column!r}; columns are: {', '.join(columns)}"
            )
        encoding = str(getattr(reader, "encoding", "") or "")
        delimiter = str(getattr(reader, "delimiter", "") or "")
        info = LoadedFile(0, columns, field_map, False, list(reader.warnings))
        table: pa.Table | None = None
        if encoding in _FAST_ENCODINGS and delimiter:
            table = _scan_csv(deduper.con, path, columns, field_map, id_column, delimiter,
                              _recency_column(columns, recency))
            info.fast_path = table is not None
        if table is None:
            table = _stream_rows(reader, id_column, tuple(recency))
    label = f"id column {id_column!r}" if id_column else "row number"
    try:
        info.rows = deduper.load(table)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}: {exc.message} ({label})") from exc
    return info


def _scan_csv(
    con: duckdb.DuckDBPyConnection, path: Path, columns: list[str], field_map: dict[str, str],
    id_column: str | None, delimiter: str, recency: str | None,
) -> pa.Table | None:
    """The whole file through DuckDB's CSV reader; None when it disagrees with the importer."""

    def col(name: str | None) -> str:
        return f"trim(coalesce({_ident(name)}, ''))" if name else "''"

    names = ", ".join(_sql_str(c) for c in columns)
    any_cell = " or ".join(f"coalesce(trim({_ident(c)}), '') <> ''" for c in columns)
    first, last = field_map.get("first_name"), field_map.get("last_name")
    contact = field_map.get("contact_name")
    name_sql = col(contact) if contact else (
        f"trim(concat_ws(' ', {col(first)}, {col(last)}))" if first or last else "''"
    )
    selects = {
        "record_id": col(id_column) if id_column else "cast(pos as varchar)",
        "name": name_sql,
        "updated_at": col(recency),
        "domain": "''",
        "phone_e164": "''",
        **{raw: col(field_map.get(fld)) for raw, fld in _FIELD_OF.items()},
    }
    select = ", ".join(
        f"{selects[f.name]} as {f.name}" for f in RAW_SCHEMA if f.name != "row_pos"
    )
    sql = f"""
        select {select}, pos - 1 as row_pos
        from (
            select row_number() over () as pos, *
            from (select * from read_csv({_sql_str(str(path))}, header = true,
                  delim = {_sql_str(delimiter)}, quote = '"', escape = '"', names = [{names}],
                  all_varchar = true, null_padding = true, strict_mode = false,
                  encoding = 'utf-8')
                  where {any_cell})
        )
    """
    con.execute("set preserve_insertion_order = true")
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error:
        return None  # unusual quoting or widths: the importer handles those row by row
    finally:
        con.execute("set preserve_insertion_order = false")


def _stream_rows(reader: TableReader, id_column: str | None, recency: tuple[str, ...]) -> pa.Table:
    """Rows through the importer (any encoding, XLSX), batched into Arrow."""
    names = [f.name for f in RAW_SCHEMA]
    batches: list[pa.RecordBatch] = []
    buf: dict[str, list[Any]] = {n: [] for n in names}
    for pos, row in enumerate(reader.rows()):
        f = row.fields
        name = f.get("contact_name") or " ".join(
            p for p in (f.get("first_name", ""), f.get("last_name", "")) if p
        )
        values = {
            "record_id": (row.raw.get(id_column, "") if id_column else str(row.row_index)).strip(),
            "name": name, "updated_at": recency_value(row.raw, recency), "domain": "",
            "phone_e164": "", "row_pos": pos,
            **{raw: f.get(fld, "") for raw, fld in _FIELD_OF.items()},
        }
        for n in names:
            buf[n].append(values[n])
        if len(buf["record_id"]) >= _BATCH:
            batches.append(pa.RecordBatch.from_pydict(buf, schema=RAW_SCHEMA))
            buf = {n: [] for n in names}
    if buf["record_id"] or not batches:
        batches.append(pa.RecordBatch.from_pydict(buf, schema=RAW_SCHEMA))
    return pa.Table.from_batches(batches, schema=RAW_SCHEMA)


def write_clusters(deduper: Deduper, out: Path) -> int:
    """CLUSTERS.csv: `record_id,cluster_id` for every input row, in input order."""
    select = (
        f"select record_id, cluster_id from ({deduper.cluster_sql()}) order by row_pos"
    )
    return _copy_rows(deduper.con, select, out)


def _copy_rows(con: duckdb.DuckDBPyConnection, select: str, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    con.execute("set preserve_insertion_order = true")
    try:
        con.execute(f"copy ({select}) to {_sql_str(str(tmp))} (header, delimiter ',')")
        tmp.replace(out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    finally:
        con.execute("set preserve_insertion_order = false")
    rows = con.execute(f"select count(*) from ({select})").fetchall()
    return int(rows[0][0]) if rows else 0


def write_golden(deduper: Deduper, out: Path) -> int:
    """GOLDEN.csv: one survivor record per cluster of 2+, with where each value came from."""
    deduper.golden()
    cols = ", ".join(f"{f}, {f}_from" for f in GOLDEN_FIELDS)
    return _copy_rows(
        deduper.con,
        f"select cluster_id, cluster_size, members, {cols} from golden order by cluster_id",
        out,
    )


def write_links(deduper: Deduper, out: Path) -> int:
    """LINKS.csv: for every clustered record, the pair that put it there and why."""
    select = f"""
        select cluster_id, record_id, linked_to, round(match_probability, 6) as match_probability,
               round(match_weight, 2) as match_weight, why
        from ({deduper.cluster_sql()}) where cluster_size > 1 and linked_to <> ''
        order by cluster_id, row_pos
    """
    return _copy_rows(deduper.con, select, out)


def check_output(out: Path, inputs: Sequence[Path]) -> None:
    """Refuse to overwrite an input or write into a missing/unwritable place."""
    for src in inputs:
        with contextlib.suppress(OSError):
            if out.resolve() == src.resolve():
                raise InvalidInput(f"-o {out} would overwrite the input file; pick another name")
    if out.exists() and out.is_dir():
        raise UnreadableInput(f"-o {out} is a directory; give a file name such as clusters.csv")
