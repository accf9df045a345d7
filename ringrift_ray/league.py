"""The league table of the main job: each evaluated candidate, its results, Elo, promotion.

The evaluator (``actors/evaluator.py``) plays every new candidate against the baselines and
the current best (`play_candidate`), records the matches (`record_evaluation`: refit Elo over
all games so far, apply the promotion gate) and writes ``run_dir/league.json`` atomically
after every evaluation (`save_league`); ``ringrift-ray elo RUN_DIR`` prints and plots it.

``league.json`` (format 1)::

    {"format": 1, "board": "square8", "players": 2, "anchor": "random",
     "started": 1.76e9,                      # unix time the league began
     "best": {"version": 40, "name": "v40", "checkpoint": ".../candidate_40.pt"} | null,
     "elo": {"random": 0.0, "heuristic": 212.3, "v20": 150.2, ...},   # latest fit, all agents
     "versions": [{"version": 20, "name": "v20", "step": 20, "time": 1.76e9, "wall_s": 81.3,
                   "checkpoint": ".../candidate_20.pt",
                   "results": {"random": {"opponent": "random", "games": 20,
                                          "win_rate": 0.9, "interval": [0.70, 0.97]}, ...},
                   "elo": 150.2,          # latest fit (refit after every evaluation)
                   "elo_at_eval": 148.0,  # the fit right after this evaluation
                   "promoted": true, "reasons": ["vs random: 0.900 >= 0.85 (pass)", ...]},
                  ...],
     "pairs": [{"a": "heuristic", "b": "v20", "games": 20, "score_a": 3.5}, ...]}

``results`` keys are ``random``, ``heuristic`` and ``best`` (absent for the first candidate:
with no best yet it meets the baselines only). ``pairs`` aggregates every pairwise outcome
(`evaluate.pairwise_outcomes`) per unordered pair of agents (``a < b``): the number of
pairwise games and ``a``'s total score. Those are the sufficient statistics of the
Bradley-Terry likelihood, so `refit_elo` equals `fit_elo` over the raw outcomes. Candidates
are named ``v<version>``; Elo is anchored at random = 0.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from ringrift_ray.config import EvalConfig, GateConfig
from ringrift_ray.elo import fit_elo
from ringrift_ray.evaluate import (
    Agent,
    MatchResult,
    gate_decision,
    heuristic_agent,
    pairwise_outcomes,
    play_match,
    random_agent,
)

FORMAT = 1
OPPONENTS = ("random", "heuristic", "best")


def candidate_name(version: int) -> str:
    """League name of the candidate published as ``version``."""
    return f"v{version}"


def new_league(board: str, players: int, now: float | None = None) -> dict:
    """An empty league for one variant."""
    return {"format": FORMAT, "board": board, "players": players, "anchor": "random",
            "started": time.time() if now is None else now, "best": None, "elo": {},
            "versions": [], "pairs": []}


def load_league(path: str | Path) -> dict:
    """Read a ``league.json``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a league table of a known format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"league table not found: {path}")
    try:
        league = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply") from None
    if not isinstance(league, dict) or league.get("format") != FORMAT:
        raise ValueError(f"{path}: not a format-{FORMAT} league table")
    missing = [k for k in ("board", "players", "versions", "pairs", "elo") if k not in league]
    if missing:
        raise ValueError(f"{path}: league table lacks {missing}")
    return league


def load_or_new(path: str | Path, board: str, players: int) -> dict:
    """The league at ``path`` (resume), else a new one.

    Raises:
        ValueError: the stored league is unreadable or for another board / player count.
    """
    if not Path(path).exists():
        return new_league(board, players)
    league = load_league(path)
    if (league["board"], league["players"]) != (board, players):
        raise ValueError(f"{path}: league is for {league['board']} {league['players']}p, "
                         f"not {board} {players}p")
    return league


