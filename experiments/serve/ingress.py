"""The FastAPI ingress of the move service: the reference ``/ai/move`` contract on Ray
Serve, health, metrics and the play page.

| route                 | answer                                                          |
|-----------------------|-----------------------------------------------------------------|
| POST /ai/move         | `MoveResponse` (``ringrift_ray.service.api``)                   |
| POST /ai/moves_batch  | `BatchMoveResponse`, 1..64 states                               |
| GET /health           | 200 ``{status: healthy, models}`` while the ingress runs        |
| GET /ready            | 200 when every model answers ``info`` (loaded), else 503        |
| GET /metrics          | Prometheus text (``metrics.py``)                                |
| GET /play             | the play page; /play/new, /play/view, /play/apply are its rules |

Errors (``detail`` says why; the replica keeps serving):

| status | when                                                                       |
|--------|----------------------------------------------------------------------------|
| 422    | malformed JSON, or a field fails validation (FastAPI names its ``loc``)     |
| 400    | the rules reject the state (``service.positions.StateRejected``), or no    |
|        | model serves its board / player count                                      |
| 503    | more than ``max_pending`` positions in flight here (``Retry-After: 1``),   |
|        | or Serve's own backpressure                                                |
| 504    | the request's deadline (``timeout_ms`` or the server's) passed             |
"""


import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from ray import serve
from ray.serve.exceptions import BackPressureError

from experiments.serve import metrics
from ringrift_ray.game import BOARD_TYPES, move_to_reference, move_to_text
from ringrift_ray.service import play
from ringrift_ray.service.api import (
    AI_TYPE,
    BatchMoveItem,
    BatchMoveRequest,
    BatchMoveResponse,
    MoveRequest,
    MoveResponse,
    simulations_for,
)
from ringrift_ray.service.positions import StateRejected, position_of, variant_of

log = logging.getLogger(__name__)
app = FastAPI(title="ringrift-ray move service",
              description="The reference RingRift AI service's move API on Ray Serve")
metrics.install(app)


class PlayBody(BaseModel):
    """A play-page call: the position, and the move to apply (``/play/apply``)."""

    game_state: dict[str, Any]
    state_extras: dict[str, Any] | None = None
    move: dict[str, Any] | None = None
    move_text: str | None = None
    picture: bool = True  # /play/apply: False leaves out the SVG and the legal moves


def _rejected(e: StateRejected) -> HTTPException:
    return HTTPException(status_code=400, detail=str(e))


class ModelClient:
    """The ingress's side of one model deployment: positions asked for while
    ``calls_in_flight`` handle calls are out wait, and the next call carries all of them
    (one Serve call per batch, not per request; a lone request goes at once).

    `choose` returns a future per position. Cancelling it (a deadline, a client gone) drops
    the position if it is still waiting; once every position of a call is cancelled, the
    call is cancelled, and the model drops their searches.
    """

    def __init__(self, handle: Any, calls_in_flight: int):
        self.handle, self.calls_in_flight, self.calls = handle, calls_in_flight, 0
        self.queue: list[tuple[tuple, asyncio.Future]] = []

    def choose(self, item: tuple) -> asyncio.Future:
        """``(state, budget, seed)`` -> a future of ``(Choice, searches in its last step)``
        (or the model's error: `BackPressureError` when Serve refuses the call)."""
        future = asyncio.get_running_loop().create_future()
        self.queue.append((item, future))
        self._send()
        return future

    def _send(self) -> None:
        while self.queue and self.calls < self.calls_in_flight:
            batch = [(item, f) for item, f in self.queue if not f.done()]
            self.queue = []
            if batch:
                self.calls += 1
                asyncio.get_running_loop().create_task(self._call(batch))

    async def _call(self, batch: list[tuple[tuple, asyncio.Future]]) -> None:
        futures = [f for _, f in batch]
        response = self.handle.choose.remote([item for item, _ in batch])

        def cancel_if_abandoned(_: asyncio.Future) -> None:
            if all(f.cancelled() for f in futures):
                response.cancel()

        for f in futures:
            f.add_done_callback(cancel_if_abandoned)
        try:
            answers = await response
        except (Exception, asyncio.CancelledError) as e:  # the call's error is each answer's
            answers = [e] * len(futures)
        finally:
            self.calls -= 1
            self._send()
        for f, answer in zip(futures, answers, strict=True):
            if f.done():
                continue
            if isinstance(answer, asyncio.CancelledError):
                f.cancel()
            elif isinstance(answer, BaseException):
                f.set_exception(answer)
            else:
                f.set_result(answer)


