"""Evaluation: agents and matches, the promotion gate, Elo, and the tables that record them.

- `matches`: agents (search over a net or checkpoint), `play_match`, pairwise results,
- `baselines`: random and heuristic agents, and `agent_from_spec` (command-line agents),
- `heuristic`: the one-ply heuristic's position evaluation,
- `uct`: plain UCT with random rollouts (``uct:N``), the classical yardstick,
- `minimax`: alpha-beta on the heuristic (``minimax:D``; paranoid for 3-4 players),
- `gate`: the promotion gate (plays the candidate, per-opponent checks, `decide` -> `Verdict`),
- `gate_stats`: the gate's statistics (Wilson intervals, SPRT on Elo bounds),
- `elo`: Bradley-Terry Elo fit,
- `league`: the main job's table (`League`) of candidates, outcomes and promotions,
- `population`: PBT's table (`Population`) of members, their outcomes and exploits,
- `run_records`: games and loss curves read back from a run directory.
"""

from ringrift_ray.eval.baselines import agent_from_spec, heuristic_agent, random_agent
from ringrift_ray.eval.elo import ELO_SCALE, fit_elo
from ringrift_ray.eval.gate import Check, Verdict, decide, gate_candidate, judge, play_candidate
from ringrift_ray.eval.heuristic import HeuristicWeights, heuristic_score, heuristic_values
from ringrift_ray.eval.league import League, LeagueEntry, OpponentResult, record_evaluation
from ringrift_ray.eval.matches import (
    Agent,
    GameResult,
    MatchResult,
    checkpoint_agent,
    pairwise_outcomes,
    play_match,
    search_agent,
)
from ringrift_ray.eval.minimax import minimax_agent
from ringrift_ray.eval.population import Population, PopulationEntry
from ringrift_ray.eval.uct import uct_agent

__all__ = [
    "ELO_SCALE",
    "Agent",
    "Check",
    "GameResult",
    "HeuristicWeights",
    "League",
    "LeagueEntry",
    "MatchResult",
    "OpponentResult",
    "Population",
    "PopulationEntry",
    "Verdict",
    "agent_from_spec",
    "checkpoint_agent",
    "decide",
    "fit_elo",
    "gate_candidate",
    "heuristic_agent",
    "heuristic_score",
    "heuristic_values",
    "judge",
    "minimax_agent",
    "pairwise_outcomes",
    "play_candidate",
    "play_match",
    "random_agent",
    "record_evaluation",
    "search_agent",
    "uct_agent",
]
