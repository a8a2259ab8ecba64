"""What a run shows while it works, and tables that fit their content.

On a terminal a phase (generating, judging) is a rich progress bar. When stdout is not a terminal (CI, nohup,
a log file) a bar would print nothing useful until the end, so a plain line is written every
`TRUSTBENCH_PROGRESS_INTERVAL` seconds (default 15) and when the phase ends:

    generating: 120/500 (24%) · 35.2 tok/s · elapsed 1m05s · eta 3m25s
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import Any, Iterable, Iterator, TextIO, TypeVar

from rich.console import Console
from rich.measure import Measurement

DEFAULT_INTERVAL = 15.0
T = TypeVar("T")


def _interval() -> float:
    try:
        return max(0.05, float(os.environ.get("TRUSTBENCH_PROGRESS_INTERVAL", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Phase:
    """One phase's progress: `advance()` per finished item; a bar on a terminal, plain lines otherwise."""

    def __init__(self, name: str, total: int, show: bool = True, unit: str = "", stream: TextIO | None = None,
                 terminal: bool | None = None, interval: float | None = None):
        self.name, self.total, self.unit = name, total, unit
        self.done = self.tokens = 0
        self.show = show and total > 0
        self.stream = stream or sys.stdout
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.interval = _interval() if interval is None else interval
        self._start = time.perf_counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._job: Any = None

    # -- figures --------------------------------------------------------------------------------
    def line(self) -> str:
        """The plain progress line for the current state."""
        with self._lock:
            done, tokens = self.done, self.tokens
        elapsed = time.perf_counter() - self._start
        parts = [f"{self.name}: {done}/{self.total}{(' ' + self.unit) if self.unit else ''} "
                 f"({100 * done / self.total:.0f}%)" if self.total else f"{self.name}: {done}"]
        if tokens:
            parts.append(f"{tokens / max(elapsed, 1e-9):.1f} tok/s")
        parts.append(f"elapsed {_duration(elapsed)}")
        if 0 < done < self.total:
            parts.append(f"eta {_duration(elapsed / done * (self.total - done))}")
        return " · ".join(parts)

    def _emit(self) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()

    def _ticker(self) -> None:
        while not self._stop.wait(self.interval):
            self._emit()

    # -- use ------------------------------------------------------------------------------------
    def __enter__(self) -> "Phase":
        self._start = time.perf_counter()
        if not self.show:
            return self
        if self.terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            columns = [TextColumn(f"[bold]{self.name}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[tps]}"),
                       TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
            self._bar = Progress(*columns, console=Console(file=self.stream, emoji=False), transient=False)
            self._bar.__enter__()
            self._job = self._bar.add_task(self.name, total=self.total, tps="")
        else:
            self._thread = threading.Thread(target=self._ticker, name=f"progress-{self.name}", daemon=True)
            self._thread.start()
        return self

    def advance(self, n: int = 1, tokens: int = 0) -> None:
        with self._lock:
            self.done += n
            self.tokens += tokens
        if self._bar is not None:
            tps = f"{self.tokens / max(time.perf_counter() - self._start, 1e-9):.0f} tok/s" if self.tokens else ""
            self._bar.update(self._job, advance=n, tps=tps)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._emit()  # the closing line: what was done, at what rate


def phase(name: str, total: int, show: bool = True, unit: str = "") -> Phase:
    """A progress phase for `total` items (use as a context manager)."""
    return Phase(name, total, show, unit)


def track(items: Iterable[T], name: str, show: bool = True, unit: str = "") -> Iterator[T]:
    """Iterate `items` as one progress phase, advancing after each (e.g. judging, one task at a time)."""
    seq = list(items)
    with Phase(name, len(seq), show, unit) as bar:
        for item in seq:
            yield item
            bar.advance()


def fitted_width(console: Console, renderable: Any) -> int | None:
    """The width a table needs when the console is not a terminal (so a log never wraps it at 80 columns)."""
    if console.is_terminal:
        return None
    return Measurement.get(console, console.options.update(width=100_000), renderable).maximum


def print_fitted(console: Console, renderable: Any) -> None:
    """Print a table at its own width when output goes to a file or pipe; at the terminal's width otherwise."""
    width = fitted_width(console, renderable)
    if width is None or width <= console.width:
        console.print(renderable)
        return
    saved = console.width
    console.width = width
    try:
        console.print(renderable)
    finally:
        console.width = saved


__all__ = ["Phase", "fitted_width", "phase", "print_fitted", "track"]
