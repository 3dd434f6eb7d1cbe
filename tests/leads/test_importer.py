"""Lead import: column mapping, encodings, delimiters, XLSX, bad files, resume, big files."""

from __future__ import annotations

import datetime as dt
import gc
import zipfile
from pathlib import Path

import psutil
import pytest
from openpyxl import Workbook

from revline.kernel.errors import InvalidInput, UnreadableInput
from revline.leads.importer import open_table, parse_map_option
from revline.leads.schemas import CANONICAL_FIELDS

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- column mapping -----------------------------------------------------------------------


def test_synonyms_map_common_export_headers(tmp_path: Path) -> None:
    src = write(
        tmp_path / "a.csv",
        "Business Name,E-mail,Phone Number,URL,Full Name,Industry,Province,Postcode,Notes,Rating\n"
        "Acme Dental,a@acme-demo.com,555,acme-demo.com,Ann Lee,Dentist,ON,M5V 2T6,hi,4.5\n",
    )
    with open_table(src) as reader:
        assert reader.field_map == {
            "company": "Business Name",
            "contact_name": "Full Name",
            "email": "E-mail",
            "phone": "Phone Number",
            "website": "URL",
            "state": "Province",
            "postal_code": "Postcode",
            "category": "Industry",
            "description": "Notes",
        }
        assert reader.unmapped == ["Rating"]
        (row,) = list(reader.rows())
    assert row.fields["company"] == "Acme Dental"
    assert row.fields["postal_code"] == "M5V 2T6"
    assert row.raw["Rating"] == "4.5"  # unmapped columns are kept
    assert set(row.fields) == set(CANONICAL_FIELDS)
    assert row.errors == []


@pytest.mark.parametrize(
    "header",
    ["Company", "company_name", "COMPANY NAME", "Organization", "Account Name", " company-name "],
)
def test_company_header_variants(tmp_path: Path, header: str) -> None:
    src = write(tmp_path / "c.csv", f"{header},Tel\nAcme,0123\n")
    with open_table(src) as reader:
        assert reader.field_map["company"] == header.strip()
        assert reader.field_map["phone"] == "Tel"
        assert next(reader.rows()).fields["company"] == "Acme"


