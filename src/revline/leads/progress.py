"""Progress reporting seam: rich bars in the CLI, DB counters in workers, nothing in tests."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What the pipeline tells its caller while it works."""

    def stage(self, name: str, total: int | None, completed: int = 0) -> None:
        """Start a stage with a known (or unknown) number of items."""

    def advance(self, n: int = 1) -> None:
        """Mark n more items of the current stage done."""

    def note(self, text: str) -> None:
        """Tell the user something once (offline, LLM not configured, ...)."""

    def close(self) -> None:
        """Finish the display."""


class SilentProgress:
    """Progress that records notes and otherwise does nothing."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.stages: list[str] = []

    def stage(self, name: str, total: int | None, completed: int = 0) -> None:  # noqa: ARG002
        """Record the stage name."""
        self.stages.append(name)

    def advance(self, n: int = 1) -> None:
        """Ignore."""

    def note(self, text: str) -> None:
        """Keep the note for assertions and summaries."""
        self.notes.append(text)

    def close(self) -> None:
        """Nothing to close."""
