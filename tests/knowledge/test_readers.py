"""Readers and the structure-aware chunker: real files, exact spans, one-line errors."""

from __future__ import annotations

import io

import pytest

from revline.kernel.errors import InvalidInput, UnreadableInput
from revline.knowledge.ingest.chunker import chunk_document, context_text
from revline.knowledge.ingest.readers import read_document
from tests.knowledge.builders import make_docx, make_pdf
from tests.knowledge.conftest import FIXTURE_PATTERNS

MARKDOWN = """---
title: Field manual
---
# Setup

Install the agent with the package manager.

## Linux

Run `apt install agent` as root.

- enable the service
- open port 8443

```
agent --check
```

# Troubleshooting

Restart the agent when the dashboard shows stale data.
"""


def test_markdown_blocks_keep_headings_and_exact_spans() -> None:
    doc = read_document(MARKDOWN.encode(), "manual.md")
    assert doc.title == "Field manual"
    assert doc.kind == "markdown"
    paths = {doc.text[b.start:b.end]: b.heading_path for b in doc.blocks}
    assert paths["Run `apt install agent` as root."] == ("Setup", "Linux")
    assert paths["- enable the service\n- open port 8443"] == ("Setup", "Linux")
    assert paths["Restart the agent when the dashboard shows stale data."] == (
        "Troubleshooting",
    )
    # Spans index the original file's characters, front matter included.
    assert all(MARKDOWN[b.start:b.end] == doc.text[b.start:b.end] for b in doc.blocks)


def test_text_reader_detects_caps_and_underlined_headings() -> None:
    text = "NAME\n       tool - does things\n\nUsage\n=====\n\nRun it daily.\n\nplain para\n"
    doc = read_document(text.encode(), "tool.txt")
    sections = [(b.heading_path, b.is_heading, doc.text[b.start:b.end]) for b in doc.blocks]
    assert (("Name",), True, "NAME") in sections
    assert (("Name",), False, "tool - does things") in sections
    assert (("Usage",), False, "Run it daily.") in sections
    assert doc.title == "tool"


def test_pdf_pages_outline_and_title() -> None:
    data = make_pdf([["Alpha page one text."], ["Beta page two text."]], title="Greek",
                    outline=[("First", 0), ("Second", 1)])
    doc = read_document(data, "greek.pdf")
    assert doc.title == "Greek"
    assert doc.meta == {"pages": 2}
    body = [(b.heading_path, b.page, doc.text[b.start:b.end]) for b in doc.blocks
            if not b.is_heading]
    assert body == [(("First",), 1, "Alpha page one text."),
                    (("Second",), 2, "Beta page two text.")]


def test_encrypted_and_broken_pdfs_fail_in_one_line() -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["secret"]]))))
    writer.encrypt("pw")
    locked = io.BytesIO()
    writer.write(locked)
    with pytest.raises(UnreadableInput, match="password-protected"):
        read_document(locked.getvalue(), "locked.pdf")
    with pytest.raises(UnreadableInput, match="not a readable PDF"):
        read_document(b"%PDF-1.4 garbage", "broken.pdf")


def test_docx_title_headings_and_tables() -> None:
    data = make_docx("Handbook", [("Leave", ["25 days of paid leave."])], [["A", "B"], ["1", "2"]])
    doc = read_document(data, "handbook.docx")
    assert doc.title == "Handbook"
    texts = {doc.text[b.start:b.end]: b.heading_path for b in doc.blocks if not b.is_heading}
    assert texts["25 days of paid leave."] == ("Handbook", "Leave")
    assert texts["A | B\n1 | 2"] == ("Handbook", "Leave")
    with pytest.raises(UnreadableInput, match="not a readable DOCX"):
        read_document(b"PK\x03\x04 not really a zip", "bad.docx")


def test_html_main_content_without_navigation() -> None:
    html = (
        "<html><head><title>Pricing</title></head><body><nav>Home | Blog | Careers</nav>"
        "<main><h1>Plans</h1><p>The Pro plan costs 49 euros per month and includes "
        "priority support for every seat.</p><h2>Discounts</h2><p>Nonprofits get a 30 "
        "percent discount on every yearly plan.</p></main><footer>Copyright</footer></body>"
        "</html>"
    )
    doc = read_document(html.encode(), "pricing.html")
    assert doc.title == "Pricing"
    assert doc.kind == "html"
    assert "Careers" not in doc.text
    sections = {b.heading_path for b in doc.blocks if not b.is_heading}
    assert ("Plans", "Discounts") in sections


def test_yaml_pattern_becomes_its_search_text() -> None:
    data = (FIXTURE_PATTERNS / "support-rag-chatbot.yml").read_bytes()
    doc = read_document(data, "support-rag-chatbot.yml")
    assert doc.kind == "pattern"
    assert doc.meta["pattern_id"] == "support-rag-chatbot"
    assert "knowledge-retrieval" in doc.text
    assert "deflect support tickets" in doc.text
    plain = read_document(b"key: value\nlist: [1, 2]\n", "config.yaml")
    assert plain.kind == "yaml"


@pytest.mark.parametrize(
    ("data", "name", "error", "message"),
    [
        (b"hello", "photo.png", InvalidInput, "unsupported file type"),
        (b"   \n", "empty.txt", UnreadableInput, "empty"),
        (b"\x00\x01\x02binary", "blob.txt", UnreadableInput, "binary"),
        (b"key: [unclosed", "bad.yml", UnreadableInput, "YAML syntax error at line 1"),
    ],
)
def test_bad_inputs_get_one_line_errors(
    data: bytes, name: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        read_document(data, name)
    assert "\n" not in str(caught.value)


def test_legacy_encodings_are_detected() -> None:
    text = "Caf\xe9 cr\xe8me br\xfbl\xe9e recipe: caramelise the sugar until golden brown."
    doc = read_document(text.encode("cp1252"), "recipe.txt")
    assert "Café crème brûlée" in doc.text


def test_chunks_respect_size_overlap_sections_and_spans() -> None:
    sentences = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(120))
    text = f"# Intro\n\nShort intro.\n\n# Body\n\n{sentences}\n\n# End\n\nThe end.\n"
    doc = read_document(text.encode(), "long.md")
    chunks = chunk_document(doc, size=400, overlap=80)
    assert all(len(c.text) <= 400 for c in chunks)
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    body = [c for c in chunks if c.section == "Body"]
    assert len(body) >= 10
    # Consecutive pieces of one long section overlap; a new section starts clean.
    assert all(b.start < a.end for a, b in zip(body, body[1:], strict=False))
    assert all(c.text[0].isalnum() or c.text[0] == "#" for c in chunks)
    assert chunks[-1].section == "End"
    assert not any("# End" in c.text for c in body)
    # Everything is covered.
    covered = {i for c in chunks for i in range(c.start, c.end)}
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_small_sections_merge_and_huge_words_are_cut() -> None:
    text = "# A\n\none\n\n# B\n\ntwo\n\n# C\n\n" + "x" * 900 + "\n"
    doc = read_document(text.encode(), "tiny.md")
    chunks = chunk_document(doc, size=300, overlap=50)
    assert chunks[0].text.startswith("# A\n\none\n\n# B\n\ntwo")
    assert all(len(c.text) <= 300 for c in chunks)
    assert sum(c.text.count("x") for c in chunks) >= 900


def test_context_text_prefixes_title_and_section() -> None:
    assert context_text("Guide", "Setup > Linux", "Run it.") == "Guide > Setup > Linux\nRun it."
    assert context_text("Guide", "", "Run it.") == "Guide\nRun it."
