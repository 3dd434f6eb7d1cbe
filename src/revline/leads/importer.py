"""Stream leads out of CSV/TSV/XLSX files and map their columns onto canonical fields.

Files are never loaded whole: CSV is decoded and parsed line by line, XLSX is read with
openpyxl's read-only (streaming) mode. Bad rows are kept and flagged in ``ImportedRow.errors``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml

from revline.kernel.errors import InvalidInput, UnreadableInput
from revline.leads.schemas import CANONICAL_FIELDS, REQUIRED_ANY, ImportedRow

__all__ = [
    "CSV_EXTENSIONS",
    "XLSX_EXTENSIONS",
    "TableReader",
    "normalize_header",
    "open_table",
    "parse_map_option",
    "synonyms",
]

CSV_EXTENSIONS: frozenset[str] = frozenset({".csv", ".tsv", ".txt"})
XLSX_EXTENSIONS: frozenset[str] = frozenset({".xlsx", ".xlsm"})

_SAMPLE_BYTES = 1 << 20  # enough to see the encoding of any realistic export
_SNIFF_LINES = 20
_DELIMITERS = (",", ";", "\t", "|")
_ZIP_MAGIC = b"PK\x03\x04"
# Single-byte Western encodings charset-normalizer may report for a Windows/Excel export;
# cp1252 decodes all of them the same way for the characters that occur in lead lists.
_WESTERN_SINGLE_BYTE = frozenset(
    {"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "mac_roman", "cp850", "ascii"}
)
_NO_LEAD_FIELDS = "row has no company, email, website or phone"
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_header(name: str) -> str:
    """Header key for synonym matching, so "E-Mail Address" and "email_address" compare equal."""
    return _NON_ALNUM.sub("", name.casefold())


@lru_cache(maxsize=1)
def synonyms() -> dict[str, str]:
    """Normalized header -> canonical field, from the bundled column_synonyms.yml."""
    text = resources.files("revline.leads").joinpath("data/column_synonyms.yml").read_text("utf-8")
    data: dict[str, list[str]] = yaml.safe_load(text) or {}
    table: dict[str, str] = {}
    for canonical in CANONICAL_FIELDS:  # the canonical names win over any synonym
        table[normalize_header(canonical)] = canonical
    for canonical, names in data.items():
        if canonical not in CANONICAL_FIELDS:
            raise ValueError(f"column_synonyms.yml: unknown canonical field {canonical!r}")
        for name in names or []:
            table.setdefault(normalize_header(str(name)), canonical)
    return table


def parse_map_option(values: Sequence[str]) -> dict[str, str]:
    """Turn repeated ``--map field=Column`` options into a mapping, rejecting typos early."""
    valid = ", ".join(CANONICAL_FIELDS)
    mapping: dict[str, str] = {}
    for value in values:
        field, sep, column = value.partition("=")
        field, column = field.strip().lower(), column.strip()
        if not sep or not field or not column:
            raise InvalidInput(
                f"bad --map value {value!r}: expected FIELD=COLUMN, e.g. company='Business Name';"
                f" fields: {valid}"
            )
        if field not in CANONICAL_FIELDS:
            raise InvalidInput(f"unknown field {field!r} in --map {value!r}; valid fields: {valid}")
        mapping[field] = column
    return mapping


def open_table(
    path: Path, mapping: Mapping[str, str] | None = None, *, sheet: str | None = None
) -> TableReader:
    """Open a leads file (CSV/TSV/XLSX) for streaming, with columns mapped to canonical fields."""
    path = Path(path)
    if not path.exists():
        raise UnreadableInput(f"{path}: file not found")
    if not path.is_file():
        raise UnreadableInput(f"{path}: not a file")
    ext = path.suffix.lower()
    if ext == ".xls":
        raise UnreadableInput(
            f"{path}: old Excel .xls files are not supported; save it as .xlsx or .csv"
        )
    if ext not in CSV_EXTENSIONS and ext not in XLSX_EXTENSIONS:
        raise UnreadableInput(
            f"{path}: unsupported file type {ext or '(none)'!r}; expected .csv, .tsv, .txt or .xlsx"
        )
    if path.stat().st_size == 0:
        raise UnreadableInput(f"{path} is empty")
    with path.open("rb") as fh:
        head = fh.read(4)
    if ext in XLSX_EXTENSIONS or head == _ZIP_MAGIC:  # an .xlsx saved with a .csv name
        return _XlsxReader(path, mapping, sheet)
    return _CsvReader(path, mapping)


class TableReader(ABC):
    """Streaming view of one table: header, column mapping and rows (use as a context manager)."""

    path: Path
    columns: list[str]
    field_map: dict[str, str]
    unmapped: list[str]
    warnings: list[str]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns = []
        self.field_map = {}
        self.unmapped = []
        self.warnings = []
        self._generators: list[Generator[Any, None, None]] = []

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> TableReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release file handles, including those of row iterators that were not exhausted."""
        for gen in self._generators:
            gen.close()
        self._generators.clear()

    # -- subclass hooks --------------------------------------------------------------------
    @abstractmethod
    def _iter_all(self) -> Generator[list[str], None, None]:
        """Every non-blank row as cell text, header included; each format reads its own way."""

    def _iter_cells(self) -> Generator[list[str], None, None]:
        """Data rows as lists of cell text (header excluded, fully blank rows skipped)."""
        gen = self._iter_all()
        try:
            next(gen, None)  # header
            yield from gen
        finally:
            gen.close()

    def _peek(self) -> tuple[list[str] | None, list[str] | None]:
        """The header row and the first data row, reading no further."""
        gen = self._iter_all()
        try:
            return next(gen, None), next(gen, None)
        finally:
            gen.close()

    def _trim_extra(self, cells: list[str]) -> list[str]:
        """XLSX pads/extends rows with empty cells; CSV keeps them (they are real delimiters)."""
        return cells

    # -- public API ------------------------------------------------------------------------
    def rows(self, start_after: int = 0) -> Iterator[ImportedRow]:
        """Yield rows (row_index 1-based) after ``start_after``, so a stopped import can resume."""
        gen = self._rows(start_after)
        self._generators.append(gen)
        return gen

    def count_rows(self) -> int:
        """Number of data rows, counted by streaming the file once (for progress bars)."""
        cells = self._iter_cells()
        self._generators.append(cells)
        try:
            return sum(1 for _ in cells)
        finally:
            cells.close()
            self._generators.remove(cells)

    def _rows(self, start_after: int) -> Generator[ImportedRow, None, None]:
        columns = self.columns
        width = len(columns)
        # (canonical field, column position) pairs, computed once rather than per row.
        positions = [(field, columns.index(col)) for field, col in self.field_map.items()]
        required = [pos for field, pos in positions if field in REQUIRED_ANY]
        index = 0
        for cells in self._iter_cells():
            index += 1
            if index <= start_after:
                continue
            cells = self._trim_extra(cells)
            errors: list[str] = []
            n = len(cells)
            if n != width:
                errors.append(f"row has {n} cells, header has {width}")
                if n < width:
                    cells = cells + [""] * (width - n)
            raw = dict(zip(columns, cells, strict=False))
            for extra in range(width, n):  # keep surplus cells instead of losing data
                raw[f"column_{extra + 1}"] = cells[extra]
            fields = dict.fromkeys(CANONICAL_FIELDS, "")
            for field, pos in positions:
                fields[field] = cells[pos].strip()
            if not any(cells[pos].strip() for pos in required):
                errors.append(_NO_LEAD_FIELDS)
            if "\ufffd" in "".join(cells):
                errors.append("row has bytes that are not valid text (replaced with \ufffd)")
            yield ImportedRow(row_index=index, raw=raw, fields=fields, errors=errors)

    # -- shared setup ----------------------------------------------------------------------
    def _set_header(self, header: list[str]) -> None:
        columns: list[str] = []
        seen: set[str] = set()
        for pos, cell in enumerate(header, start=1):
            name = cell.strip().lstrip("\ufeff").strip()
            if not name:
                name = f"column_{pos}"
                self.warnings.append(f"{self.path}: column {pos} has no header; named it {name}")
            if name in seen:
                base, k = name, 2
                while f"{base}_{k}" in seen:
                    k += 1
                name = f"{base}_{k}"
                self.warnings.append(
                    f"{self.path}: duplicate column {base!r} (column {pos}) renamed to {name!r}"
                )
            seen.add(name)
            columns.append(name)
        self.columns = columns

    def _map_columns(self, mapping: Mapping[str, str] | None) -> None:
        field_map: dict[str, str] = {}
        used: set[str] = set()
        available = ", ".join(self.columns)
        by_norm: dict[str, str] = {}
        for col in self.columns:
            by_norm.setdefault(normalize_header(col), col)
        for field, wanted in (mapping or {}).items():
            if field not in CANONICAL_FIELDS:
                valid = ", ".join(CANONICAL_FIELDS)
                raise InvalidInput(f"unknown field {field!r} in mapping; valid fields: {valid}")
            found = wanted if wanted in self.columns else by_norm.get(normalize_header(wanted))
            if found is None:
                raise InvalidInput(
                    f"--map {field}={wanted}: column {wanted!r} not found in {self.path}; "
                    f"columns are: {available}"
                )
            field_map[field] = found
            used.add(found)
        table = synonyms()
        for col in self.columns:
            if col in used:
                continue
            canonical = table.get(normalize_header(col))
            if canonical is not None and canonical not in field_map:
                field_map[canonical] = col
                used.add(col)
        if not any(field in field_map for field in REQUIRED_ANY):
            raise InvalidInput(
                f"no lead columns found in {self.path}: expected one of "
                f"{'/'.join(REQUIRED_ANY)}; columns are: {available}; use --map company=COLUMN"
            )
        # Canonical order keeps downstream exports stable regardless of input column order.
        self.field_map = {f: field_map[f] for f in CANONICAL_FIELDS if f in field_map}
        self.unmapped = [col for col in self.columns if col not in used]

    def _require_data(self, first: list[str] | None) -> None:
        if first is None:
            raise UnreadableInput(f"{self.path} has no data rows (only a header)")


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------


