"""Which selfplay samples the replay buffer has received and acknowledged (no Ray): one
`Ledger` per (board, players) configuration of `buffer.Buffer`.

Vocabulary (README "Reliability"):

| term          | meaning                                                                 |
|---------------|-------------------------------------------------------------------------|
| producer      | one selfplay worker process (``w<id>-<start time ns>``; a restarted     |
|               | worker is a new producer)                                               |
| seq           | the producer's batch number, 0, 1, 2, ... in the order it sent them     |
| received      | the buffer accepted the batch (it is held in memory)                    |
| acknowledged  | the batch is written to a Parquet shard whose metadata records this     |
|               | ledger, and the buffer has told the producer so (``durable_seq``)       |

The protocol: a producer keeps every batch it sent until the buffer acknowledges it, and
sends its batches in ``seq`` order. The buffer accepts only the next ``seq`` of a producer
(a repeat is a duplicate, dropped; a jump is a gap, refused with the ``seq`` it expects,
and the producer sends again from there). A restarted buffer reloads the acknowledged part
of the ledger from its shards, so it expects exactly the batches it lost and never holds
one twice. An acknowledged sample is never lost (short of losing the shard itself); a
received one is lost only when its producer and the buffer both die before the flush.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["accepted", "duplicate", "gap"]


@dataclass
class Entry:
    """One producer's batches in one configuration."""

    held: int = -1  # highest seq received (every lower one was received too)
    received: int = 0  # samples received
    durable_seq: int = -1  # highest seq on disk (acknowledged)
    durable: int = 0  # samples on disk (acknowledged)
    updated: float = 0.0  # unix time of the last accepted batch


class Ledger:
    """Per-producer watermarks of one configuration; see the module docstring."""

    def __init__(self, entries: dict[str, Entry] | None = None) -> None:
        self.entries: dict[str, Entry] = entries or {}

    def verdict(self, producer: str, seq: int, floor: int = 0) -> Verdict:
        """Decide on batch ``seq`` of ``producer`` (`record` it once it is added).

        Args:
            producer: the producer's id.
            seq: the batch number (>= 0).
            floor: the producer's oldest batch still held (it dropped every lower one as
                durable); a ledger behind it (a shard lost to quarantine) moves its
                watermark up to ``floor - 1`` instead of waiting for batches the producer
                no longer has.

        Returns:
            ``"accepted"`` (add the batch), ``"duplicate"`` (already held: drop it) or
            ``"gap"`` (earlier batches are missing: the producer sends from `expected`).

        Raises:
            ValueError: a negative ``seq`` or ``floor > seq``.
        """
        if not 0 <= floor <= seq:
            raise ValueError(f"bad batch number {seq} (floor {floor}) from producer "
                             f"{producer!r}")
        entry = self.entries.setdefault(producer, Entry())
        entry.held = max(entry.held, floor - 1)
        if seq <= entry.held:
            return "duplicate"
        return "gap" if seq > entry.held + 1 else "accepted"

    def record(self, producer: str, seq: int, samples: int) -> None:
        """Count batch ``seq`` (of ``samples`` samples) as received; `verdict` said
        ``"accepted"`` for it."""
        entry = self.entries.setdefault(producer, Entry())
        assert seq == entry.held + 1, (producer, seq, entry.held)
        entry.held, entry.updated = seq, time.time()
        entry.received += samples

    def expected(self, producer: str) -> int:
        """The next ``seq`` this ledger will accept from ``producer``."""
        entry = self.entries.get(producer)
        return 0 if entry is None else entry.held + 1

    def durable_seq(self, producer: str) -> int:
        """The highest ``seq`` of ``producer`` on disk (-1: none)."""
        entry = self.entries.get(producer)
        return -1 if entry is None else entry.durable_seq

    def snapshot(self) -> str:
        """JSON of the ledger as it will be once every received batch is on disk, for the
        metadata of the shard that writes them (`mark_durable` after the write)."""
        return json.dumps({p: [e.held, e.received, round(e.updated, 3)]
                           for p, e in self.entries.items()}, separators=(",", ":"))

    def mark_durable(self) -> None:
        """Every received batch is on disk now (its shard is written): acknowledged."""
        for e in self.entries.values():
            e.durable_seq, e.durable = e.held, e.received

    def prune(self, idle_s: float, now: float | None = None) -> int:
        """Forget producers whose every batch is durable and that sent nothing for
        ``idle_s`` seconds (dead workers; a live one sends every few seconds).

        Returns:
            Producers forgotten.
        """
        now = time.time() if now is None else now
        idle = [p for p, e in self.entries.items()
                if e.durable_seq == e.held and now - e.updated > idle_s]
        for p in idle:
            del self.entries[p]
        return len(idle)

    @classmethod
    def from_snapshot(cls, text: str) -> Ledger:
        """The ledger a shard's metadata records (`snapshot`), all of it durable.

        Raises:
            ValueError: not a ledger snapshot.
        """
        try:
            raw = json.loads(text)
            entries = {str(p): Entry(int(seq), int(n), int(seq), int(n), float(t))
                       for p, (seq, n, t) in raw.items()}
        except (ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"not a replay ledger snapshot: {e}") from e
        return cls(entries)