def test_first_matching_column_wins_and_others_stay_unmapped(tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", "Email,Email Address,Company\nx@a-demo.com,y@a-demo.com,A\n")
    with open_table(src) as reader:
        assert reader.field_map["email"] == "Email"
        assert reader.unmapped == ["Email Address"]


def test_explicit_map_overrides_synonyms(tmp_path: Path) -> None:
    src = write(tmp_path / "m.csv", "Name,Biz,Mail\nAnn Lee,Acme Ltd,a@acme-demo.com\n")
    mapping = parse_map_option(["company=Biz", "contact_name=Name", "email=mail"])
    with open_table(src, mapping) as reader:
        # "mail" matched case-insensitively to the real header "Mail".
        assert reader.field_map == {"company": "Biz", "contact_name": "Name", "email": "Mail"}
        row = next(reader.rows())
    assert (row.fields["company"], row.fields["email"]) == ("Acme Ltd", "a@acme-demo.com")


def test_explicit_map_takes_column_away_from_synonym(tmp_path: Path) -> None:
    # "Name" would be contact_name by synonym; mapped to company it must not be used twice.
    src = write(tmp_path / "n.csv", "Name,Phone\nAcme Plumbing,555-0100\n")
    with open_table(src, {"company": "Name"}) as reader:
        assert reader.field_map == {"company": "Name", "phone": "Phone"}


def test_map_naming_missing_column_lists_available(tmp_path: Path) -> None:
    src = write(tmp_path / "m.csv", "Business,Mail\nAcme,a@acme-demo.com\n")
    with pytest.raises(InvalidInput) as err:
        open_table(src, {"company": "Nope"})
    msg = str(err.value)
    assert "'Nope'" in msg
    assert "Business, Mail" in msg
    assert str(src) in msg
    assert "\n" not in msg


def test_parse_map_option() -> None:
    assert parse_map_option(["company=Business Name", " email = E-mail "]) == {
        "company": "Business Name",
        "email": "E-mail",
    }
    assert parse_map_option([]) == {}
    with pytest.raises(InvalidInput, match="unknown field 'compnay'.*valid fields: external_id"):
        parse_map_option(["compnay=Business"])
    for bad in ("company", "=Business", "company="):
        with pytest.raises(InvalidInput, match="FIELD=COLUMN") as err:
            parse_map_option([bad])
        assert "company" in str(err.value)
        assert "\n" not in str(err.value)


def test_no_lead_columns_is_actionable(tmp_path: Path) -> None:
    src = write(tmp_path / "x.csv", "Foo,Bar\n1,2\n")
    with pytest.raises(InvalidInput) as err:
        open_table(src)
    assert str(err.value) == (
        f"no lead columns found in {src}: expected one of company/email/website/phone; "
        "columns are: Foo, Bar; use --map company=COLUMN"
    )


# -- unreadable files ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="not found"):
        open_table(tmp_path / "nope.csv")


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "empty.csv"
    src.write_bytes(content)
    with pytest.raises(UnreadableInput, match="is empty"):
        open_table(src)


def test_header_only_file(tmp_path: Path) -> None:
    src = write(tmp_path / "h.csv", "Company,Email\n\n")
    with pytest.raises(UnreadableInput, match=r"h\.csv has no data rows"):
        open_table(src)


def test_binary_file_is_unreadable(tmp_path: Path) -> None:
    src = tmp_path / "photo.csv"
    src.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20)
    with pytest.raises(UnreadableInput, match="binary"):
        open_table(src)


@pytest.mark.parametrize(("name", "hint"), [("leads.json", "unsupported"), ("old.xls", ".xlsx")])
def test_unsupported_extension(tmp_path: Path, name: str, hint: str) -> None:
    src = write(tmp_path / name, "Company\nAcme\n")
    with pytest.raises(UnreadableInput, match=hint) as err:
        open_table(src)
    assert name in str(err.value)


def test_corrupt_xlsx(tmp_path: Path) -> None:
    src = tmp_path / "broken.xlsx"
    src.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(UnreadableInput, match=r"broken\.xlsx.*xlsx"):
        open_table(src)


def test_truncated_xlsx(tmp_path: Path) -> None:
    good = make_xlsx(tmp_path / "good.xlsx", [["Company"], ["Acme"]])
    src = tmp_path / "cut.xlsx"
    src.write_bytes(good.read_bytes()[:200])
    with pytest.raises(UnreadableInput, match=r"cut\.xlsx"):
        open_table(src)


# -- encodings and delimiters -------------------------------------------------------------


def test_cp1252_file_decodes(tmp_path: Path) -> None:
    text = "Company,Contact,City\nMüller Bäckerei,Zoë Müller,Köln\nCafé Señor,José Núñez,Montréal\n"
    src = write(tmp_path / "win.csv", text, "cp1252")
    with pytest.raises(UnicodeDecodeError):
        src.read_bytes().decode("utf-8")  # really not UTF-8
    with open_table(src) as reader:
        rows = list(reader.rows())
    assert rows[0].fields["company"] == "Müller Bäckerei"
    assert rows[0].fields["contact_name"] == "Zoë Müller"
    assert rows[1].fields["contact_name"] == "José Núñez"
    assert all(not r.errors for r in rows)


def test_cp1252_smart_quotes_decode(tmp_path: Path) -> None:
    text = "Company,Notes\nO\u2019Brien Law,\u201cbest\u201d \u2013 ok\n"
    src = write(tmp_path / "q.csv", text, "cp1252")
    with open_table(src) as reader:
        row = next(reader.rows())
    assert row.fields["company"] == "O\u2019Brien Law"
    assert row.fields["description"] == "\u201cbest\u201d \u2013 ok"


