"""Statistics of the value probe (`probe_value.py`): correlations of predicted values with
game results, bootstrap over whole games, and paired differences between variants.

Shapes: `N` held-out positions, `S` training seeds, `P` seats; values are for the player to
move (seat 0) in [-1, 1].
"""

from __future__ import annotations

import numpy as np


def _corr(v: np.ndarray, z: np.ndarray, games: np.ndarray, rng: np.random.Generator
          ) -> tuple[float, float, int]:
    """Pearson correlation of ``v`` with ``z``, its bootstrap standard error over games
    (200 resamples), and the number of positions."""
    if len(v) < 3 or v.std() == 0 or z.std() == 0:
        return float("nan"), float("nan"), len(v)
    boot = [np.corrcoef(v[rows], z[rows])[0, 1] for rows in _game_resamples(games, rng)
            if v[rows].std() > 0 and z[rows].std() > 0]
    return float(np.corrcoef(v, z)[0, 1]), float(np.std(boot)), len(v)


def _game_resamples(games: np.ndarray, rng: np.random.Generator, n: int = 200
                    ) -> list[np.ndarray]:
    """``n`` bootstrap resamples of the positions by whole games: row indices into
    ``games`` `[N]` (game id per position), games drawn with replacement."""
    ids = np.unique(games)
    by_game = [np.flatnonzero(games == g) for g in ids]
    return [np.concatenate([by_game[i] for i in rng.integers(len(ids), size=len(ids))])
            for _ in range(n)]


def _ply_ranges(to_end: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the two ranges the probe reports: the last 10 plies, 30-60 plies before the
    end (``to_end`` `[N]`: plies from the position to the game's end)."""
    return {"corr_last10": to_end <= 10, "corr_30_60": (to_end >= 30) & (to_end <= 60)}


def value_report(v: np.ndarray, extra: dict, games: np.ndarray, seed: int) -> dict:
    """Correlations of predicted values ``v`` `[N]` (seat 0) with the outcome (seat 0)."""
    rng = np.random.default_rng(seed)
    z, to_end = extra["outcome"][:, 0], extra["to_end"]
    out = {}
    for name, sel in _ply_ranges(to_end).items():
        r, se, n = _corr(v[sel], z[sel], games[sel], rng)
        out[name], out[name + "_se"], out[name + "_n"] = round(r, 3), round(se, 3), n
    return out


def _paired_metrics(v: np.ndarray, z: np.ndarray, to_end: np.ndarray) -> np.ndarray:
    """``[corr last 10 plies, corr 30-60 plies, -MSE]`` of values ``v`` `[N]` against results
    ``z`` `[N]` (player to move): larger is better for all three."""
    out = [np.corrcoef(v[sel], z[sel])[0, 1] if sel.sum() > 2 else np.nan
           for sel in _ply_ranges(to_end).values()]
    return np.asarray([*out, -float(((v - z) ** 2).mean())])


PAIRED = ("corr_last10", "corr_30_60", "neg_value_mse")


def paired_differences(preds: dict[str, np.ndarray], baseline: str, extra: dict,
                       games: np.ndarray, seed: int, resamples: int = 200) -> dict:
    """Each variant against ``baseline`` on the same held-out positions.

    Args:
        preds: ``{variant: [S, N] float32}`` held-out values (player to move) of the nets of
            S training seeds (the same seeds for every variant).
        extra: held-out extra arrays (``outcome`` `[N, P]`, ``to_end`` `[N]`).
        games: `[N]` game id of each held-out position.

    Returns:
        ``{variant: {metric: {"diff", "se", "se_games", "seed_sd", "per_seed"}}}`` for the
        metrics of `PAIRED` (correlations with the result, minus the value MSE against it):
        ``diff`` is the variant's minus the baseline's metric averaged over seeds;
        ``se_games`` the bootstrap standard error of that average over held-out games
        (``resamples`` resamples, the same for every variant: the games' own noise largely
        cancels in the difference); ``seed_sd`` the spread of the per-seed differences;
        ``se`` = sqrt(se_games^2 + seed_sd^2 / S).
    """
    z, to_end = extra["outcome"][:, 0], extra["to_end"]

    def metrics(rows: np.ndarray | slice) -> dict[str, np.ndarray]:  # {variant: [S, 3]}
        return {name: np.stack([_paired_metrics(v[rows], z[rows], to_end[rows]) for v in p])
                for name, p in preds.items()}

    on_all = metrics(slice(None))
    on_draws = [metrics(rows) for rows in _game_resamples(games, np.random.default_rng(seed),
                                                          resamples)]
    out = {}
    for name in preds:
        if name == baseline:
            continue
        full = on_all[name] - on_all[baseline]
        boot = np.stack([np.nanmean(m[name] - m[baseline], axis=0) for m in on_draws])
        se_games, seed_sd = np.nanstd(boot, axis=0), (
            full.std(axis=0, ddof=1) if len(full) > 1 else np.zeros(full.shape[1]))
        se = np.sqrt(se_games ** 2 + seed_sd ** 2 / len(full))
        out[name] = {m: {"diff": round(float(full[:, k].mean()), 4),
                         "se": round(float(se[k]), 4), "se_games": round(float(se_games[k]), 4),
                         "seed_sd": round(float(seed_sd[k]), 4),
                         "per_seed": [round(float(x), 4) for x in full[:, k]]}
                     for k, m in enumerate(PAIRED)}
    return out
