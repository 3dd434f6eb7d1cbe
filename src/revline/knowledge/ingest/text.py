"""Plain text and Markdown readers; both keep spans into the original file's characters."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from revline.knowledge.ingest.document import Block, ParsedDoc

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_UNDERLINE = re.compile(r"^(=+|-+)\s*$")
_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.+?)[\"']?\s*$", re.MULTILINE)


def normalize_newlines(text: str) -> str:
    """One newline convention, so spans mean the same on every platform."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _caps_heading(line: str) -> bool:
    """Man-page style section titles: short, unindented, upper case, no sentence punctuation."""
    stripped = line.strip()
    letters = [c for c in stripped if c.isalpha()]
    return (
        bool(stripped)
        and line[:1] not in (" ", "\t")
        and len(stripped) <= 60
        and len(letters) >= 3
        and all(c.isupper() for c in letters)
        and stripped[-1] not in ".,;!?"
    )


class _Sections:
    """Heading stack shared by the readers in this module."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []

    def open(self, level: int, title: str) -> tuple[str, ...]:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, " ".join(title.split())))
        return self.path

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.stack)


def parse_text(text: str, title: str, kind: str = "text") -> ParsedDoc:
    """Paragraphs split on blank lines; ATX, underlined and ALL-CAPS lines open sections."""
    text = normalize_newlines(text)
    sections = _Sections()
    blocks: list[Block] = []
    pos = 0
    pieces: list[tuple[int, int]] = []
    for match in _PARAGRAPH_BREAK.finditer(text):
        pieces.append((pos, match.start()))
        pos = match.end()
    pieces.append((pos, len(text)))
    for start, end in pieces:
        chunk = text[start:end]
        if not chunk.strip():
            continue
        lines = chunk.split("\n")
        first = lines[0]
        heading: tuple[int, str] | None = None
        head_len = len(first)
        atx = _ATX.match(first)
        if atx:
            heading = (len(atx.group(1)), atx.group(2))
        elif len(lines) >= 2 and first.strip() and _UNDERLINE.match(lines[1]):
            heading = (1 if lines[1].strip()[0] == "=" else 2, first)
            head_len = len(first) + 1 + len(lines[1])
        elif _caps_heading(first):
            heading = (1, first.strip().title())
        if heading is not None:
            path = sections.open(heading[0], heading[1])
            blocks.append(Block(start, start + head_len, path, is_heading=True))
            body_start = start + head_len
            while body_start < end and text[body_start] in "\n \t":
                body_start += 1
            if body_start < end:
                blocks.append(Block(body_start, _rstrip(text, body_start, end), sections.path))
            continue
        blocks.append(Block(_lstrip(text, start, end), _rstrip(text, start, end), sections.path))
    return ParsedDoc(text, blocks, title, kind)


def _lstrip(text: str, start: int, end: int) -> int:
    while start < end and text[start] in "\n":
        start += 1
    return start


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in "\n \t":
        end -= 1
    return end


_MD = MarkdownIt("commonmark").enable("table")


def parse_markdown(text: str, title: str, kind: str = "markdown") -> ParsedDoc:
    """Top-level Markdown blocks (paragraphs, lists, code, tables) under their headings.

    The title is the front matter's, else the first level-1 heading, else `title`.
    """
    text = normalize_newlines(text)
    front = _FRONT_MATTER.match(text)
    parse_source = text
    front_title = ""
    if front:
        # Blank the front matter instead of cutting it, so line numbers keep their meaning.
        found = _FRONT_TITLE.search(front.group(1))
        front_title = found.group(1) if found else ""
        parse_source = re.sub(r"[^\n]", " ", front.group(0)) + text[front.end():]
    line_starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            line_starts.append(index + 1)

    def offset(line: int) -> int:
        return line_starts[line] if line < len(line_starts) else len(text)

    sections = _Sections()
    blocks: list[Block] = []
    first_heading = ""
    tokens = _MD.parse(parse_source)
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1 or token.type == "hr":
            continue
        start = offset(token.map[0])
        end = _rstrip(text, start, offset(token.map[1]))
        if end <= start:
            continue
        if token.type == "heading_open":
            heading_text = tokens[index + 1].content if index + 1 < len(tokens) else ""
            if token.tag == "h1":
                first_heading = first_heading or heading_text
            path = sections.open(int(token.tag[1:]), heading_text)
            blocks.append(Block(start, end, path, is_heading=True))
        else:
            blocks.append(Block(start, end, sections.path))
    return ParsedDoc(text, blocks, front_title or first_heading or title, kind)
