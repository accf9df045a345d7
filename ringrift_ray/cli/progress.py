"""Progress bars for long commands (tqdm): live in a terminal; in a log or a pipe, one plain
line every `LOG_EVERY_S` seconds instead of carriage-return redraws."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

LOG_EVERY_S = 30.0  # seconds between progress lines when the output is not a terminal


class _Lines:
    """A file wrapper that turns tqdm's ``\\r`` redraws into whole lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress(total: int | None, desc: str, unit: str = "it", stream: TextIO | None = None,
             delay_s: float = 0.0) -> tqdm:
    """A tqdm bar on ``stream`` (default stderr) with rate and time left.

    Args:
        total: expected count (None: unknown; no time left shown).
        desc: what is counted, shown before the bar.
        unit: the unit of one step (``game``, ``step``, ``shard``).
        stream: where to draw it; a terminal gets a live bar, anything else one line per
            `LOG_EVERY_S` seconds (and one at the end).
        delay_s: show nothing until this many seconds have passed (quiet for short work).

    Use it as a context manager and call ``update(n)``.
    """
    stream = stream or sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True,
                    delay=delay_s)
    return tqdm(total=total, desc=desc, unit=unit, file=_Lines(stream), ncols=100,
                mininterval=LOG_EVERY_S, maxinterval=LOG_EVERY_S, delay=delay_s, ascii=True)
