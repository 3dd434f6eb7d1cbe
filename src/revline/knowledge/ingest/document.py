"""The common shape every reader produces: canonical text plus structural blocks with spans."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Block:
    """A heading or a body block; `start:end` indexes the document's canonical text."""

    start: int
    end: int
    heading_path: tuple[str, ...]
    is_heading: bool = False
    page: int | None = None


@dataclass
class ParsedDoc:
    """A readable document: its canonical text, title, kind and structure."""

    text: str
    blocks: list[Block]
    title: str
    kind: str
    meta: dict[str, Any] = field(default_factory=dict)


class DocBuilder:
    """Builds canonical text by appending blocks, keeping a heading stack for section paths."""

    SEPARATOR = "\n\n"

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._stack: list[tuple[int, str]] = []
        self.blocks: list[Block] = []

    @property
    def path(self) -> tuple[str, ...]:
        """Current heading path, outermost first."""
        return tuple(title for _, title in self._stack)

    def _append(self, text: str) -> tuple[int, int]:
        if self._parts:
            self._parts.append(self.SEPARATOR)
            self._length += len(self.SEPARATOR)
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        return start, self._length

    def heading(self, text: str, level: int, page: int | None = None) -> None:
        """Open a section at `level` (1 = outermost); deeper open sections close."""
        text = " ".join(text.split())
        if not text:
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        start, end = self._append(text)
        self.blocks.append(Block(start, end, self.path, is_heading=True, page=page))

    def paragraph(self, text: str, page: int | None = None) -> None:
        """Add body text under the current heading; blank text is ignored."""
        text = text.strip()
        if not text:
            return
        start, end = self._append(text)
        self.blocks.append(Block(start, end, self.path, page=page))

    def build(self, title: str, kind: str, meta: dict[str, Any] | None = None) -> ParsedDoc:
        """The finished document."""
        return ParsedDoc("".join(self._parts), self.blocks, title, kind, dict(meta or {}))