def test_utf8_bom_is_stripped_from_header(tmp_path: Path) -> None:
    src = write(tmp_path / "bom.csv", "Company,Email\nZoë Ltd,z@zoe-demo.co.uk\n", "utf-8-sig")
    with open_table(src) as reader:
        assert reader.columns == ["Company", "Email"]
        assert next(reader.rows()).fields["company"] == "Zoë Ltd"


def test_utf16_excel_unicode_text(tmp_path: Path) -> None:
    src = write(tmp_path / "u16.txt", "Company\tPhone\nMüller GmbH\t0301234567\n", "utf-16")
    with open_table(src) as reader:
        assert next(reader.rows()).fields["company"] == "Müller GmbH"


def test_non_ascii_late_in_large_utf8_file(tmp_path: Path) -> None:
    body = "".join(f"Company {i},c{i}@x-demo.com\n" for i in range(60_000))
    src = write(tmp_path / "late.csv", "Company,Email\n" + body + "Zoë Café,z@x-demo.com\n")
    with open_table(src) as reader:
        last = list(reader.rows())[-1]
    assert last.fields["company"] == "Zoë Café"
    assert last.row_index == 60_001


@pytest.mark.parametrize(
    ("delim", "name"), [(";", "semi.csv"), ("\t", "tabs.csv"), ("|", "pipe.csv"), (",", "c.csv")]
)
def test_delimiter_sniffing(tmp_path: Path, delim: str, name: str) -> None:
    lines = [
        ["Firma", "Company", "Email", "Phone"],
        ["1", "Müller, Schmidt & Partner", "info@ms-demo.de", "+49 30 1234567"],
        ["2", "Bäckerei Zoë", "", "030 7654321"],
    ]
    text = "\n".join(
        delim.join(f'"{c}"' if (delim in c or "," in c) else c for c in line) for line in lines
    )
    src = write(tmp_path / name, text + "\n")
    with open_table(src) as reader:
        assert reader.columns == ["Firma", "Company", "Email", "Phone"]
        rows = list(reader.rows())
    assert rows[0].fields["company"] == "Müller, Schmidt & Partner"
    assert rows[1].fields["phone"] == "030 7654321"
    assert all(not r.errors for r in rows)


def test_quoted_newlines_and_crlf(tmp_path: Path) -> None:
    src = write(tmp_path / "q.csv", 'Company,Notes\r\n"Acme","line one\r\nline two"\r\nBeta,x\r\n')
    with open_table(src) as reader:
        assert reader.count_rows() == 2
        rows = list(reader.rows())
    assert rows[0].fields["description"] == "line one\r\nline two"
    assert rows[1].row_index == 2


# -- structural problems are flagged, never dropped ---------------------------------------


def test_blank_and_duplicate_headers_warn(tmp_path: Path) -> None:
    text = "Company,Email,,Email\nAcme,a@acme-demo.com,x,b@acme-demo.com\n"
    src = write(tmp_path / "dup.csv", text)
    with open_table(src) as reader:
        assert reader.columns == ["Company", "Email", "column_3", "Email_2"]
        assert len(reader.warnings) == 2
        assert any("column 3 has no header" in w for w in reader.warnings)
        assert any("duplicate column 'Email'" in w for w in reader.warnings)
        row = next(reader.rows())
    assert row.fields["email"] == "a@acme-demo.com"
    assert row.raw["Email_2"] == "b@acme-demo.com"


