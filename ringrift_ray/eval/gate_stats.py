"""Statistics of the promotion gate: Wilson intervals and the SPRT on Elo bounds.

The gate (`ringrift_ray.eval.gate`) plays a candidate in batches of games and asks, after
every batch, whether the evidence decides:

| check           | test                                   | passes when                       |
|-----------------|----------------------------------------|-----------------------------------|
| vs random, vs   | Wilson score interval of the mean      | the lower bound >= threshold      |
| heuristic       | score (Wilson 1927)                    | (fails: the upper bound < it)     |
| vs current best | SPRT, H0: Elo = elo0 vs H1: Elo = elo1 | LLR >= log((1 - beta) / alpha)    |
|                 | (Wald 1945; Fishtest's Elo bounds)     | (fails: LLR <= log(beta/(1-alpha)))|

A game's *score* for the candidate is in [0, 1]: 1 a win, 0 a loss, 1/2 a draw (1/k for a
k-way tie at rank 1, `matches.GameResult.score`). Both tests read scores as Bernoulli trials
with draws counted half: ``score`` = wins + draws / 2 of ``n`` games. A test still undecided
at the game cap is ``"undecided"``, and the gate treats it as a fail (no promotion without
evidence). Looking after every batch makes the Wilson check's real error rate larger than
its nominal one (a repeated-significance test); the SPRT is built for repeated looks.

Elo and expected score follow the logistic model used by Elo ratings and Fishtest:
``E = 1 / (1 + 10^(-elo / 400))``.
"""

from __future__ import annotations

import math
from typing import Literal

Decision = Literal["pass", "fail", "continue"]
"""What a sequential test says after a batch: ``pass``/``fail`` decide, ``continue`` plays on."""


def elo_to_score(elo: float) -> float:
    """Expected score in (0, 1) of a player ``elo`` Elo points stronger (logistic model)."""
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


def score_to_elo(score: float) -> float:
    """Inverse of `elo_to_score`; +-inf at a score of 1 or 0.

    Raises:
        ValueError: ``score`` outside [0, 1].
    """
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"score must be in [0, 1], got {score}")
    if score in (0.0, 1.0):
        return math.inf if score else -math.inf
    return -400.0 * math.log10(1.0 / score - 1.0)


def wilson_interval(score: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``score / n``.

    E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
    JASA 22 (1927). ``z`` = 1.96 gives the two-sided 95% interval.

    Args:
        score: successes (wins + draws / 2), 0 <= score <= n.
        n: trials (games); ``(0, 1)`` is returned when n = 0.
        z: standard-normal quantile of the confidence level.

    Returns:
        ``(lower, upper)`` within [0, 1].
    """
    if n <= 0:
        return 0.0, 1.0
    p = score / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def wilson_decision(score: float, n: int, threshold: float, z: float = 1.96) -> Decision:
    """Whether ``n`` games with total ``score`` show a win rate above ``threshold``.

    Returns:
        ``pass`` when the Wilson lower bound (`wilson_interval`) is >= ``threshold``,
        ``fail`` when the upper bound is below it, else ``continue``.
    """
    lo, hi = wilson_interval(score, n, z)
    if n > 0 and lo >= threshold:
        return "pass"
    if n > 0 and hi < threshold:
        return "fail"
    return "continue"


def sprt_bounds(alpha: float, beta: float) -> tuple[float, float]:
    """Wald's stopping bounds ``(lower, upper)`` on the log-likelihood ratio.

    A. Wald, "Sequential tests of statistical hypotheses", Ann. Math. Statist. 16 (1945):
    accept H1 when LLR >= log((1 - beta) / alpha), accept H0 when LLR <= log(beta / (1 -
    alpha)); the error rates are then at most about ``alpha`` (false pass) and ``beta``
    (false fail).

    Raises:
        ValueError: ``alpha`` or ``beta`` outside (0, 1/2).
    """
    if not (0.0 < alpha < 0.5 and 0.0 < beta < 0.5):
        raise ValueError(f"alpha and beta must be in (0, 0.5), got {alpha}, {beta}")
    return math.log(beta / (1.0 - alpha)), math.log((1.0 - beta) / alpha)


def sprt_llr(score: float, n: int, elo0: float, elo1: float) -> float:
    """Log-likelihood ratio of H1 (Elo difference ``elo1``) against H0 (``elo0``).

    The Bernoulli model with draws counted half (a draw is half a win and half a loss), as
    in the Elo-based SPRT of Stockfish's Fishtest before its trinomial / pentanomial
    refinements: with ``p_i = elo_to_score(elo_i)``,
    ``LLR = score * log(p1 / p0) + (n - score) * log((1 - p1) / (1 - p0))``.
    Draws are rare in RingRift (move cap, ties at rank 1), so the trinomial model's smaller
    variance buys little here.

    Args:
        score: the candidate's total score over ``n`` games, 0 <= score <= n.
        n: games played.
        elo0, elo1: the Elo differences (candidate minus opponent) of H0 and H1.

    Raises:
        ValueError: ``elo1 <= elo0`` or a score outside [0, n].
    """
    if elo1 <= elo0:
        raise ValueError(f"need elo0 < elo1, got {elo0}, {elo1}")
    if not 0.0 <= score <= n:
        raise ValueError(f"score {score} outside [0, {n}]")
    p0, p1 = elo_to_score(elo0), elo_to_score(elo1)
    return score * math.log(p1 / p0) + (n - score) * math.log((1.0 - p1) / (1.0 - p0))


def sprt_decision(llr: float, alpha: float, beta: float) -> Decision:
    """``pass`` (accept H1) at or above Wald's upper bound, ``fail`` (accept H0) at or below
    the lower one, else ``continue`` (`sprt_bounds`)."""
    lower, upper = sprt_bounds(alpha, beta)
    if llr >= upper:
        return "pass"
    if llr <= lower:
        return "fail"
    return "continue"
