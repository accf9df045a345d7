"""Evaluator: score each new candidate in the background and gate what selfplay plays.

The trainer publishes candidates to one `WeightsStore`; selfplay follows another (the
*promoted* store). The driver keeps one `Evaluator.evaluate_next` call in flight; each call
takes the newest candidate not yet evaluated (candidates published meanwhile are skipped),
builds its network from the weights in memory and runs the promotion gate's sequential
tests (`gate.gate_candidate`, statistics in `ringrift_ray.eval.gate_stats`): batches of
``EvalConfig.concurrency`` games at ``EvalConfig.num_simulations`` simulations against random
and the heuristic (Wilson lower bound above the threshold), one batch against each of the
stronger ``EvalConfig.baselines`` (``uct:N``, ``minimax:D``: not gated, for Elo), then the
current best (SPRT on Elo bounds; the first candidate, with no best yet, meets the baselines
only), each until its test decides or ``EvalConfig.games`` games; `gate.decide` gives the
verdict and the league
records it (`league.record_evaluation`: Elo refit over all games so far). For
the user, each candidate is also written to ``checkpoints/candidate_<version>.pt`` and its
games (move lists) to ``games/v<version>.jsonl`` (``ringrift-ray show RUN_DIR --game N``);
a promoted candidate is published to the promoted store and copied to
``checkpoints/promoted.pt``. ``league.json`` is rewritten after every evaluation, with each
check's decision, interval / LLR and games; a new or restarted Evaluator on the same run
directory continues its league (resume: the best network is read back from its checkpoint
once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import ray
import torch

from actors.errors import log_and_raise
from actors.naming import ActorName
from ringrift_ray import storage
from ringrift_ray.cli.progress import progress
from ringrift_ray.config import AlphaZeroConfig
from ringrift_ray.eval import gate, league, run_records
from ringrift_ray.eval.baselines import agent_from_spec
from ringrift_ray.eval.matches import search_agent
from ringrift_ray.net import (
    NetSpec,
    PolicyValueNet,
    load_checkpoint,
    load_weights_numpy,
    save_checkpoint,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """`Evaluator.evaluate_next`'s answer: one candidate's evaluation (its league entry)."""

    version: int  # the candidate's published version (train step)
    elo: float  # Elo right after this evaluation (random = 0)
    promoted: bool
    win_rates: dict[str, float]  # opponent ("random", "heuristic", "best") -> win rate
    reasons: tuple[str, ...]  # one line per gate check (decision, interval / LLR, games)
    games: int = 0  # games played in this evaluation, all opponents


PROGRESS_DELAY_S = 60.0  # an evaluation shorter than this prints no progress lines


@ray.remote(max_restarts=-1)
class Evaluator:
    """Plays candidates against random, heuristic and the best; keeps ``league.json``.

    Args:
        candidates: name of the `WeightsStore` the trainer publishes to
            (`naming.ActorName`).
        promoted: name of the `WeightsStore` selfplay follows; promoted candidates go there.
        run_dir: the run directory (``league.json``, ``checkpoints/``, ``games/``).
        cfg: the job's config (game, net, eval; ``run.seed`` + version seeds the matches).

    Raises:
        ValueError: an existing ``league.json`` that is unreadable or for another variant,
            or an unreadable best checkpoint.
    """

    def __init__(self, candidates: ActorName, promoted: ActorName, run_dir: str,
                 cfg: AlphaZeroConfig):
        torch.set_num_threads(max(1, int(cfg.eval.cpus)))  # more threads than cores: 50x slower
        # eval.gpus > 0: Ray gave this actor a GPU (CUDA_VISIBLE_DEVICES); bf16 inference there
        self.device = "cuda" if cfg.eval.gpus > 0 and torch.cuda.is_available() else "cpu"
        self.candidates, self.promoted = candidates.handle(), promoted.handle()
        self.run_dir = run_dir  # a path or a URI (`ringrift_ray.storage`)
        self.path = storage.join(run_dir, "league.json")
        self.cfg = cfg
        self.spec = NetSpec.from_config(cfg.game, cfg.net)
        self.league = league.load_or_new(self.path, cfg.game.board, cfg.game.players)
        best = self.league.best
        self.best_net = (load_checkpoint(best.checkpoint, expect=self.spec)[0]
                         if best else None)
        self.baselines = {spec: agent_from_spec(spec, cfg.game.board, cfg.game.players)
                          for spec in cfg.eval.baselines}  # uct:N, minimax:D (for Elo)

    @log_and_raise
    def evaluate_next(self) -> Evaluation | None:
        """Evaluate the newest unevaluated candidate; None when no new candidate exists."""
        latest = ray.get(self.candidates.latest.remote(league.last_version(self.league)))
        if latest is None:
            return None
        version, ref = latest
        weights = ray.get(ref)
        net = PolicyValueNet(self.spec)
        load_weights_numpy(net, weights)
        checkpoint = storage.join(self.run_dir, "checkpoints", f"candidate_{version}.pt")
        save_checkpoint(net, checkpoint, step=version, version=version)
        best = self.league.best
        game = self.cfg.game
        batch = self.cfg.eval.concurrency + self.cfg.eval.concurrency % 2
        most = (self.cfg.eval.games * (3 if best else 2)  # the gate may stop sooner
                + batch * len(self.baselines))
        with progress(most, f"evaluating candidate {version}", "game",
                      delay_s=PROGRESS_DELAY_S) as bar:
            checks = gate.gate_candidate(
                self._agent(net, league.candidate_name(version)),
                self._agent(self.best_net, best.name) if best else None,
                game.board, game.players, self.cfg.eval, seed=self.cfg.run.seed + version,
                swap_rule=game.swap_rule, on_game_end=lambda _: bar.update(),
                baselines=self.baselines)
        verdict = gate.decide(checks)
        run_records.save_games(checks,
                               storage.join(self.run_dir, "games", f"v{version}.jsonl"),
                               version=version, swap_rule=game.swap_rule)
        self.league = league.record_evaluation(self.league, version, version,
                                               str(checkpoint), verdict)
        entry = self.league.versions[-1]
        if verdict.promoted:
            self._promote(version, weights, net, checkpoint)
        league.save_league(self.league, self.path)
        log.info("candidate %d: elo %.1f, promoted %s, %d games (%s)", version, entry.elo,
                 entry.promoted, verdict.games, "; ".join(entry.reasons))
        return Evaluation(
            version=version, elo=entry.elo_at_eval, promoted=entry.promoted,
            win_rates={k: r.win_rate for k, r in entry.results.items()},
            reasons=entry.reasons, games=verdict.games)

    def _agent(self, net: PolicyValueNet, name: str):
        return search_agent(net, self.cfg.eval.num_simulations, name=name, device=self.device)

    def _promote(self, version: int, weights: dict, net: PolicyValueNet,
                 checkpoint: Path | str) -> None:
        current = ray.get(self.promoted.version.remote())
        if version > current:  # the store owns a copy: the trainer may exit before selfplay
            ray.get(self.promoted.publish.remote(version, weights))
        else:
            log.warning("promoted store already at version %d; candidate %d not republished",
                        current, version)
        self.best_net = net
        storage.copy(checkpoint, storage.join(self.run_dir, "checkpoints", "promoted.pt"))

    def table(self) -> league.League:
        """The league table (``league.json``'s contents: `League.to_json`)."""
        return self.league
