"""SelfplayWorker: pull the newest weights, play a batch of games, push the samples.

The driver calls `SelfplayWorker.play_batch` repeatedly (pipelined); the worker never
polls for commands. Created with ``max_restarts`` so a crash costs one batch, not the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import ray
import torch

from actors.errors import call_with_retry, log_and_raise
from ringrift_ray.config import AlphaZeroConfig
from ringrift_ray.net import (
    NetSpec,
    PolicyValueNet,
    infer,
    load_weights_numpy,
    prepare_for_inference,
)
from ringrift_ray.search_fns import network_evaluate
from ringrift_ray.selfplay import play_games

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchReport:
    """`SelfplayWorker.play_batch`'s answer: one batch of games (``selfplay/*`` metrics)."""

    worker: int
    model_version: int  # weights that played the batch (-1: initial random weights)
    games: int
    moves: int  # moves applied, bookkeeping moves included
    samples: int  # samples added to the buffer
    seconds: float
    capped_games: int  # games stopped by the move cap
    nn_batch_fill: float  # mean positions per network call / games per batch
    throttle: bool  # the buffer says selfplay is ahead of the target replay ratio


@ray.remote(max_restarts=-1, max_task_retries=2)
class SelfplayWorker:
    """One selfplay process (fractional GPU when present, else CPU threads).

    Args:
        worker_id: index of the worker (game ids start at ``worker_id * 10**9``).
        cfg: the job's config (game, net, search, selfplay are used).
        buffer: `ReplayBuffer` the samples go to.
        weights: `WeightsStore` whose newest weights play.
        seed: seed of the worker's randomness.
        torch_threads: intra-op threads of CPU inference.
    """

    def __init__(self, worker_id: int, cfg: AlphaZeroConfig, buffer, weights, seed: int,
                 torch_threads: int = 1):
        self.worker_id, self.cfg = worker_id, cfg
        self.buffer, self.weights = buffer, weights
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu":
            torch.set_num_threads(torch_threads)
        self.net = prepare_for_inference(
            PolicyValueNet(NetSpec.from_config(cfg.game, cfg.net)), self.device)
        self.version = -1
        self.rng = np.random.default_rng(seed)
        self.games_played = 0

    def _refresh_weights(self) -> None:
        """Load the store's newest weights if newer; keep the current ones while the store
        is restarting or its object was lost with it."""
        try:
            latest = ray.get(self.weights.latest.remote(self.version))
            if latest is None:
                return
            version, ref = latest
            weights = ray.get(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as e:
            log.warning("weights unavailable (%s); playing version %d", type(e).__name__,
                        self.version)
            return
        load_weights_numpy(self.net, weights)
        self.net.eval()
        self.version = version

    @log_and_raise
    def play_batch(self) -> BatchReport:
        """Play one batch of games with the newest weights and add the samples to the
        buffer (retried while the buffer restarts: samples are acknowledged only once the
        buffer holds them)."""
        self._refresh_weights()
        evaluate = network_evaluate(lambda obs: infer(self.net, obs, self.device))
        first_id = self.worker_id * 1_000_000_000 + self.games_played
        batch, stats = play_games(self.cfg.game, evaluate, self.cfg.search, self.cfg.selfplay,
                                  self.rng, model_version=max(self.version, 0),
                                  first_game_id=first_id)
        self.games_played += stats.games
        throttle = bool(len(batch)) and call_with_retry(
            lambda: self.buffer.add.remote(batch), "buffer.add").throttle
        return BatchReport(
            worker=self.worker_id, model_version=self.version, games=stats.games,
            moves=stats.moves, samples=stats.samples, seconds=stats.seconds,
            capped_games=stats.capped_games,
            nn_batch_fill=stats.nn_batch_fill / self.cfg.selfplay.games_per_batch,
            throttle=throttle)