def save_league(league: dict, path: str | Path) -> None:
    """Write ``league`` to ``path`` atomically (temporary file in the same folder, then
    rename), so readers never see a half-written table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".league-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(league, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def last_version(league: dict) -> int:
    """The newest evaluated candidate version (-1 when none)."""
    return max((v["version"] for v in league["versions"]), default=-1)


def add_outcomes(league: dict, outcomes: list[tuple[str, str, float]]) -> None:
    """Fold pairwise outcomes ``(name_i, name_j, score_i)`` into ``league["pairs"]``."""
    pairs = {(p["a"], p["b"]): p for p in league["pairs"]}
    for a, b, s in outcomes:
        if a > b:
            a, b, s = b, a, 1.0 - s
        p = pairs.get((a, b))
        if p is None:
            p = pairs[(a, b)] = {"a": a, "b": b, "games": 0, "score_a": 0.0}
            league["pairs"].append(p)
        p["games"] += 1
        p["score_a"] += s


def refit_elo(league: dict) -> dict[str, float]:
    """Bradley-Terry Elo (`elo.fit_elo`) over every game in ``league["pairs"]``."""
    outcomes = [(p["a"], p["b"], p["score_a"] / p["games"])
                for p in league["pairs"] for _ in range(p["games"])]
    return fit_elo(outcomes, anchor=league.get("anchor", "random"))


def play_candidate(candidate: Agent, best: Agent | None, board: str, players: int,
                   cfg: EvalConfig, seed: int = 0, swap_rule: bool = False
                   ) -> dict[str, MatchResult]:
    """Play ``cfg.games`` games of ``candidate`` against random, heuristic and ``best``
    (skipped when None), seats rotated, candidate as agent 0.

    Returns:
        ``{"random": MatchResult, "heuristic": ..., "best": ...}``.
    """
    opponents = {"random": random_agent(), "heuristic": heuristic_agent()}
    if best is not None:
        opponents["best"] = best
    return {key: play_match([candidate, opp], board, players, cfg.games, seed + i,
                            concurrency=cfg.concurrency, max_moves=cfg.max_moves,
                            swap_rule=swap_rule)
            for i, (key, opp) in enumerate(opponents.items())}


def record_evaluation(league: dict, version: int, step: int, checkpoint: str,
                      matches: Mapping[str, MatchResult], gate: GateConfig,
                      now: float | None = None) -> dict:
    """Add one candidate's matches to ``league`` (in place): fold in its games, refit Elo
    for every agent, apply the promotion gate, and make it the best when promoted.

    Args:
        version: the candidate's published version (its train step in the main job).
        step: train step of the candidate.
        checkpoint: where its weights were saved (the best's file for later matches).
        matches: `play_candidate`'s results, candidate as agent 0 in each.
        gate: promotion thresholds (`evaluate.gate_decision`).
        now: unix time of the evaluation (default: now).

    Returns:
        The new ``versions`` entry.

    Raises:
        ValueError: ``version`` not newer than the last evaluated one.
    """
    if version <= last_version(league):
        raise ValueError(f"version {version} is not newer than the last evaluated "
                         f"{last_version(league)}")
    now = time.time() if now is None else now
    name = candidate_name(version)
    add_outcomes(league, pairwise_outcomes(matches.values()))
    elo = refit_elo(league)
    promoted, reasons = gate_decision(matches, gate)
    results = {}
    for key, m in matches.items():
        lo, hi = m.interval
        results[key] = {"opponent": m.names[1], "games": len(m.games),
                        "win_rate": m.win_rate, "interval": [lo, hi]}
    entry = {"version": int(version), "name": name, "step": int(step), "time": now,
             "wall_s": now - league["started"], "checkpoint": str(checkpoint),
             "results": results, "elo": elo.get(name, math.nan),
             "elo_at_eval": elo.get(name, math.nan), "promoted": promoted, "reasons": reasons}
    league["versions"].append(entry)
    league["elo"] = elo
    for v in league["versions"]:
        v["elo"] = elo.get(v["name"], v["elo"])
    if promoted:
        league["best"] = {"version": int(version), "name": name, "checkpoint": str(checkpoint)}
    return entry


def format_table(league: dict) -> str:
    """The league as a fixed-width text table, one line per evaluated version."""
    head = (f"{'version':>8} {'step':>8} {'wall_s':>9} {'elo':>8} {'vs random':>17} "
            f"{'vs heuristic':>17} {'vs best':>17}  promoted")
    lines = [f"league {league['board']} {league['players']}p: {len(league['versions'])} "
             f"versions, best {(league['best'] or {}).get('name', '-')}", head]
    for v in league["versions"]:
        cells = []
        for key in OPPONENTS:
            r = v["results"].get(key)
            cells.append(f"{r['win_rate']:.2f} [{r['interval'][0]:.2f},{r['interval'][1]:.2f}]"
                         if r else "-")
        lines.append(f"{v['version']:>8} {v['step']:>8} {v['wall_s']:>9.0f} {v['elo']:>8.1f} "
                     f"{cells[0]:>17} {cells[1]:>17} {cells[2]:>17}  "
                     f"{'yes' if v['promoted'] else 'no'}")
    others = ", ".join(f"{n} {e:.1f}" for n, e in sorted(league["elo"].items())
                       if not any(n == v["name"] for v in league["versions"]))
    if others:
        lines.append(f"baselines: {others}")
    return "\n".join(lines)


def plot_elo(league: dict, out: str | Path) -> None:
    """Save a PNG of each version's Elo against wall time (hours since the league began)
    and against training steps; promoted versions are marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    versions = league["versions"]
    elo = [v["elo"] for v in versions]
    promoted = [v["promoted"] for v in versions]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, xs, label in ((axes[0], [v["wall_s"] / 3600 for v in versions], "wall time (h)"),
                          (axes[1], [v["step"] for v in versions], "training steps")):
        ax.plot(xs, elo, "-o", color="tab:blue", markersize=3, label="candidate")
        ax.scatter([x for x, p in zip(xs, promoted, strict=True) if p],
                   [e for e, p in zip(elo, promoted, strict=True) if p],
                   color="tab:red", zorder=3, s=25, label="promoted")
        for name, style in (("random", ":"), ("heuristic", "--")):
            if name in league["elo"]:
                ax.axhline(league["elo"][name], color="gray", linestyle=style, label=name)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Elo (random = 0)")
    axes[1].legend(loc="lower right")
    fig.suptitle(f"RingRift {league['board']} {league['players']}p league")
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
