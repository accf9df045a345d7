"""Alpha-beta search on the heuristic evaluation (``minimax:D`` in `agent_from_spec`).

A ply is one decision: every applied move counts, bookkeeping moves included, and a turn
of several decisions by one player is several plies (a node maximizes or minimizes by who
is to move there, not by alternation). Leaves at depth ``D`` and finished games are scored
by `heuristic.heuristic_score` for the searching player, the *subject* (a finished game:
+/-1000 times its rank value, so a win found within ``D`` plies beats any position).

- **2 players**: plain minimax (the score is zero-sum: the subject's value minus the
  opponent's), so alpha-beta returns the minimax value.
- **3-4 players**: the *paranoid* reduction (Sturtevant & Korf 2000): the subject maximizes
  its score, every other player is assumed to minimize it, as if all opponents were one
  coalition. This keeps alpha-beta pruning (max^n does not prune well), at the price of
  pessimism: opponents in a real game pursue their own scores.

Interior nodes with at least two plies left search their children best first by the
one-ply score (the subject's score of the child; ascending at opponents' nodes). The root's
children are all scored (with a window just under the best so far, so equal scores are
exact) and the move is drawn among the best-scoring ones (within 1e-9) by the match
generator, as the greedy heuristic does; ``minimax:1`` is that greedy player.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ringrift_ray.eval.heuristic import HeuristicWeights, heuristic_score
from ringrift_ray.eval.matches import Agent, best_scored_agent
from ringrift_ray.game import GameState, apply_record, legal_move_records
from ringrift_ray.search.game_fns import cached_legal_actions

TIE = 1e-9
"""Scores within this of the best are ties (as in `baselines.heuristic_agent`)."""


def _children(state: GameState, subject: int, plies_left: int,
              weights: HeuristicWeights | None) -> Iterator[GameState]:
    """The children of a live node: best first for its mover when ``plies_left >= 2``,
    else made one at a time in legal order (a cutoff skips the rest)."""
    records = legal_move_records(state)
    if plies_left < 2:
        return (apply_record(state, r) for r in records)
    kids = [apply_record(state, r) for r in records]
    scores = [heuristic_score(k, subject, weights) for k in kids]
    sign = -1.0 if state.current_player == subject else 1.0
    return iter([kids[i] for i in np.argsort(np.multiply(sign, scores), kind="stable")])


def alphabeta(state: GameState, plies: int, alpha: float, beta: float, subject: int,
              weights: HeuristicWeights | None = None) -> float:
    """Paranoid alpha-beta value of ``state`` for ``subject`` (1..P) searched ``plies`` deep
    (fail-soft: a value <= alpha is an upper bound, one >= beta a lower bound)."""
    if plies == 0 or not state.is_active:
        return heuristic_score(state, subject, weights)
    maximize = state.current_player == subject
    best = -math.inf if maximize else math.inf
    for child in _children(state, subject, plies, weights):
        v = alphabeta(child, plies - 1, alpha, beta, subject, weights)
        if maximize:
            best = max(best, v)
            alpha = max(alpha, v)
        else:
            best = min(best, v)
            beta = min(beta, v)
        if alpha >= beta:
            break
    return best


def minimax_scores(state: GameState, depth: int, weights: HeuristicWeights | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Score every legal move of a live ``state`` for its mover, ``depth`` plies deep.

    Returns:
        ``(records [M, W], scores [M])`` in legal-move order; a score below the best by
        more than `TIE` may be an upper bound (pruned), the best ones are exact.
    """
    subject = state.current_player
    records = cached_legal_actions(state)[1]
    kids = [apply_record(state, r) for r in records]
    order = range(len(kids))
    if depth >= 2:
        order = np.argsort([-heuristic_score(k, subject, weights) for k in kids], kind="stable")
    scores = np.full(len(kids), -math.inf)
    best = -math.inf
    for i in order:
        scores[i] = alphabeta(kids[i], depth - 1, best - 2 * TIE, math.inf, subject, weights)
        best = max(best, scores[i])
    return records, scores


def minimax_agent(depth: int, name: str | None = None,
                  weights: HeuristicWeights | None = None) -> Agent:
    """Alpha-beta to ``depth`` plies on the heuristic (module docstring); ties broken by the
    match generator; a decision with one legal move is played without search.

    Raises:
        ValueError: a non-positive ``depth``.
    """
    if depth < 1:
        raise ValueError(f"minimax needs a positive depth, got {depth}")

    return best_scored_agent(name or f"minimax:{depth}",
                             lambda s, rng: minimax_scores(s, depth, weights), tie=TIE)
