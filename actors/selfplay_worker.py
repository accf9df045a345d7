"""SelfplayWorker: pull the newest weights, play a batch of games, push the samples.

The driver calls `SelfplayWorker.play_batch` repeatedly (pipelined); the worker never
polls for commands. Created with ``max_restarts`` so a crash costs one batch, not the run.
"""

from __future__ import annotations

import logging

import numpy as np
import ray
import torch

from ringrift_ray.agent import network_evaluate
from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.net import NetSpec, PolicyValueNet, infer, prepare_for_inference
from ringrift_ray.selfplay import play_games
from ringrift_ray.train import load_weights_numpy

log = logging.getLogger(__name__)


@ray.remote(max_restarts=-1, max_task_retries=2)
class SelfplayWorker:
    """One selfplay process (fractional GPU when present, else CPU threads)."""

    def __init__(self, worker_id: int, game: GameConfig, preset: str, search: SearchConfig,
                 selfplay: SelfplayConfig, buffer, weights, seed: int, torch_threads: int = 1):
        self.worker_id = worker_id
        self.game, self.search, self.selfplay = game, search, selfplay
        self.buffer, self.weights = buffer, weights
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cpu":
            torch.set_num_threads(torch_threads)
        self.net = prepare_for_inference(
            PolicyValueNet(NetSpec(game.board, game.players, preset)), self.device)
        self.version = -1
        self.rng = np.random.default_rng(seed)
        self.games_played = 0

    def _refresh_weights(self) -> None:
        latest = ray.get(self.weights.latest.remote(self.version))
        if latest is None:
            return
        version, ref = latest
        weights = ray.get(ref) if isinstance(ref, ray.ObjectRef) else ref
        load_weights_numpy(self.net, weights)
        self.net.eval()
        self.version = version

    def play_batch(self) -> dict:
        """Play one batch of games with the newest weights and add the samples to the
        buffer. Returns selfplay statistics (``selfplay/...`` metrics without prefix) and the
        buffer's answer (``throttle``: generation is ahead of the target replay ratio)."""
        try:
            self._refresh_weights()
            evaluate = network_evaluate(lambda obs: infer(self.net, obs, self.device))
            first_id = self.worker_id * 1_000_000_000 + self.games_played
            batch, stats = play_games(self.game.board, self.game.players, evaluate, self.search,
                                      self.selfplay, self.rng, model_version=max(self.version, 0),
                                      first_game_id=first_id, swap_rule=self.game.swap_rule)
            self.games_played += stats.games
            added = ray.get(self.buffer.add.remote(batch)) if len(batch) else {}
            return {
                "worker": self.worker_id, "model_version": self.version, "games": stats.games,
                "moves": stats.moves, "samples": stats.samples, "seconds": stats.seconds,
                "capped_games": stats.capped_games,
                "nn_batch_fill": stats.nn_batch_fill / self.selfplay.games_per_batch,
                "throttle": bool(added.get("throttle", False)),
            }
        except Exception:
            log.exception("selfplay worker %d failed", self.worker_id)
            raise
