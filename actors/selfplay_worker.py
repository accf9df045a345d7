"""SelfplayWorker: continuous selfplay in game slots; pull the newest weights, push samples.

The driver calls `SelfplayWorker.play_batch` repeatedly (pipelined); the worker never
polls for commands. The worker's game slots (`selfplay.SlotRun`) live across calls: each
call is a reporting interval that plays search steps until ``games_per_batch`` games have
finished and pushes their samples in one ``buffer.add``. Newer weights are loaded between
search steps, at most every ``selfplay.weights_poll_s`` seconds (games in flight continue
with them; each sample records the version whose search produced it). The network runs on
the backend ``selfplay.inference`` picks (`ringrift_ray.inference`). Created with
``max_restarts`` so a crash costs the games in flight, not the run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import ray
import torch

from actors.errors import call_with_retry, log_and_raise
from actors.naming import ActorName
from ringrift_ray.config import AlphaZeroConfig
from ringrift_ray.inference import Inference
from ringrift_ray.net import NetSpec, PolicyValueNet
from ringrift_ray.replay.outbox import Outbox
from ringrift_ray.search.game_fns import network_evaluate
from ringrift_ray.selfplay import new_run, play_steps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchReport:
    """`SelfplayWorker.play_batch`'s answer: one reporting interval (``selfplay/*`` metrics).

    ``games``, ``moves``, ``samples`` count the games finished in the interval (their moves
    may have started in an earlier one); rates are per second of this interval.
    """

    worker: int
    model_version: int  # weights that played the interval (-1: initial random weights)
    games: int
    moves: int  # moves applied, bookkeeping moves included
    samples: int  # samples of the interval's finished games (sent to the buffer)
    seconds: float
    capped_games: int  # games stopped by the move cap
    nn_batch_fill: float  # mean positions per network call / game slots
    throttle: bool  # the buffer says selfplay is ahead of the target replay ratio
    searched_moves: int = 0  # searched decisions played in the interval
    simulations: int = 0  # search simulations of those decisions
    model_lag: float = 0.0  # mean versions the pushed samples are behind the newest weights
    producer: str = ""  # this worker process's replay ledger id (`replay.ledger`)
    generated: int = 0  # samples this process produced, all intervals
    received: int = 0  # of those, samples the buffer received (held in memory or on disk)
    acknowledged: int = 0  # samples the buffer acknowledged (on disk; no longer held here)


@ray.remote(max_restarts=-1, max_task_retries=2)
class SelfplayWorker:
    """One selfplay process (fractional GPU when present, else CPU threads).

    Args:
        worker_id: index of the worker (game ids start at ``worker_id * 10**9``).
        cfg: the job's config (game, net, search, selfplay are used).
        buffer: name of the `ReplayBuffer` the samples go to (`naming.ActorName`).
        weights: name of the `WeightsStore` whose newest weights play.
        seed: seed of the worker's randomness.
        torch_threads: intra-op threads of CPU inference.
    """

    def __init__(self, worker_id: int, cfg: AlphaZeroConfig, buffer: ActorName,
                 weights: ActorName, seed: int, torch_threads: int = 1):
        self.worker_id, self.cfg = worker_id, cfg
        self.buffer, self.weights = buffer.handle(), weights.handle()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu":
            torch.set_num_threads(torch_threads)
        self.inference = Inference(PolicyValueNet(NetSpec.from_config(cfg.game, cfg.net)),
                                   cfg.selfplay.inference, self.device, torch_threads)
        self.evaluate = network_evaluate(self.inference)
        self.version = -1
        self.polled_at = 0.0  # perf_counter of the last weights check
        self.rng = np.random.default_rng(seed)
        self.games_played = 0
        self.run = None  # game slots, created by the first play_batch
        self.outbox = Outbox(f"w{worker_id}-{time.time_ns()}", self._send)

    def _send(self, batch, producer: str, seq: int, floor: int):
        """One ``buffer.add``, retried while the buffer restarts (`Outbox`'s ``send``)."""
        return call_with_retry(lambda: self.buffer.add.remote(batch, producer, seq, floor),
                               "buffer.add")

    def _refresh_weights(self) -> int:
        """Load the store's newest weights if newer; keep the current ones while the store
        is restarting or its object was lost with it. Returns the version that plays (0 for
        the initial random weights)."""
        self.polled_at = time.perf_counter()
        try:
            latest = ray.get(self.weights.latest.remote(self.version))
            if latest is None:
                return max(self.version, 0)
            version, ref = latest
            weights = ray.get(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as e:
            log.warning("weights unavailable (%s); playing version %d", type(e).__name__,
                        self.version)
            return max(self.version, 0)
        self.inference.load(weights)
        self.version = version
        return version

    def _poll_weights(self) -> int:
        """`_refresh_weights` at most every ``selfplay.weights_poll_s`` seconds."""
        if time.perf_counter() - self.polled_at < self.cfg.selfplay.weights_poll_s:
            return max(self.version, 0)
        return self._refresh_weights()

    @log_and_raise
    def play_batch(self) -> BatchReport:
        """Play one reporting interval with the newest weights (the game slots continue from
        the last call) and add the finished games' samples to the buffer in one call
        through the `Outbox` (retried while the buffer restarts; batches are held until the
        buffer reports them on disk and sent again if a restarted buffer lost them)."""
        if self.run is None:
            self.run = new_run(self.cfg.game, self.cfg.search, self.cfg.selfplay,
                               first_game_id=self.worker_id * 1_000_000_000)
        batch, stats = play_steps(self.run, self.evaluate, self.rng,
                                  between_steps=self._poll_weights)
        self.games_played += stats.games
        reply = self.outbox.push(batch)
        throttle = reply is not None and (reply.throttle or reply.verdict == "full")
        lag = 0.0
        if len(batch):
            lag = max(0.0, self._newest_version() - float(batch.model_version.mean()))
        return BatchReport(
            worker=self.worker_id, model_version=self.version, games=stats.games,
            moves=stats.moves, samples=stats.samples, seconds=stats.seconds,
            capped_games=stats.capped_games,
            nn_batch_fill=stats.nn_batch_fill / self.cfg.selfplay.games_per_batch,
            throttle=throttle, searched_moves=stats.searched_moves,
            simulations=stats.simulations, model_lag=lag, producer=self.outbox.producer,
            generated=self.outbox.generated, received=self.outbox.received,
            acknowledged=self.outbox.acknowledged)

    def _newest_version(self) -> int:
        """The store's newest version (this worker's own while the store is unavailable)."""
        try:
            return max(int(ray.get(self.weights.version.remote())), self.version)
        except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError):
            return self.version
