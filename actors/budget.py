"""`Budget` actor: the run's deadline and the trainer's step, shared by the driver and the
trainer.

The driver creates it with ``time_budget_s`` from the start; the trainer's rank 0 calls
`Budget.check` before every step (`experiments/ops/trainer.py`): it reports the step (the
driver's status line shows it) and reads the deadline, so a SIGTERM to the driver
(Ctrl-C, ``ray job stop``, a preempted head) ends training at the next step with a final
checkpoint: the driver calls `Budget.stop`.
"""

from __future__ import annotations

import time

import ray


@ray.remote(max_restarts=-1)
class Budget:
    """A deadline in unix seconds that can only move earlier (a restarted actor starts
    again from the deadline it was created with)."""

    def __init__(self, deadline: float) -> None:
        self._deadline = float(deadline)
        self._step = -1

    def deadline(self) -> float:
        """The deadline (unix time, seconds)."""
        return self._deadline

    def check(self, step: int) -> float:
        """Record the trainer's current ``step``; return the deadline."""
        self._step = max(self._step, int(step))
        return self._deadline

    def train_step(self) -> int:
        """The last step the trainer reported (-1 before it started)."""
        return self._step

    def stop(self) -> None:
        """Move the deadline to now: training stops at its next step."""
        self._deadline = min(self._deadline, time.time())
