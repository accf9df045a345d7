"""A selfplay producer's side of the replay ledger (no Ray; `ledger` explains the
protocol): `Outbox` numbers the batches, sends them in order, keeps each until the buffer
reports it on disk, and sends again what a restarted buffer lost.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from ringrift_ray.replay.buffer import AddReply
from ringrift_ray.samples import SampleBatch

log = logging.getLogger(__name__)

SendFn = Callable[[SampleBatch, str, int, int], AddReply]
"""``send(batch, producer, seq, floor) -> AddReply``: one ``ReplayBuffer.add`` call."""


class Outbox:
    """Batches of one producer not yet on disk.

    Args:
        producer: the producer's id, unique per process (``w<worker>-<start time ns>``).
        send: delivers one batch (`SendFn`); its errors propagate, the batches stay held
            and the next `push` sends them again.
    """

    def __init__(self, producer: str, send: SendFn) -> None:
        self.producer, self.send = producer, send
        self.held: deque[tuple[int, SampleBatch]] = deque()  # (seq, batch), seq ascending
        self.next_seq = 0
        self.next_to_send = 0  # the first seq the buffer does not hold, as far as we know
        self.counted_seq = -1  # highest seq counted in ``received``
        self.generated = self.received = self.acknowledged = 0  # samples (each once)
        self.resent = 0  # batches sent again to a buffer that had lost them

    def push(self, batch: SampleBatch) -> AddReply | None:
        """Hold ``batch`` (when not empty) and send every held batch not yet received.

        Returns:
            The buffer's last reply, None when nothing needed sending.

        Raises:
            Whatever ``send`` raises (the batches stay held).
        """
        if len(batch):
            self.held.append((self.next_seq, batch))
            self.next_seq += 1
            self.generated += len(batch)
        return self.flush()

    def flush(self) -> AddReply | None:
        """Send the held batches after the received ones, in order; after a ``"gap"`` (the
        buffer restarted and lost received batches) go back to the one it expects; after a
        ``"full"`` (the store is failing) stop and send the rest next time. Then drop the
        batches the buffer acknowledges (on disk)."""
        reply, seqs = None, [s for s, _ in self.held]
        pos = next((i for i, s in enumerate(seqs) if s >= self.next_to_send), len(seqs))
        while pos < len(seqs):
            seq, batch = self.held[pos]
            reply = self.send(batch, self.producer, seq, seqs[0])
            if reply.verdict == "gap":
                log.warning("replay buffer expects batch %d of %s (sent %d): sending %d "
                            "held batches again", reply.expected, self.producer, seq,
                            seq - reply.expected)
                if reply.expected not in seqs:  # the ledger's floor rule prevents this
                    raise RuntimeError(f"replay buffer expects batch {reply.expected} of "
                                       f"{self.producer}, which is no longer held")
                self.resent += seq - reply.expected
                self.next_to_send, pos = reply.expected, seqs.index(reply.expected)
                continue
            if reply.verdict == "full":
                break
            self.next_to_send = seq + 1
            if seq > self.counted_seq:
                self.counted_seq = seq
                self.received += len(batch)
            pos += 1
        while reply is not None and self.held and self.held[0][0] <= reply.durable_seq:
            self.acknowledged += len(self.held.popleft()[1])
        return reply

    @property
    def held_samples(self) -> int:
        """Samples held (sent or not) that the buffer has not acknowledged."""
        return sum(len(b) for _, b in self.held)