@serve.deployment(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=2048)
@serve.ingress(app)
class Ingress:
    """Validates, routes each position to its model by (board, players), bounds the
    positions in flight and the time a request may take."""

    def __init__(self, models: list, max_pending: int, timeout_s: float,
                 calls_in_flight: int = 2):
        self.handles, self.max_pending, self.timeout_s = models, max_pending, timeout_s
        self.calls_in_flight = calls_in_flight
        self.routes: dict[tuple[str, int], tuple[ModelClient, dict]] | None = None
        self.pending = 0
        self.pictures = ThreadPoolExecutor(max_workers=1, thread_name_prefix="play-page")

    async def _route_table(self) -> dict[tuple[str, int], tuple[ModelClient, dict]]:
        if self.routes is None:
            infos = await asyncio.gather(*(h.info.remote() for h in self.handles))
            self.routes = {(i["board"], i["players"]): (ModelClient(h, self.calls_in_flight), i)
                           for h, i in zip(self.handles, infos, strict=True)}
        return self.routes

    async def _route(self, variant: tuple[str, int]) -> tuple[ModelClient, dict]:
        routes = await self._route_table()
        if variant not in routes:
            have = ", ".join(i["model_id"] for _, i in routes.values())
            raise HTTPException(400, detail=f"no model for {variant[0]} {variant[1]}p on "
                                f"this server (models: {have})")
        return routes[variant]

    async def _choose(self, calls: list[tuple[ModelClient, tuple]],
                      timeout_ms: int | None) -> list:
        """Ask ``(model, (state, budget, seed))`` positions; all answers or 503 / 504."""
        if self.pending + len(calls) > self.max_pending:
            metrics.REJECTED.labels("overload").inc()
            raise HTTPException(503, detail=f"overloaded: {self.pending} positions in "
                                "flight", headers={"Retry-After": "1"})
        timeout = self.timeout_s if timeout_ms is None else min(self.timeout_s,
                                                                 timeout_ms / 1000)
        self.pending += len(calls)
        metrics.PENDING.set(self.pending)
        answers = [client.choose(item) for client, item in calls]
        try:  # on a deadline or a client gone, the answers are cancelled: so are their searches
            return await asyncio.wait_for(asyncio.gather(*answers), timeout)
        except TimeoutError:
            metrics.REJECTED.labels("deadline").inc()
            raise HTTPException(504, detail=f"deadline of {timeout:.3f} s passed") from None
        except BackPressureError as e:
            raise HTTPException(503, detail=str(e), headers={"Retry-After": "1"}) from None
        except Exception as e:  # a model replica failed: this request fails, not the server
            log.exception("move choice failed")
            raise HTTPException(500, detail=f"{type(e).__name__}: {e}") from None
        finally:
            self.pending -= len(calls)
            metrics.PENDING.set(self.pending)

    @app.post("/ai/move", response_model=MoveResponse)
    async def move(self, req: MoveRequest) -> MoveResponse:
        start = time.perf_counter()
        handle, info = await self._route(variant_of(req.game_state))
        try:
            state = position_of(req.game_state, req.player_number, req.state_extras)
        except StateRejected as e:
            raise _rejected(e) from None
        [(choice, batch)] = await self._choose(
            [(handle, (state, simulations_for(req.difficulty), req.seed))], req.timeout_ms)
        metrics.observe_move(info["model_id"], choice.simulations, batch)
        return MoveResponse(
            move=move_to_reference(choice.move), evaluation=choice.evaluation,
            thinking_time_ms=int((time.perf_counter() - start) * 1000), ai_type=AI_TYPE,
            difficulty=req.difficulty, nn_model_id=info["model_id"],
            nn_checkpoint=info["checkpoint"], move_text=move_to_text(choice.move),
            simulations=choice.simulations)

    @app.post("/ai/moves_batch", response_model=BatchMoveResponse)
    async def moves_batch(self, req: BatchMoveRequest) -> BatchMoveResponse:
        start = time.perf_counter()
        budget = req.simulation_budget or simulations_for(req.difficulty)
        extras = req.states_extras or [None] * len(req.game_states)
        calls, model_ids = [], []
        for i, (gs, p) in enumerate(zip(req.game_states, req.player_numbers, strict=True)):
            handle, info = await self._route(variant_of(gs))
            try:
                state = position_of(gs, p, extras[i])
            except StateRejected as e:
                raise HTTPException(400, detail=f"game_states[{i}]: {e}") from None
            seed = None if req.seed is None else (req.seed + i) & 0x7FFFFFFF
            calls.append((handle, (state, budget, seed)))
            model_ids.append(info["model_id"])
        answers = await self._choose(calls, req.timeout_ms)
        for model_id, (c, batch) in zip(model_ids, answers, strict=True):
            metrics.observe_move(model_id, c.simulations, batch)
        items = [BatchMoveItem(move=move_to_reference(c.move), evaluation=c.evaluation,
                               game_index=i, move_text=move_to_text(c.move))
                 for i, (c, _) in enumerate(answers)]
        seconds = time.perf_counter() - start
        return BatchMoveResponse(moves=items, total_thinking_time_ms=int(seconds * 1000),
                                 games_processed=len(items), mode=req.mode,
                                 throughput_games_per_sec=len(items) / max(seconds, 1e-3))

    @app.get("/health")
    async def health(self) -> dict[str, Any]:
        routes = self.routes or {}
        return {"status": "healthy", "models": [i for _, i in routes.values()]}

    @app.get("/ready")
    async def ready(self, response: Response) -> dict[str, Any]:
        try:
            routes = await asyncio.wait_for(self._route_table(), 5.0)
        except Exception as e:  # a model not (yet) up: not ready, and say why
            log.warning("not ready: %s", e)
            response.status_code = 503
            return {"ready": False, "reason": f"{type(e).__name__}: {e}"}
        return {"ready": True, "models": [i for _, i in routes.values()]}

    @app.get("/metrics")
    async def metrics_text(self) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    @app.get("/play", response_class=HTMLResponse)
    async def page(self) -> str:
        return play.page_html()

    async def _page_call(self, fn, *args) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pictures, fn, *args)
        except StateRejected as e:
            raise _rejected(e) from None

    @app.get("/play/new")
    async def play_new(self, board: Literal[BOARD_TYPES] = Query("square8"),
                       players: int = Query(2, ge=2, le=4)) -> dict[str, Any]:
        return await self._page_call(play.new_position, board, players)

    @app.post("/play/view")
    async def play_view(self, body: PlayBody) -> dict[str, Any]:
        return await self._page_call(play.view, body.game_state, body.state_extras,
                                     body.move_text)

    @app.post("/play/apply")
    async def play_apply(self, body: PlayBody) -> dict[str, Any]:
        if body.move is None:
            raise HTTPException(422, detail=[{"loc": ["body", "move"], "msg": "required"}])
        return await self._page_call(play.apply, body.game_state, body.state_extras,
                                     body.move, body.picture)
