"""File readers: PDF (pypdf), DOCX (python-docx), HTML (trafilatura), Markdown, text, YAML."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import yaml

from revline.kernel.errors import InvalidInput, UnreadableInput
from revline.knowledge.ingest.document import DocBuilder, ParsedDoc
from revline.knowledge.ingest.text import normalize_newlines, parse_markdown, parse_text
from revline.knowledge.patterns.schema import looks_like_pattern, search_text, validate_pattern

KINDS_BY_SUFFIX = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".yml": "yaml",
    ".yaml": "yaml",
}
SUPPORTED = ", ".join(sorted(KINDS_BY_SUFFIX))
_WESTERN_SINGLE_BYTE = frozenset(
    {"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "mac_roman", "cp850", "ascii"}
)
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def kind_for(name: str) -> str | None:
    """Reader kind for a file name, or None when the suffix is not supported."""
    return KINDS_BY_SUFFIX.get(Path(name).suffix.lower())


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else the detected charset; binary data is refused."""
    if b"\x00" in data[:8192]:
        raise UnreadableInput(f"{name}: looks binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise UnreadableInput(f"{name}: unknown text encoding") from None
        if best.encoding in _WESTERN_SINGLE_BYTE:
            # Short texts fit several single-byte codecs equally; cp1252 is the likely one.
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                return data.decode("latin-1")
        return str(best)


def read_document(data: bytes, name: str, kind: str | None = None) -> ParsedDoc:
    """Parse bytes named `name` into a ParsedDoc; every failure is one actionable line."""
    kind = kind or kind_for(name)
    if kind is None:
        raise InvalidInput(f"{name}: unsupported file type; supported: {SUPPORTED}")
    if not data.strip():
        raise UnreadableInput(f"{name}: file is empty")
    stem = Path(name).stem or name
    if kind == "pdf":
        doc = read_pdf(data, name)
    elif kind == "docx":
        doc = read_docx(data, name)
    elif kind == "html":
        doc = read_html(decode_text(data, name))
    elif kind == "markdown":
        doc = parse_markdown(decode_text(data, name), "")
    elif kind == "yaml":
        doc = read_yaml(decode_text(data, name), name)
    else:
        doc = parse_text(decode_text(data, name), "")
    if not doc.text.strip() or not doc.blocks:
        raise UnreadableInput(f"{name}: no text could be extracted")
    doc.title = (doc.title or stem).strip()[:500]
    return doc


def _pdf_outline(reader: Any) -> dict[int, list[tuple[str, int]]]:
    """Bookmarks by page index: they become the PDF's headings."""
    found: dict[int, list[tuple[str, int]]] = {}

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a dangling bookmark must not sink the whole file
                continue
            title = str(getattr(item, "title", "") or "").strip()
            if page is not None and page >= 0 and title:
                found.setdefault(page, []).append((title, level))

    try:
        walk(list(reader.outline), 1)
    except Exception:  # malformed outline trees are common; the text still counts
        return {}
    return found


def read_pdf(data: bytes, name: str) -> ParsedDoc:
    """Text per page; bookmarks become headings, pages are recorded on every block."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableInput(f"{name}: PDF is password-protected")
        pages = list(reader.pages)
    except UnreadableInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableInput(f"{name}: not a readable PDF ({exc})") from exc
    outline = _pdf_outline(reader)
    builder = DocBuilder()
    for index, page in enumerate(pages):
        for title, level in outline.get(index, []):
            builder.heading(title, level, page=index + 1)
        try:
            text = normalize_newlines(page.extract_text() or "")
        except Exception as exc:  # pypdf raises many types on broken content streams
            raise UnreadableInput(f"{name}: page {index + 1} cannot be read ({exc})") from exc
        text = _HYPHEN_BREAK.sub(r"\1\2", text)
        for paragraph in re.split(r"\n[ \t]*\n", text):
            builder.paragraph(" ".join(paragraph.split()), page=index + 1)
    meta_title = ""
    try:
        metadata = reader.metadata
        meta_title = str(metadata.get("/Title") or "") if metadata is not None else ""
    except Exception:  # metadata dictionaries can be broken independently of the text
        meta_title = ""
    return builder.build(meta_title, "pdf", {"pages": len(pages)})


def read_docx(data: bytes, name: str) -> ParsedDoc:
    """Paragraphs and tables in document order; Title and Heading N styles open sections."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zipfile/KeyError/ValueError variants
        raise UnreadableInput(f"{name}: not a readable DOCX file ({exc})") from exc
    builder = DocBuilder()
    title = str(document.core_properties.title or "")
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            style = paragraph.style.name if paragraph.style is not None else ""
            text = paragraph.text
            if style == "Title":
                title = title or text.strip()
                builder.heading(text, 1)
            elif style and style.startswith("Heading"):
                digits = "".join(c for c in style if c.isdigit())
                builder.heading(text, int(digits) + 1 if digits else 2)
            else:
                builder.paragraph(text)
        elif tag == "tbl":
            rows = Table(child, document).rows
            lines = [" | ".join(cell.text.strip() for cell in row.cells) for row in rows]
            builder.paragraph("\n".join(line for line in lines if line.strip(" |")))
    return builder.build(title, "docx")


def read_html(html: str) -> ParsedDoc:
    """Main content via trafilatura (as Markdown, so headings survive), else all text."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    extracted = trafilatura.extract(
        html,
        output_format="markdown",
        include_formatting=True,
        include_tables=True,
        include_links=False,
        include_comments=False,
        favor_recall=True,
    )
    title = ""
    match = _TITLE_TAG.search(html)
    if match:
        title = " ".join(match.group(1).split())
    if extracted and extracted.strip():
        doc = parse_markdown(extracted, title, kind="html")
        doc.title = title or doc.title
        return doc
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript"):
        node.decompose()
    body = tree.body.text(separator="\n") if tree.body is not None else ""
    return parse_text(body, title, kind="html")


def read_yaml(text: str, name: str) -> ParsedDoc:
    """A pattern file becomes its search text; any other YAML is indexed as text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UnreadableInput(f"{name}: YAML syntax error{where}") from exc
    if looks_like_pattern(data):
        assert isinstance(data, dict)
        errors = validate_pattern(data)
        if errors:
            raise InvalidInput(f"{name}: invalid pattern: {errors[0]}")
        builder = DocBuilder()
        builder.heading(str(data["name"]), 1)
        builder.paragraph(search_text(data))
        meta = {"pattern_id": data["id"], "category": data["category"], "mode": data["mode"]}
        return builder.build(str(data["name"]), "pattern", meta)
    return parse_text(text, "", kind="yaml")
