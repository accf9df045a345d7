"""Evaluator: score each new candidate in the background and gate what selfplay plays.

The trainer publishes candidates to one `WeightsStore`; selfplay follows another (the
*promoted* store). The driver keeps one `Evaluator.evaluate_next` call in flight; each call
takes the newest candidate not yet evaluated (candidates published meanwhile are skipped),
saves it to ``checkpoints/candidate_<version>.pt``, plays ``EvalConfig.games`` games against
random, heuristic and the current best (the first candidate, with no best yet, meets the
baselines only), refits Elo over all games so far and applies the promotion gate
(`ringrift_ray.league`). A promoted candidate is published to the promoted store and copied
to ``checkpoints/promoted.pt``. ``league.json`` is rewritten after every evaluation, and a
new Evaluator on the same run directory continues its league (resume).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import ray
import torch

from actors.errors import log_and_raise
from ringrift_ray import league
from ringrift_ray.config import EvalConfig, GameConfig
from ringrift_ray.evaluate import search_agent
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint
from ringrift_ray.train import load_weights_numpy

log = logging.getLogger(__name__)


@ray.remote
class Evaluator:
    """Plays candidates against random, heuristic and the best; keeps ``league.json``."""

    def __init__(self, candidates, promoted, run_dir: str, game: GameConfig, preset: str,
                 cfg: EvalConfig, seed: int = 0):
        """
        Args:
            candidates: `WeightsStore` the trainer publishes to.
            promoted: `WeightsStore` selfplay follows; promoted candidates go there.
            run_dir: the run directory (``league.json``, ``checkpoints/``).
            game, preset: the variant and network preset of the candidates.
            cfg: games, simulations and the promotion gate.
            seed: base seed of the matches (plus the version).

        Raises:
            ValueError: an existing ``league.json`` that is unreadable or for another variant.
        """
        torch.set_num_threads(max(1, int(cfg.cpus)))  # more threads than cores: 50x slower
        self.candidates, self.promoted = candidates, promoted
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "league.json"
        self.game, self.spec, self.cfg, self.seed = game, NetSpec(game.board, game.players,
                                                                  preset), cfg, seed
        self.league = league.load_or_new(self.path, game.board, game.players)

    @log_and_raise
    def evaluate_next(self) -> dict | None:
        """Evaluate the newest unevaluated candidate.

        Returns:
            Its league entry (``version``, ``step``, ``results``, ``elo``, ``promoted``,
            ``reasons``; see `ringrift_ray.league`), or None when no new candidate exists.
        """
        latest = ray.get(self.candidates.latest.remote(league.last_version(self.league)))
        if latest is None:
            return None
        version, ref = latest
        weights = ray.get(ref)
        net = PolicyValueNet(self.spec)
        load_weights_numpy(net, weights)
        checkpoint = self.run_dir / "checkpoints" / f"candidate_{version}.pt"
        save_checkpoint(net, checkpoint, step=version, version=version)
        best = self.league["best"]
        matches = league.play_candidate(
            self._agent(checkpoint, league.candidate_name(version)),
            self._agent(best["checkpoint"], best["name"]) if best else None,
            self.game.board, self.game.players, self.cfg, seed=self.seed + version,
            swap_rule=self.game.swap_rule)
        entry = league.record_evaluation(self.league, version, version, str(checkpoint),
                                         matches, self.cfg.gate)
        if entry["promoted"]:
            self._promote(version, weights, checkpoint)
        league.save_league(self.league, self.path)
        log.info("candidate %d: elo %.1f, promoted %s (%s)", version, entry["elo"],
                 entry["promoted"], "; ".join(entry["reasons"]))
        return entry

    def _agent(self, checkpoint: str | Path, name: str):
        return search_agent(checkpoint, self.cfg.simulations, board=self.game.board,
                            players=self.game.players, device="cpu", name=name)

    def _promote(self, version: int, weights: dict, checkpoint: Path) -> None:
        current = ray.get(self.promoted.version.remote())
        if version > current:  # the store owns a copy: the trainer may exit before selfplay
            ray.get(self.promoted.publish.remote(version, weights))
        else:
            log.warning("promoted store already at version %d; candidate %d not republished",
                        current, version)
        tmp = checkpoint.with_name("promoted.pt.tmp")
        shutil.copyfile(checkpoint, tmp)
        tmp.replace(checkpoint.with_name("promoted.pt"))

    def table(self) -> dict:
        """The league table as written to ``league.json``."""
        return self.league
