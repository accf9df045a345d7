"""The agents a candidate is measured against, and the agent a command line names.

| agent / spec          | what it plays                                    | square8 2p, 20 games |
|-----------------------|--------------------------------------------------|----------------------|
| ``random``            | `random_agent`: uniform over the legal moves     | chance               |
| ``heuristic``         | `heuristic_agent`: greedy one-ply over           | 0.93 vs random (200) |
|                       | `heuristic.py`'s hand-weighted evaluation        |                      |
| ``uct:N``             | `uct.uct_agent`: plain UCT, N simulations, one   | uct:200: 0.85 vs     |
|                       | random rollout per leaf, max^n backup            | heuristic (40 games: |
|                       |                                                  | 0.88), 0.3 s/dec     |
| ``minimax:D``         | `minimax.minimax_agent`: alpha-beta D plies on   | minimax:2: 0.85 vs   |
|                       | the heuristic (paranoid for 3-4 players)         | heuristic, 0.02 s/dec|
| ``CHECKPOINT[:SIMS]`` | `matches.checkpoint_agent` at SIMS simulations   |                      |
| ``...:reuse``         | the same with subtree reuse (`search.reuse`)     | README "Search"      |

Strengths: win rates (seats alternating) from ``benchmarks/calibrate_baselines.py``
(``benchmarks/baselines_cpu.json``; README "Evaluation" has the table and its intervals).
``minimax:1`` plays exactly as ``heuristic``.

Agents take ``B`` states at once and return one legal move record each (`matches.Agent`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ringrift_ray.config import SearchConfig
from ringrift_ray.eval.heuristic import HeuristicWeights, heuristic_score
from ringrift_ray.eval.matches import Agent, best_scored_agent, checkpoint_agent
from ringrift_ray.eval.minimax import minimax_agent
from ringrift_ray.eval.uct import uct_agent
from ringrift_ray.game import apply_record, legal_move_records
from ringrift_ray.search.game_fns import cached_legal_actions


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

    def scores(state, rng):
        records = cached_legal_actions(state)[1]
        player = state.current_player
        return records, np.array([heuristic_score(apply_record(state, r), player, weights)
                                  for r in records])

    return best_scored_agent(name, scores, tie=1e-9)


def agent_from_spec(spec: str, board: str, players: int, num_simulations: int = 32,
                    device: str | None = None) -> Agent:
    """The agent a command line names, named ``spec``: ``random``, ``heuristic``, ``uct:N``
    (`uct.uct_agent`, N simulations), ``minimax:D`` (`minimax.minimax_agent`, D plies) or
    ``CHECKPOINT[:SIMS]`` (a `matches.search_agent` at SIMS simulations, default
    ``num_simulations``), optionally suffixed ``:reuse`` (``SearchConfig.subtree_reuse``:
    each game's next search starts from its last search's subtree).

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: a bad N, D or SIMS, an unreadable checkpoint, or one for another variant.
    """
    if spec == "random":
        return random_agent()
    if spec == "heuristic":
        return heuristic_agent()
    kind, sep, arg = spec.partition(":")
    if sep and kind in ("uct", "minimax") and not Path(spec).exists():
        what = "simulation count N" if kind == "uct" else "depth D"
        if not (arg.isascii() and arg.isdecimal()) or int(arg) < 1:
            raise ValueError(f"{spec}: {kind}:{what.split()[-1]} needs a positive integer "
                             f"{what}, got {arg!r}")
        return uct_agent(int(arg), spec) if kind == "uct" else minimax_agent(int(arg), spec)
    path, sims, reuse = spec, num_simulations, False
    if spec.endswith(":reuse") and not Path(spec).exists():
        path, reuse = spec.removesuffix(":reuse"), True
    head, sep, tail = path.rpartition(":")
    if sep and tail.isdecimal() and not Path(path).exists():  # int() takes any decimal
        path, sims = head, int(tail)
    if sims < 1:
        raise ValueError(f"{spec}: the simulation count must be positive")
    return checkpoint_agent(path, sims, board=board, players=players, device=device, name=spec,
                            search=SearchConfig(subtree_reuse=reuse))