def test_ragged_rows_are_kept_and_flagged(tmp_path: Path) -> None:
    src = write(
        tmp_path / "r.csv",
        "Company,Email,Phone\n"
        "Short Co,s@short-demo.com\n"
        "Long Co,l@long-demo.com,555,extra1,extra2\n"
        "Fine Co,f@fine-demo.com,556\n",
    )
    with open_table(src) as reader:
        short, long_, fine = list(reader.rows())
    assert short.errors == ["row has 2 cells, header has 3"]
    assert short.fields["company"] == "Short Co"
    assert short.raw["Phone"] == ""
    assert long_.errors == ["row has 5 cells, header has 3"]
    assert long_.raw["column_4"] == "extra1"
    assert long_.raw["column_5"] == "extra2"
    assert long_.fields["phone"] == "555"
    assert fine.errors == []
    assert fine.row_index == 3


def test_row_without_lead_fields_is_flagged(tmp_path: Path) -> None:
    src = write(tmp_path / "e.csv", "Company,Email,City\nAcme,,Leeds\n,,Bristol\n")
    with open_table(src) as reader:
        ok, empty = list(reader.rows())
    assert ok.errors == []
    assert empty.errors == ["row has no company, email, website or phone"]
    assert empty.fields["city"] == "Bristol"
    assert empty.row_index == 2


def test_fully_blank_lines_are_skipped(tmp_path: Path) -> None:
    src = write(tmp_path / "b.csv", "Company\nA\n\n,\nB\n")
    with open_table(src) as reader:
        assert reader.count_rows() == 2
        assert [(r.row_index, r.fields["company"]) for r in reader.rows()] == [(1, "A"), (2, "B")]


def test_undecodable_bytes_late_in_file_are_flagged(tmp_path: Path) -> None:
    head = "".join(f"Co {i},x{i}@a-demo.com\n" for i in range(70_000)).encode()
    src = tmp_path / "mixed.csv"
    src.write_bytes(b"Company,Email\n" + head + b"Caf\xe9 Bad,\xff@a-demo.com\n")
    with open_table(src) as reader:
        last = list(reader.rows())[-1]
    assert last.fields["company"].startswith("Caf")
    assert any("not valid text" in e for e in last.errors)


# -- XLSX -----------------------------------------------------------------------------------


def make_xlsx(path: Path, rows: list[list[object]], title: str = "Leads") -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_xlsx_numbers_dates_and_sheet(tmp_path: Path) -> None:
    src = make_xlsx(
        tmp_path / "l.xlsx",
        [
            ["Company", "Phone", "Added", "Score", "Zip", None],
            ["Acme Dental", 4155550100.0, dt.datetime(2024, 3, 5), 4.5, 2134, None],
            ["Zoë Café", 442079460123, dt.datetime(2024, 3, 5, 14, 30), None, None],
            ["Müller", "020 7946 0123", dt.date(2023, 1, 2), True],
        ],
    )
    with open_table(src) as reader:
        assert reader.columns == ["Company", "Phone", "Added", "Score", "Zip"]
        assert reader.field_map["postal_code"] == "Zip"
        assert reader.count_rows() == 3
        a, b, c = list(reader.rows())
    assert a.fields["phone"] == "4155550100"
    assert a.raw["Added"] == "2024-03-05"
    assert a.raw["Score"] == "4.5"
    assert a.fields["postal_code"] == "2134"
    assert b.fields["phone"] == "442079460123"
    assert b.raw["Added"] == "2024-03-05T14:30:00"
    assert c.fields["company"] == "Müller"
    assert c.raw["Score"] == "TRUE"
    assert [r.errors for r in (a, b, c)] == [[], [], []]  # short Excel rows are not "ragged"


def test_xlsx_named_sheet_and_unknown_sheet(tmp_path: Path) -> None:
    src = tmp_path / "two.xlsx"
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "Summary"
    first.append(["Nothing here"])
    leads = wb.create_sheet("Leads")
    leads.append(["Business Name", "Email"])
    leads.append(["Acme", "a@acme-demo.com"])
    wb.save(src)
    with open_table(src, sheet="Leads") as reader:
        assert reader.field_map == {"company": "Business Name", "email": "Email"}
        assert [r.fields["company"] for r in reader.rows()] == ["Acme"]
    with pytest.raises(InvalidInput, match="no sheet named 'Nope'; sheets are: Summary, Leads"):
        open_table(src, sheet="Nope")


