"""The promotion gate: play a candidate against random, the heuristic and the best, decide.

The evaluator (``actors/evaluator.py``) runs every new candidate through the gate:

| step                  | what it does                                                      |
|-----------------------|-------------------------------------------------------------------|
| `gate_candidate`      | batches of games per opponent until its test decides or the cap   |
| `check` (per batch)   | the opponent's test: Wilson vs random / heuristic, SPRT vs best   |
|                       | (statistics in `ringrift_ray.eval.gate_stats`); one `Check` each  |
| `decide`              | the `Verdict`: promoted iff every check passed and none is absent |

The league (`league.record_evaluation`) then records the verdict (Elo, ``league.json``) and
`run_records.save_games` the games. `judge` applies the tests to finished matches (tests,
matches played elsewhere); `play_candidate` plays fixed-size matches against the same
opponents without the tests (PBT members, ``experiments/tune/member.py``). The candidate is
agent 0 of every match.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ringrift_ray.config import EvalConfig, GateConfig
from ringrift_ray.eval import gate_stats
from ringrift_ray.eval.baselines import heuristic_agent, random_agent
from ringrift_ray.eval.matches import Agent, GameResult, MatchResult, play_match

OPPONENTS = ("random", "heuristic", "best")
"""The gate's opponents in the order they are played (any extra baselines, `EvalConfig.
baselines`, between the heuristic and the best); ``best`` is absent without a best."""


@dataclass(frozen=True)
class Check:
    """One gate check of a candidate against one opponent (candidate as agent 0).

    Attributes:
        match: the games played (all batches).
        test: ``"wilson"`` (baselines), ``"sprt"`` (the best) or ``"none"`` (check off:
            games for Elo only).
        decision: ``"pass"``, ``"fail"``, ``"undecided"`` (cap reached: a fail) or
            ``"info"`` (check off).
        stats: the test's numbers for ``league.json``: Wilson ``interval`` and
            ``threshold``; SPRT ``llr``, ``bounds`` (Wald's lower, upper) and ``elo0``,
            ``elo1``, ``alpha``, ``beta``.
        reason: one line for the console and the table.
        seeds: `[games]` seed of each game's batch (`play_match`'s ``seed``).
    """

    match: MatchResult
    test: str
    decision: str
    stats: dict
    reason: str
    seeds: tuple[int, ...] = ()

    @property
    def passed(self) -> bool:
        return self.decision in ("pass", "info")


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one candidate.

    Attributes:
        promoted: every check passed and both baselines were played.
        reasons: one line per check (`Check.reason`) plus one per opponent not played.
        checks: the evidence, ``{opponent key: Check}`` in the order played.
    """

    promoted: bool
    reasons: tuple[str, ...]
    checks: Mapping[str, Check]

    @property
    def games(self) -> int:
        """Games played in all checks."""
        return sum(len(c.match.games) for c in self.checks.values())


def pairwise_score(match: MatchResult) -> float:
    """Agent 0's total pairwise score over ``match``'s games: per game, the mean over the
    opponent's seats of 1 (agent 0 ranked better), 0.5 (equal) or 0 (worse).

    With two players this is the game's score (`MatchResult.wins`). With 3-4 players the
    subject sits against P-1 copies of the opponent (`play_match`), so an equal candidate
    wins 1/P of the games but scores 1/2 here: the expected score of Elo's logistic at
    0 Elo, which the SPRT's bounds assume, and the pairs the league's Bradley-Terry fit
    reads (`matches.pairwise_outcomes`).
    """
    total = 0.0
    for g in match.games:
        mine = [r for a, r in zip(g.seat_agents, g.seat_ranks, strict=True) if a == 0]
        theirs = [r for a, r in zip(g.seat_agents, g.seat_ranks, strict=True) if a != 0]
        total += float(np.mean([0.5 if m == t else float(m < t)
                                for m in mine for t in theirs]))
    return total


def check(key: str, match: MatchResult, cfg: GateConfig, final: bool = True) -> Check:
    """Apply the gate's test for opponent ``key`` to the games of ``match`` so far.

    ``key`` ``"best"`` runs the SPRT (`gate_stats.sprt_llr`) on the candidate's pairwise
    score (`pairwise_score`: with 3-4 players an equal candidate scores 1/2, not its 1/P win
    share); ``"random"`` / ``"heuristic"`` the Wilson check (`gate_stats.wilson_decision`)
    of the win share against ``cfg.min_vs_<key>`` (chance 1/P: set the thresholds per player
    count); any other key (an extra baseline, `EvalConfig.baselines`) is not gated. With
    ``final``, a test still undecided is ``"undecided"``, else ``"continue"``.
    """
    n, score = len(match.games), pairwise_score(match) if key == "best" else match.wins
    lo, hi = gate_stats.wilson_interval(score, n, cfg.z)
    head = f"vs {key} ({match.names[1]}): {score:g}/{n}"
    if key not in OPPONENTS:
        return Check(match, "none", "info", {"interval": [lo, hi]},
                     f"{head} [{lo:.2f}, {hi:.2f}], for Elo")
    if key == "best":
        if not cfg.vs_best:
            return Check(match, "none", "info", {"interval": [lo, hi]}, f"{head}, not gated")
        llr = gate_stats.sprt_llr(score, n, cfg.elo0, cfg.elo1)
        bounds = gate_stats.sprt_bounds(cfg.alpha, cfg.beta)
        decision = gate_stats.sprt_decision(llr, cfg.alpha, cfg.beta)
        stats = {"interval": [lo, hi], "llr": llr, "bounds": list(bounds), "elo0": cfg.elo0,
                 "elo1": cfg.elo1, "alpha": cfg.alpha, "beta": cfg.beta}
        text = (f"SPRT({cfg.elo0:g},{cfg.elo1:g}) LLR {llr:+.2f} in [{bounds[0]:.2f}, "
                f"{bounds[1]:.2f}]")
        test = "sprt"
    else:
        need = cfg.min_vs_random if key == "random" else cfg.min_vs_heuristic
        if need is None:
            return Check(match, "none", "info", {"interval": [lo, hi]},
                         f"{head} [{lo:.2f}, {hi:.2f}], not gated")
        decision = gate_stats.wilson_decision(score, n, need, cfg.z)
        stats = {"interval": [lo, hi], "threshold": need}
        text = f"Wilson [{lo:.2f}, {hi:.2f}] vs {need:.2f}"
        test = "wilson"
    if decision == "continue" and final:
        decision = "undecided"
    return Check(match, test, decision, stats, f"{head}, {text}: {decision}")


def judge(matches: Mapping[str, MatchResult], cfg: GateConfig) -> dict[str, Check]:
    """`check` each finished match (``final``), e.g. matches played elsewhere or in tests."""
    return {key: check(key, m, cfg) for key, m in matches.items()}


def decide(checks: Mapping[str, Check]) -> Verdict:
    """Promote a candidate when every check passed (a check that is off passes) and both
    baselines were played; ``best`` may be absent (no best yet: the first candidate).

    Args:
        checks: `gate_candidate`'s (or `judge`'s) checks, keyed by opponent.

    Returns:
        The `Verdict`, with one reason per check and one per opponent not played.
    """
    reasons = [c.reason for c in checks.values()]
    promoted = all(c.passed for c in checks.values())
    for key in ("random", "heuristic"):
        if key not in checks:
            promoted = False
            reasons.append(f"vs {key}: not played")
    if "best" not in checks:
        reasons.append("vs best: skipped (no current best)" if promoted
                       else "vs best: not played")
    return Verdict(promoted, tuple(reasons), dict(checks))


def _opponents(best: Agent | None, baselines: Mapping[str, Agent] | None = None
               ) -> dict[str, Agent]:
    """The gate's opponents by key in playing order (`OPPONENTS`, the extra ``baselines``
    before the best), ``best`` left out when None."""
    opponents = {"random": random_agent(), "heuristic": heuristic_agent(), **(baselines or {})}
    if best is not None:
        opponents["best"] = best
    return opponents


def play_candidate(candidate: Agent, best: Agent | None, board: str, players: int,
                   cfg: EvalConfig, seed: int = 0, swap_rule: bool = False
                   ) -> dict[str, MatchResult]:
    """Play ``cfg.games`` games of ``candidate`` against random, heuristic and ``best``
    (skipped when None), seats rotated, candidate as agent 0; no tests.

    Returns:
        ``{"random": MatchResult, "heuristic": ..., "best": ...}``.
    """
    return {key: play_match([candidate, opp], board, players, cfg.games, seed + i,
                            concurrency=cfg.concurrency, max_moves=cfg.max_moves,
                            swap_rule=swap_rule)
            for i, (key, opp) in enumerate(_opponents(best).items())}


def _batch_seed(seed: int, opponent: int, batch: int) -> int:
    return int(np.random.SeedSequence([seed, opponent, batch]).generate_state(1)[0])


def gate_candidate(candidate: Agent, best: Agent | None, board: str, players: int,
                   cfg: EvalConfig, seed: int = 0, swap_rule: bool = False,
                   keep_moves: bool = True,
                   on_game_end: Callable[[GameResult], None] | None = None,
                   baselines: Mapping[str, Agent] | None = None) -> dict[str, Check]:
    """Play the gate's sequential tests: random, then heuristic, then the extra
    ``baselines`` (``{spec: agent}``, `EvalConfig.baselines`), then ``best``
    (``on_game_end`` is called with every finished game: a progress bar).

    Each opponent gets batches of ``cfg.concurrency`` games (rounded up to even, so a batch
    rotates seats evenly) until its test decides (`check`) or ``cfg.games`` games are
    played; a check that is off, and an extra baseline, plays one batch (for Elo). The
    first fail or undecided check ends the evaluation: later opponents are not played.

    Returns:
        ``{"random": Check, "heuristic": ..., <baselines>, "best": ...}`` for the opponents
        played, in that order; the candidate is agent 0 of every match. `decide` turns them
        into the `Verdict`.
    """
    batch = cfg.concurrency + cfg.concurrency % 2
    out: dict[str, Check] = {}
    for i, (key, opp) in enumerate(_opponents(best, baselines).items()):
        match, seeds = MatchResult([candidate.name, opp.name], board, players), []
        for b in itertools.count():
            batch_seed = _batch_seed(seed, i, b)
            games = min(batch, cfg.games - len(match.games))
            part = play_match([candidate, opp], board, players, games, batch_seed,
                              concurrency=cfg.concurrency, max_moves=cfg.max_moves,
                              swap_rule=swap_rule, keep_moves=keep_moves,
                              on_game_end=on_game_end)
            match.games.extend(part.games)
            seeds.extend([batch_seed] * len(part.games))
            capped = len(match.games) >= cfg.games
            result = check(key, match, cfg.gate, final=capped)
            if result.decision != "continue":
                break
        out[key] = dataclasses.replace(result, seeds=tuple(seeds))
        if not result.passed:
            break
    return out
