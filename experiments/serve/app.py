"""The Ray Serve application: one `MoveModel` deployment per checkpoint behind one FastAPI
`Ingress` (``ingress.py``), built by `build_app` from `ServeArgs`.

`build_app` is also the application builder of a Serve config file
(``experiments/configs/serve/*.yaml``: ``import_path: experiments.serve.app:build_app``,
``args:`` = `ServeArgs` fields), for ``serve deploy`` / ``serve run`` on a cluster.

Two levels of batching make concurrent requests share the work:

- The ingress gathers positions (`ModelClient`): every position asked of a model while
  ``calls_in_flight`` calls to it are out waits, and the next call carries all of them, so at
  64 concurrent clients a handle call (and Serve's cost per call) serves many requests,
  while a lone request is sent at once.
- A `MoveModel` replica loads its checkpoint once (``service.chooser.load_model``) and runs
  ONE compiled batched search over every position in flight (``service.chooser.Searcher``,
  up to ``max_batch`` trees in one forest): each step is one compiled selection, one network
  call on all their leaves and one compiled expansion and backup, and positions that arrive
  meanwhile join at the next step (continuous batching: none waits for a whole batch to end,
  as it would under ``@serve.batch``). A seeded position's answer does not depend on the
  others (``service.chooser``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from experiments.serve.ingress import Ingress
from ringrift_ray.game import new_game
from ringrift_ray.service.chooser import (
    Choice,
    admit,
    drop,
    finished,
    has_room,
    load_model,
    new_searcher,
    step,
    take,
    warm,
)

log = logging.getLogger(__name__)


class ServeArgs(BaseModel):
    """What ``ringrift-ray serve`` / a Serve config file sets up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    models: list[str] = Field(min_length=1, description="CHECKPOINT[:SIMS], one per "
                              "board / player count (SIMS caps every search budget)")
    replicas: int = Field(1, ge=1, description="replicas of each model deployment")
    gpus: float = Field(0.0, ge=0.0, description="GPUs per model replica (0: CPU)")
    cpus: float = Field(1.0, ge=0.0, description="CPUs per model replica")
    threads: int = Field(1, ge=1, description="CPU threads of each replica's network")
    max_batch: int = Field(128, ge=1, description="searches in flight per model replica "
                           "(each step: one network call on all their leaves)")
    calls_in_flight: int = Field(2, ge=1, description="handle calls out from the ingress to "
                                 "each model deployment (at least `replicas` are used); "
                                 "positions asked meanwhile go together in the next call")
    max_pending: int = Field(512, ge=1, description="positions in flight per ingress "
                             "replica before new requests get 503 + Retry-After")
    timeout_s: float = Field(60.0, gt=0.0, description="default deadline of a request "
                             "(504 past it); a request's timeout_ms may shorten it")


@serve.deployment(max_ongoing_requests=4096)
class MoveModel:
    """One checkpoint's network answering move choices with one continuously batched
    compiled search."""

    def __init__(self, spec: str, device: str | None, threads: int, max_batch: int):
        torch.set_num_threads(threads)
        self.model = load_model(spec, device, threads=threads)
        self.searcher = new_searcher(self.model, max_batch)
        self.waiting: deque[tuple[tuple, asyncio.Future]] = deque()
        self.runner: asyncio.Task | None = None
        # compile the rules and the net, touch the small tiers' forests: before, not during,
        # the first requests
        warm(self.searcher, new_game(self.model.board, self.model.players))
        log.info("serving %s (%s) on %s", self.model.checkpoint, self.model.model_id,
                 self.model.device)

    def info(self) -> dict[str, Any]:
        """What the ingress routes on and reports: board, players, checkpoint, cap."""
        m = self.model
        return {"board": m.board, "players": m.players, "checkpoint": m.checkpoint,
                "model_id": m.model_id, "max_simulations": m.max_simulations,
                "device": m.device}

    async def choose(self, items: list[tuple]) -> list[tuple[Choice, int] | Exception]:
        """``[(state, budget, seed)]`` -> per item ``(Choice, searches in its last step)``,
        or the exception that failed it (a bad item fails alone). The searches join the
        ones in flight at the next step; a cancelled call drops its searches."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        self.waiting.extend(zip(items, futures, strict=True))
        if self.runner is None or self.runner.done():
            self.runner = loop.create_task(self._run())
        return await asyncio.gather(*futures, return_exceptions=True)

    async def _run(self) -> None:
        """Step the searches in flight (each step off the event loop), admitting waiting
        positions into free slots before every step, until none is left. A position whose
        caller gave up (its future cancelled: a deadline) is dropped."""
        s, owners = self.searcher, {}
        while owners or self.waiting:
            while self.waiting and has_room(s, self.waiting[0][0][1]):
                (state, budget, seed), fut = self.waiting.popleft()
                if not fut.done():
                    try:
                        owners[admit(s, state, budget, seed)] = fut
                    except ValueError as e:
                        fut.set_exception(e)
            for slot in [b for b, fut in owners.items() if fut.done()]:
                drop(s, slot)
                del owners[slot]
            if not owners:
                continue
            try:
                await asyncio.to_thread(step, s)
            except Exception as e:  # fail these positions, keep serving the next ones
                log.exception("search step failed")
                for slot, fut in owners.items():
                    drop(s, slot)
                    if not fut.done():
                        fut.set_exception(e)
                owners = {}
                continue
            busy = len(owners)
            for slot in finished(s):
                fut, choice = owners.pop(slot), take(s, slot)
                if not fut.done():
                    fut.set_result((choice, busy))


def build_app(args: dict[str, Any] | ServeArgs) -> serve.Application:
    """The application: a `MoveModel` per checkpoint (``model_0``, ``model_1``, ...) and
    the `Ingress` over them.

    Raises:
        pydantic.ValidationError: bad arguments (a Serve config's ``args``).
    """
    a = args if isinstance(args, ServeArgs) else ServeArgs(**args)
    device = "cuda" if a.gpus > 0 else "cpu"
    models = [MoveModel.options(
        name=f"model_{i}", num_replicas=a.replicas,
        ray_actor_options={"num_cpus": a.cpus, "num_gpus": a.gpus},
    ).bind(spec, device, a.threads, a.max_batch)
        for i, spec in enumerate(a.models)]
    return Ingress.bind(models, a.max_pending, a.timeout_s,
                        max(a.calls_in_flight, a.replicas))
