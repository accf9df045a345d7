"""Elo ratings by Bradley-Terry maximum likelihood on pairwise game results."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

ELO_SCALE = 400.0 / math.log(10.0)
"""Elo points per natural-log unit of Bradley-Terry strength."""


def fit_elo(outcomes: Iterable[tuple[str, str, float]], anchor: str = "random",
            ridge: float = 1e-3, max_iter: int = 100, tol: float = 1e-10) -> dict[str, float]:
    """Bradley-Terry maximum likelihood Elo from pairwise results.

    Model: ``P(i beats j) = sigmoid(r_i - r_j)``; a draw counts half a win for each side.
    Newton's method maximizes the log-likelihood minus ``ridge / 2 * sum r^2``: the ridge is
    a weak Gaussian prior (variance ``1 / ridge`` in log-strength units) that keeps ratings
    finite for agents with only wins or only losses and fixes the free offset; with data it
    moves the ratings by well under one Elo point. Ratings are then shifted so ``anchor``
    has Elo 0 (the mean is 0 when ``anchor`` did not play) and scaled by 400 / ln 10.

    Args:
        outcomes: ``(name_i, name_j, score_i)`` with score_i in [0, 1].
        anchor: the agent pinned to Elo 0.
        ridge: prior precision (> 0).

    Returns:
        ``{name: elo}``.

    Raises:
        ValueError: ``ridge <= 0`` or a score outside [0, 1].
    """
    if ridge <= 0:
        raise ValueError(f"ridge must be positive, got {ridge}")
    outcomes = list(outcomes)
    names = sorted({n for o in outcomes for n in o[:2]})
    index = {n: i for i, n in enumerate(names)}
    k = len(names)
    games = np.zeros((k, k))  # [k, k] games between i and j (symmetric)
    score = np.zeros(k)  # [k] total score of i
    for a, b, s in outcomes:
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {s} for {a} vs {b}")
        i, j = index[a], index[b]
        games[i, j] += 1
        games[j, i] += 1
        score[i] += s
        score[j] += 1.0 - s
    r = np.zeros(k)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(r[None, :] - r[:, None]))  # [k, k] P(i beats j)
        grad = score - (games * p).sum(axis=1) - ridge * r
        w = games * p * (1.0 - p)
        hess = w - np.diag(w.sum(axis=1) + ridge)  # negative definite
        step = np.linalg.solve(hess, -grad)
        step *= min(1.0, 2.0 / max(np.abs(step).max(), 1e-300))  # damp far-off first steps
        r += step
        if np.abs(step).max() < tol:
            break
    r -= r[index[anchor]] if anchor in index else r.mean()
    return {n: float(ELO_SCALE * r[i]) for n, i in index.items()}
