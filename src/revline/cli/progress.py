"""Rich progress bars with ETA for long CLI work; plain lines when output is not a terminal."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichProgress:
    """Implements revline.leads.progress.Progress on a rich console (stderr)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self._bar = Progress(
            TextColumn("[bold]{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.live,
        )
        self._task: TaskID | None = None
        self._name = ""
        self._started = 0.0
        self._done = 0
        self._started_bar = False

    def stage(self, name: str, total: int | None, completed: int = 0) -> None:
        """Close the previous bar and open a new one."""
        self._finish_stage()
        if self.live and not self._started_bar:
            self._bar.start()
            self._started_bar = True
        self._name, self._started, self._done = name, time.monotonic(), completed
        self._task = self._bar.add_task(name, total=total, completed=completed)

    def advance(self, n: int = 1) -> None:
        """Move the current bar."""
        self._done += n
        if self._task is not None:
            self._bar.advance(self._task, n)

    def note(self, text: str) -> None:
        """Print a one-off message above the bars."""
        self.console.print(f"[yellow]•[/yellow] {escape(text)}", highlight=False)

    def _finish_stage(self) -> None:
        if self._task is not None and not self.live:
            secs = time.monotonic() - self._started
            self.console.print(f"  {self._name}: {self._done} done in {secs:.1f}s", highlight=False)
        self._task = None

    def close(self) -> None:
        """Stop the live display."""
        self._finish_stage()
        if self._started_bar:
            self._bar.stop()
            self._started_bar = False
