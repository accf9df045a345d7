"""The agents a candidate is measured against, and the agent a command line names.

| agent / spec          | what it plays                                                    |
|-----------------------|------------------------------------------------------------------|
| `random_agent`        | uniform over the legal moves                                     |
| `heuristic_agent`     | greedy one-ply over `heuristic.py`'s hand-weighted evaluation    |
| ``CHECKPOINT[:SIMS]`` | (`agent_from_spec`) `matches.checkpoint_agent` at SIMS simulations |

Agents take ``B`` states at once and return one legal move record each (`matches.Agent`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ringrift_ray.eval.heuristic import HeuristicWeights, heuristic_score
from ringrift_ray.eval.matches import Agent, checkpoint_agent
from ringrift_ray.game import apply_record, legal_move_records
from ringrift_ray.search.game_fns import cached_legal_actions, forced_record


def random_agent(name: str = "random") -> Agent:
    """Uniformly random legal moves."""

    def act(states, rng):
        out = []
        for s in states:
            recs = legal_move_records(s)
            out.append(recs[rng.integers(len(recs))])
        return out

    return Agent(name, act)


def heuristic_agent(name: str = "heuristic", weights: HeuristicWeights | None = None) -> Agent:
    """Greedy one-ply: apply each legal move, score the result for the mover
    (`heuristic_score`), play the best (ties broken uniformly at random). A decision with a
    single legal move (most bookkeeping moves) is played without scoring."""

    def act(states, rng):
        out = []
        for s in states:
            forced = forced_record(s)
            if forced is not None:
                out.append(forced)
                continue
            recs = cached_legal_actions(s)[1]
            player = s.current_player
            scores = np.array([heuristic_score(apply_record(s, r), player, weights)
                               for r in recs])
            best = np.flatnonzero(scores >= scores.max() - 1e-9)
            out.append(recs[best[rng.integers(len(best))]])
        return out

    return Agent(name, act)


def agent_from_spec(spec: str, board: str, players: int, num_simulations: int = 32,
                    device: str | None = None) -> Agent:
    """The agent a command line names: ``random``, ``heuristic`` or ``CHECKPOINT[:SIMS]``
    (a `matches.search_agent` at SIMS simulations, default ``num_simulations``), named
    ``spec``.

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: a bad SIMS, an unreadable checkpoint, or one for another variant.
    """
    if spec == "random":
        return random_agent()
    if spec == "heuristic":
        return heuristic_agent()
    path, sims = spec, num_simulations
    head, sep, tail = spec.rpartition(":")
    if sep and tail.isdecimal() and not Path(spec).exists():  # int() takes any decimal
        path, sims = head, int(tail)
    if sims < 1:
        raise ValueError(f"{spec}: the simulation count must be positive")
    return checkpoint_agent(path, sims, board=board, players=players, device=device, name=spec)
