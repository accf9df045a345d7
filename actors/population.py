"""`Population` actor: the PBT population's league and what the one selfplay stream plays.

Members (``experiments/tune/member.py``) call `Population.best` for the opponent of their
evaluation (the current best member's newest network) and `Population.record` with their
games and weights after each evaluation. The actor keeps the population league
(`ringrift_ray.eval.population`, ``run_dir/population.json`` rewritten after every record), each
member's newest weights (in the object store and in ``run_dir/population/<member>.pt``, so
a restarted run plays the same opponents) and publishes to the selfplay `WeightsStore`:
with ``selfplay_top_k`` = 1 the best member's newest weights whenever they change; with
k > 1 the next of the k strongest members at every record (a mix). "Best" = the highest
Elo among each member's newest evaluation.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import ray
import torch

from actors.errors import log_and_raise
from actors.naming import ActorName
from ringrift_ray.eval import population
from ringrift_ray.eval.league import OpponentResult
from ringrift_ray.net import (
    NetSpec,
    PolicyValueNet,
    load_checkpoint,
    load_weights_numpy,
    save_checkpoint,
    weights_numpy,
)

log = logging.getLogger(__name__)


@ray.remote(max_restarts=-1)
class Population:
    """The population league, the members' newest weights, selfplay's weights.

    Args:
        run_dir: the PBT run directory (``population.json``, ``population/``,
            ``checkpoints/best.pt``).
        spec: the members' network spec.
        selfplay: name of the `WeightsStore` the selfplay workers follow
            (`naming.ActorName`).
        selfplay_top_k: 1 = selfplay plays the best member; k > 1: a mix of the k best.

    Raises:
        ValueError: an unreadable ``population.json`` or member checkpoint, or one for
            another variant.
    """

    def __init__(self, run_dir: str, spec: NetSpec, selfplay: ActorName,
                 selfplay_top_k: int = 1):
        torch.set_num_threads(1)
        self.run_dir, self.spec = Path(run_dir), spec
        self.selfplay, self.top_k = selfplay.handle(), selfplay_top_k
        self.path = self.run_dir / "population.json"
        self.table = population.load_or_new(self.path, spec.board, spec.players)
        self.weights: dict[str, tuple[str, ray.ObjectRef]] = {}  # member -> (name, ref)
        for member, entry in population.latest_by_member(self.table).items():
            path = self.run_dir / "population" / f"{member}.pt"
            if path.exists():
                net, _ = load_checkpoint(path, expect=spec)
                self.weights[member] = (entry.name, ray.put(weights_numpy(net)))
        self.turn = 0  # rotation through the top k
        self._publish(force=True)

    def ready(self) -> int:
        """The selfplay store's version once the actor is up (the driver waits on it)."""
        return ray.get(self.selfplay.version.remote())

    def best(self) -> tuple[str, ray.ObjectRef] | None:
        """``(league name, weights ref)`` of the best member's newest evaluated network,
        None before any member has been evaluated."""
        for entry in population.ranking(self.table):
            if entry.member in self.weights:
                return self.weights[entry.member]
        return None

    @log_and_raise
    def record(self, member: str, iteration: int, step: int, weights: dict[str, np.ndarray],
               outcomes: list, results: dict[str, OpponentResult], trial_id: str = "",
               exploited_from: str | None = None, config: dict | None = None) -> dict:
        """Fold one member evaluation into the league (`population.record`), keep its
        weights, save ``population.json`` and publish selfplay's next weights.

        Returns:
            ``{"name", "version", "elo" (the member's score), "best" (best member's
            name), "rank" (1 = best)}``.
        """
        self.table = population.record(self.table, member, iteration, step, outcomes,
                                       results, trial_id=trial_id,
                                       exploited_from=exploited_from, config=config)
        entry = self.table.versions[-1]
        self.weights[member] = (entry.name, ray.put(weights))  # the actor owns a copy
        net = PolicyValueNet(self.spec)
        load_weights_numpy(net, weights)
        save_checkpoint(net, self.run_dir / "population" / f"{member}.pt", step=step,
                        name=entry.name)
        self._publish()
        population.save_population(self.table, self.path)
        order = [v.member for v in population.ranking(self.table)]
        return {"name": entry.name, "version": entry.version, "elo": entry.elo_at_eval,
                "best": self.table.selfplay[-1].name if self.table.selfplay else None,
                "rank": order.index(member) + 1}

    def evaluations(self) -> int:
        """Evaluations recorded so far (all runs)."""
        return len(self.table.versions)

    def table_now(self) -> population.Population:
        """The population league (``population.json``'s contents: `Population.to_json`)."""
        return self.table

    def _publish(self, force: bool = False) -> None:
        """Publish selfplay's next weights when they differ from the last published ones, as
        the next version; ``force`` (start-up) also republishes the last published weights
        under their version to a store that lacks them (a fresh store on resume), so a
        sample's ``model_version`` names the same network across runs. Version 0 is the
        driver's initial network."""
        ranked = [v.member for v in population.ranking(self.table)
                  if v.member in self.weights][: self.top_k]
        if not ranked:
            return
        member = ranked[self.turn % len(ranked)]
        self.turn += 1
        name, ref = self.weights[member]
        last = self.table.selfplay[-1] if self.table.selfplay else None
        current = ray.get(self.selfplay.version.remote())
        if last is not None and name == last.name:
            if not force or current >= last.version:
                return
            version = last.version  # a fresh store (restart): same weights, same version
        else:
            version = max(current, last.version if last else 0) + 1
            change = population.SelfplayChange(version=version, name=name,
                                               time=self.table.versions[-1].time)
            self.table = self.table.model_copy(
                update={"selfplay": (*self.table.selfplay, change)})
        weights = ray.get(ref)
        ray.get(self.selfplay.publish.remote(version, weights))
        if member == ranked[0]:
            net = PolicyValueNet(self.spec)
            load_weights_numpy(net, weights)
            save_checkpoint(net, self.run_dir / "checkpoints" / "best.pt", name=name)
        log.info("selfplay now plays %s (store version %d)", name, version)
