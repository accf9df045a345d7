"""Evaluation: agents and matches, the promotion gate, Elo, and the tables that record them.

- `matches`: agents (random, heuristic, search over a net or checkpoint) and `play_match`,
- `heuristic`: the one-ply heuristic's position evaluation,
- `gate`: the promotion gate (Wilson / SPRT statistics, per-opponent checks, the decision),
- `elo`: Bradley-Terry Elo fit,
- `league`: the main job's table of candidates, outcomes and promotions,
- `population`: PBT's table of members, their outcomes and exploits,
- `run_records`: games and loss curves read back from a run directory.
"""

from ringrift_ray.eval.elo import ELO_SCALE, fit_elo
from ringrift_ray.eval.heuristic import HeuristicWeights, heuristic_score, heuristic_values
from ringrift_ray.eval.matches import (
    Agent,
    GameResult,
    MatchResult,
    agent_from_spec,
    checkpoint_agent,
    heuristic_agent,
    pairwise_outcomes,
    play_match,
    random_agent,
    search_agent,
)

__all__ = [
    "ELO_SCALE",
    "Agent",
    "GameResult",
    "HeuristicWeights",
    "MatchResult",
    "agent_from_spec",
    "checkpoint_agent",
    "fit_elo",
    "heuristic_agent",
    "heuristic_score",
    "heuristic_values",
    "pairwise_outcomes",
    "play_match",
    "random_agent",
    "search_agent",
]