def test_xlsx_header_only(tmp_path: Path) -> None:
    src = make_xlsx(tmp_path / "h.xlsx", [["Company", "Email"]])
    with pytest.raises(UnreadableInput, match="no data rows"):
        open_table(src)


def test_xlsx_saved_as_csv_is_read_as_xlsx(tmp_path: Path) -> None:
    real = make_xlsx(tmp_path / "r.xlsx", [["Company"], ["Acme"]])
    src = tmp_path / "export.csv"
    src.write_bytes(real.read_bytes())
    assert zipfile.is_zipfile(src)
    with open_table(src) as reader:
        assert [r.fields["company"] for r in reader.rows()] == ["Acme"]


# -- resume and streaming -------------------------------------------------------------------


def test_resume_with_start_after(tmp_path: Path) -> None:
    src = write(tmp_path / "r.csv", "Company\n" + "".join(f"Co {i}\n" for i in range(1, 11)))
    with open_table(src) as reader:
        rows = list(reader.rows(start_after=7))
        assert [r.row_index for r in rows] == [8, 9, 10]
        assert [r.fields["company"] for r in rows] == ["Co 8", "Co 9", "Co 10"]
        assert list(reader.rows(start_after=10)) == []
        # a second full pass gives identical indices (stable across re-reads)
        assert [r.row_index for r in reader.rows()] == list(range(1, 11))


def test_resume_xlsx(tmp_path: Path) -> None:
    src = make_xlsx(tmp_path / "r.xlsx", [["Company"]] + [[f"Co {i}"] for i in range(1, 6)])
    with open_table(src) as reader:
        assert [r.fields["company"] for r in reader.rows(start_after=3)] == ["Co 4", "Co 5"]


def test_abandoned_iterators_are_closed_with_the_reader(tmp_path: Path) -> None:
    src = write(tmp_path / "a.csv", "Company\nA\nB\nC\n")
    reader = open_table(src)
    it = reader.rows()
    assert next(it).fields["company"] == "A"
    reader.close()
    assert list(it) == []  # generator closed: its file handle is released


def test_example_leads_file_imports_cleanly() -> None:
    with open_table(REPO / "examples" / "leads.csv") as reader:
        assert reader.warnings == []
        assert {"company", "email", "phone", "website", "contact_name"} <= set(reader.field_map)
        rows = list(reader.rows())
    assert 180 <= len(rows) <= 220
    assert sum(1 for r in rows if not r.fields["company"]) >= 2
    assert any("Müller" in r.fields["contact_name"] for r in rows)


@pytest.mark.slow
def test_million_rows_stream_with_bounded_memory(tmp_path: Path) -> None:
    n = 1_000_000
    src = tmp_path / "big.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Company Name,Contact,Email,Phone,Website,City,Country,Notes\n")
        fh.writelines(
            f"Company {i} Dental,Zoë Person{i},p{i}@company{i}-demo.com,(415) 555-01{i % 100:02d},"
            f"company{i}-demo.com,Austin,US,\"note, with comma {i}\"\n"
            for i in range(n)
        )
    gc.collect()
    proc = psutil.Process()
    base = proc.memory_info().rss
    peak = base
    with open_table(src) as reader:
        assert reader.count_rows() == n
        count = 0
        last_index = 0
        for row in reader.rows():
            count += 1
            last_index = row.row_index
            if count % 50_000 == 0:
                peak = max(peak, proc.memory_info().rss)
        peak = max(peak, proc.memory_info().rss)
    assert count == n
    assert last_index == n
    assert row.fields["email"] == f"p{n - 1}@company{n - 1}-demo.com"
    assert row.errors == []
    assert peak - base < 100 * 1024 * 1024, f"RSS grew by {(peak - base) / 1e6:.0f} MB"