def _detect_encoding(path: Path) -> str:
    """Pick the codec for a text file from a sample; raise UnreadableInput for binary data."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode Text" export
    if b"\x00" in sample:
        raise UnreadableInput(f"{path} is not a text file (binary content); export it as CSV")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) >= size)
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    from charset_normalizer import from_bytes

    window = sample[max(0, bad - 32_768) : bad + 32_768]
    best = from_bytes(window).best()
    guess = best.encoding if best is not None else None
    if guess is None or guess in _WESTERN_SINGLE_BYTE:
        try:
            text = sample.decode("cp1252")
        except UnicodeDecodeError:
            text = sample.decode("latin-1")
            guess = "latin-1"
        else:
            guess = "cp1252"
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
        if controls > len(text) // 100:
            raise UnreadableInput(
                f"{path} is not readable text (unknown encoding or binary); export it as UTF-8 CSV"
            )
    return guess


def _sniff_delimiter(lines: list[str]) -> str:
    """Choose the delimiter that splits the first lines into the most, consistent columns."""
    best, best_score = ",", (0, 0)
    for delim in _DELIMITERS:
        try:
            parsed = [r for r in csv.reader(lines, delimiter=delim) if r]
        except csv.Error:
            continue
        if not parsed or len(parsed[0]) < 2:
            continue
        width = len(parsed[0])
        consistent = sum(1 for r in parsed[1:] if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


class _CsvReader(TableReader):
    encoding: str
    delimiter: str

    def __init__(self, path: Path, mapping: Mapping[str, str] | None) -> None:
        super().__init__(path)
        self.encoding = _detect_encoding(path)
        with self._open() as fh:
            head_lines: list[str] = []
            for line in fh:
                head_lines.append(line)
                if len(head_lines) >= _SNIFF_LINES:
                    break
        if not any(line.strip() for line in head_lines):
            raise UnreadableInput(f"{path} is empty")
        if path.suffix.lower() == ".tsv":
            self.delimiter = "\t"
        else:
            self.delimiter = _sniff_delimiter(head_lines)
        header, first = self._read_header()
        self._set_header(header)
        self._require_data(first)
        self._map_columns(mapping)

    def _open(self) -> IO[str]:
        # errors="replace": a stray bad byte deep in a big file must not abort the import;
        # affected rows are flagged instead.
        return self.path.open("r", encoding=self.encoding, errors="replace", newline="")

    def _read_header(self) -> tuple[list[str], list[str] | None]:
        header, first = self._peek()
        if header is None:
            raise UnreadableInput(f"{self.path} is empty")
        return header, first

    def _iter_all(self) -> Generator[list[str], None, None]:
        with self._open() as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            try:
                for cells in reader:
                    if cells and any(c.strip() for c in cells):
                        yield cells
            except csv.Error as exc:
                raise UnreadableInput(
                    f"{self.path}: line {reader.line_num}: malformed CSV ({exc})"
                ) from exc


# ---------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    """Excel cell value as the text a user would expect to see (phones without ".0")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class _XlsxReader(TableReader):
    sheet: str

    def __init__(self, path: Path, mapping: Mapping[str, str] | None, sheet: str | None) -> None:
        super().__init__(path)
        from openpyxl import load_workbook

        # A file object, not the path: openpyxl refuses paths not ending in .xlsx, and an
        # Excel workbook saved under a .csv name is common.
        self._fh = path.open("rb")
        try:
            self._wb = load_workbook(self._fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
            self._fh.close()
            raise UnreadableInput(
                f"{path}: not a valid .xlsx workbook ({type(exc).__name__}); re-save it from Excel"
            ) from exc
        except Exception as exc:  # openpyxl raises assorted errors for damaged parts
            self._fh.close()
            raise UnreadableInput(f"{path}: cannot read .xlsx workbook ({exc})") from exc
        try:
            names = list(self._wb.sheetnames)
            if sheet is not None:
                if sheet not in names:
                    raise InvalidInput(
                        f"{path}: no sheet named {sheet!r}; sheets are: {', '.join(names)}"
                    )
                self._ws = self._wb[sheet]
            else:
                self._ws = self._wb.active or self._wb.worksheets[0]
            self.sheet = str(self._ws.title)
            # Dimensions recorded in the file are often wrong; read the actual rows instead.
            self._ws.reset_dimensions()
            header, first = self._peek()
            if header is None:
                raise UnreadableInput(f"{path} is empty (sheet {self.sheet!r} has no rows)")
            while header and not header[-1].strip():
                header.pop()
            self._width = len(header)
            self._set_header(header)
            self._require_data(first)
            self._map_columns(mapping)
        except BaseException:
            self._wb.close()
            self._fh.close()
            raise

    def close(self) -> None:
        """Close row iterators and the workbook's zip handle."""
        super().close()
        self._wb.close()
        self._fh.close()

    def _iter_all(self) -> Generator[list[str], None, None]:
        try:
            for values in self._ws.iter_rows(values_only=True):
                cells = [_cell_text(v) for v in values]
                if any(c.strip() for c in cells):
                    yield cells
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise UnreadableInput(f"{self.path}: damaged worksheet data ({exc})") from exc

    def _trim_extra(self, cells: list[str]) -> list[str]:
        width = self._width
        n = len(cells)
        if n < width:
            return cells + [""] * (width - n)
        if n > width:
            while n > width and not cells[n - 1].strip():
                n -= 1
            return cells[:n]
        return cells
