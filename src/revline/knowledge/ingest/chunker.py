"""Structure-aware chunking: sections first, then paragraphs, sentences and words.

Chunks are spans of the document's canonical text. A chunk closes at a heading once it
holds enough text (small sections merge with the next), or when the next block would
exceed `size`; only such size breaks overlap, by up to `overlap` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from revline.knowledge.ingest.document import Block, ParsedDoc

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a document with where it came from."""

    ordinal: int
    text: str
    section: str
    start: int
    end: int
    page_start: int | None = None
    page_end: int | None = None


def context_text(title: str, section: str, text: str) -> str:
    """What gets embedded and indexed: the chunk with its title and section as context."""
    head = title if not section or section == title else f"{title} > {section}"
    return f"{head}\n{text}" if head else text


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Split text[start:end] at sentence, then word, then hard boundaries into <= size."""
    if end - start <= size:
        return [(start, end)]
    bounds = [start] + [m.end() + start for m in _SENTENCE_END.finditer(text[start:end])] + [end]
    out: list[tuple[int, int]] = []
    cur = start
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b - cur <= size:
            continue
        if a > cur:
            out.append((cur, a))
            cur = a
        while b - cur > size:
            cut = cur + size
            space = text.rfind(" ", cur + size // 2, cut)
            cut = space + 1 if space > cur else cut
            out.append((cur, cut))
            cur = cut
    if cur < end:
        out.append((cur, end))
    return [(a, _trim_end(text, a, b)) for a, b in out if text[a:b].strip()]


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _units(doc: ParsedDoc, size: int, overlap: int) -> list[Block]:
    units: list[Block] = []
    for block in doc.blocks:
        if block.is_heading or block.end - block.start <= size:
            units.append(block)
            continue
        # Leave room for the overlap that the next chunk repeats.
        for a, b in _pieces(doc.text, block.start, block.end, size - overlap):
            units.append(Block(a, b, block.heading_path, False, block.page))
    return units


def _overlap_start(text: str, prev_end: int, unit: Block, size: int, overlap: int) -> int:
    """Where the next chunk starts so it repeats the previous tail, on a word boundary."""
    start = max(prev_end - overlap, unit.end - size)
    if start >= unit.start:
        return unit.start
    # Prefer a sentence start inside the overlap window, else a word start.
    sentence = _SENTENCE_END.search(text, start, unit.start)
    if sentence and sentence.end() < unit.start:
        return sentence.end()
    space = _SPACE.search(text, start, unit.start)
    return space.end() if space else unit.start


class _Open:
    """The chunk being filled."""

    def __init__(self, start: int, unit: Block) -> None:
        self.start = start
        self.end = unit.end
        self.units = [unit]

    @property
    def has_body(self) -> bool:
        return any(not u.is_heading for u in self.units)


def chunk_document(doc: ParsedDoc, size: int, overlap: int) -> list[Chunk]:
    """Chunks of at most `size` characters (a longer single word is cut) in document order."""
    size = max(size, 50)
    overlap = max(0, min(overlap, size // 2))
    min_len = size // 4
    chunks: list[Chunk] = []
    current: _Open | None = None

    def close(chunk: _Open) -> None:
        # Label a chunk with the section holding most of its text.
        weight: dict[tuple[str, ...], int] = {}
        for u in chunk.units:
            weight[u.heading_path] = weight.get(u.heading_path, 0) + u.end - u.start
        section = max(weight.items(), key=lambda kv: (kv[1], len(kv[0])))[0]
        pages = [u.page for u in chunk.units if u.page is not None]
        end = _trim_end(doc.text, chunk.start, chunk.end)
        if doc.text[chunk.start:end].strip():
            chunks.append(Chunk(len(chunks), doc.text[chunk.start:end],
                                " > ".join(section), chunk.start, end,
                                min(pages) if pages else None, max(pages) if pages else None))

    for unit in _units(doc, size, overlap):
        if current is None:
            current = _Open(unit.start, unit)
        elif unit.is_heading and current.has_body and current.end - current.start >= min_len:
            close(current)
            current = _Open(unit.start, unit)
        elif unit.end - current.start > size:
            # Headings at the end of a full chunk belong to the text that follows them.
            carry: list[Block] = []
            while len(current.units) > 1 and current.units[-1].is_heading:
                carry.insert(0, current.units.pop())
            if carry and unit.end - carry[0].start <= size:
                current.end = current.units[-1].end
                close(current)
                current = _Open(carry[0].start, carry[0])
                current.units.extend([*carry[1:], unit])
                current.end = unit.end
                continue
            current.units.extend(carry)
            close(current)
            start = (
                _overlap_start(doc.text, current.end, unit, size, overlap)
                if overlap and current.has_body and not unit.is_heading
                else unit.start
            )
            current = _Open(start, unit)
        else:
            current.end = unit.end
            current.units.append(unit)
    if current is not None:
        close(current)
    return chunks
