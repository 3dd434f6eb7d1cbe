"""Read a leads file into a dedupe run and write its outputs (clusters, golden records, review).

The importer checks the file first (existence, type, encoding, header, column mapping), so bad
input gets the same one-line errors as `revline run`. UTF-8 CSVs are then scanned by DuckDB
directly (a million rows in seconds); other encodings and XLSX stream through the importer.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from revline.kernel.errors import InvalidInput, UnreadableInput
from revline.leads.dedupe.deduper import Deduper
from revline.leads.dedupe.golden import GOLDEN_FIELDS
from revline.leads.dedupe.keys import recency_value
from revline.leads.dedupe.prepare import RAW_COLUMNS, RAW_TABLE_COLUMNS, raw_columns
from revline.leads.importer import TableReader, normalize_header, open_table

_FAST_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "ascii"})
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
    check_encoding(path)
    with open_table(path, mapping or None, sheet=sheet) as reader:
        columns, field_map = list(reader.columns), dict(reader.field_map)
        if id_column is not None and id_column not in columns:
            raise InvalidInput(
                f"{path}: no id column {id_column!r}; columns are: {', '.join(columns)}"
            )
        encoding = str(getattr(reader, "encoding", "") or "")
        delimiter = str(getattr(reader, "delimiter", "") or "")
        info = LoadedFile(0, columns, field_map, False, list(reader.warnings))
        label = f"id column {id_column!r}" if id_column else "row number"
        try:
            if encoding in _FAST_ENCODINGS and delimiter:
                select = _csv_select(path, columns, field_map, id_column, delimiter,
                                     _recency_column(columns, recency))
                info.fast_path = _try_load_sql(deduper, select)
            if not info.fast_path:
                info.rows = deduper.load_columns(_stream_rows(reader, id_column, tuple(recency)))
            else:
                info.rows = deduper.stats.records
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc.message} ({label})") from exc
    return info


def check_encoding(path: Path) -> None:
    """Refuse encodings the reader would silently misread (UTF-32 looks like UTF-16 + NULs)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError:
        return  # missing or unreadable: open_table says so in its own words
    if head in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        raise UnreadableInput(
            f"{path} is UTF-32 encoded, which is not supported; save it as UTF-8 (or UTF-16) CSV"
        )


def _try_load_sql(deduper: Deduper, select: str) -> bool:
    """Load through DuckDB's CSV scanner; False when it disagrees with the file's shape
    (unusual quoting or row widths), so the importer reads it row by row instead."""
    con = deduper.con
    con.execute("set preserve_insertion_order = true")
    try:
        deduper.load_sql(select)
    except duckdb.Error:
        return False
    finally:
        con.execute("set preserve_insertion_order = false")
    return True


def _csv_select(
    path: Path, columns: list[str], field_map: dict[str, str], id_column: str | None,
    delimiter: str, recency: str | None,
) -> str:
    """SELECT of the raw columns straight from DuckDB's CSV reader (same rows, same order and
    same row numbers as the importer: blank lines skipped)."""

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
    select = ", ".join(f"{selects[c]} as {c}" for c in RAW_COLUMNS)
    return f"""
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


def _stream_rows(
    reader: TableReader, id_column: str | None, recency: tuple[str, ...]
) -> dict[str, tuple[str, Sequence[Any]]]:
    """Rows through the importer (any encoding, XLSX) as typed columns."""
    names = list(RAW_TABLE_COLUMNS)
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
    return raw_columns(buf, len(buf["record_id"]))


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
