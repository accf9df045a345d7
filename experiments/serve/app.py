"""The Ray Serve application: one `MoveModel` deployment per checkpoint behind one FastAPI
`Ingress` (``ingress.py``), built by `build_app` from `ServeArgs`.

`build_app` is also the application builder of a Serve config file
(``experiments/configs/serve/*.yaml``: ``import_path: experiments.serve.app:build_app``,
``args:`` = `ServeArgs` fields), for ``serve deploy`` / ``serve run`` on a cluster.

A `MoveModel` replica loads its checkpoint once (``service.chooser.load_model``) and answers
``choose(item)`` calls with continuous batching, one batched search per replica: every
search in flight advances one step per network call (``service.chooser.step_choices``, all
their leaves in one call), and requests that arrive meanwhile join at the next step (up to
``max_batch`` in flight), so concurrent requests share every network call and none waits
for a whole batch to finish. (``@serve.batch`` would hold a request that arrives during a
search until that search ends.)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from experiments.serve.ingress import Ingress
from ringrift_ray.game import new_game
from ringrift_ray.service.chooser import (
    Choice,
    InFlight,
    choose_moves,
    finish_choice,
    load_model,
    start_choice,
    step_choices,
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
    max_pending: int = Field(512, ge=1, description="positions in flight per ingress "
                             "replica before new requests get 503 + Retry-After")
    timeout_s: float = Field(60.0, gt=0.0, description="default deadline of a request "
                             "(504 past it); a request's timeout_ms may shorten it")


@serve.deployment(max_ongoing_requests=4096)
class MoveModel:
    """One checkpoint's network answering move choices with continuous batching."""

    def __init__(self, spec: str, device: str | None, threads: int, max_batch: int):
        torch.set_num_threads(threads)
        self.model = load_model(spec, device, threads=threads)
        self.max_batch = max_batch
        self.waiting: list[tuple[InFlight, asyncio.Future]] = []
        self.runner: asyncio.Task | None = None
        warm = new_game(self.model.board, self.model.players)
        choose_moves(self.model, [warm], [2], [0])  # compile the rules and the net once
        log.info("serving %s (%s) on %s", self.model.checkpoint, self.model.model_id,
                 self.model.device)

    def info(self) -> dict[str, Any]:
        """What the ingress routes on and reports: board, players, checkpoint, cap."""
        m = self.model
        return {"board": m.board, "players": m.players, "checkpoint": m.checkpoint,
                "model_id": m.model_id, "max_simulations": m.max_simulations,
                "device": m.device}

    async def choose(self, item: tuple) -> tuple[Choice, int]:
        """``(state, budget, seed)`` -> ``(Choice, searches in its last step)``. The search
        joins the ones in flight at the next step."""
        state, budget, seed = item
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((start_choice(self.model, state, budget, seed), future))
        if self.runner is None or self.runner.done():
            self.runner = asyncio.get_running_loop().create_task(self._run())
        return await future

    async def _run(self) -> None:
        """Step every search in flight (one network call per step, off the event loop),
        admitting waiting requests up to ``max_batch`` at each step, until none is left.
        A caller that gave up (its future cancelled: a deadline) is dropped."""
        active: list[tuple[InFlight, asyncio.Future]] = []
        while active or self.waiting:
            room = self.max_batch - len(active)
            active += self.waiting[:room]
            del self.waiting[:room]
            active = [(f, fut) for f, fut in active if not fut.done()]
            if not active:
                continue
            try:
                await asyncio.to_thread(step_choices, self.model, [f for f, _ in active])
            except Exception as e:  # fail these requests, keep serving the next ones
                log.exception("search step failed")
                for _, fut in active:
                    if not fut.done():
                        fut.set_exception(e)
                active = []
                continue
            for f, fut in active:
                if f.done and not fut.done():
                    fut.set_result((finish_choice(f), len(active)))
            active = [(f, fut) for f, fut in active if not f.done]


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
    return Ingress.bind(models, a.max_pending, a.timeout_s)
