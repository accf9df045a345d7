"""The league table of the main job: each evaluated candidate, its results, Elo, promotion.

The evaluator (``actors/evaluator.py``) plays every new candidate against the baselines and
the current best (`gate_matches.gate_candidate`), records the matches (`record_evaluation`:
refit Elo over all games so far, apply the promotion gate) and writes ``run_dir/league.json``
atomically after every evaluation (`save_league`); ``ringrift-ray elo RUN_DIR`` prints and
plots it.

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

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ringrift_ray import storage
from ringrift_ray.eval.elo import fit_elo
from ringrift_ray.eval.matches import pairwise_outcomes
from ringrift_ray.json_file import read_json, write_json

if TYPE_CHECKING:
    from ringrift_ray.eval.gate_matches import Check

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


def load_league(path: storage.Location) -> dict:
    """Read a ``league.json`` (a path or a URI, `ringrift_ray.storage`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a league table of a known format.
    """
    league = read_json(path, "league table")
    if not isinstance(league, dict) or league.get("format") != FORMAT:
        raise ValueError(f"{path}: not a format-{FORMAT} league table")
    missing = [k for k in ("board", "players", "versions", "pairs", "elo") if k not in league]
    if missing:
        raise ValueError(f"{path}: league table lacks {missing}")
    return league


def load_or_new(path: storage.Location, board: str, players: int,
                load: Callable[[storage.Location], dict] = load_league,
                new: Callable[[str, int], dict] = new_league) -> dict:
    """The table at ``path`` (resume), else a new one: the league by default; the
    population league passes its own ``load`` and ``new`` (`ringrift_ray.eval.population`).

    Raises:
        ValueError: the stored table is unreadable or for another board / player count.
    """
    if not storage.exists(path):
        return new(board, players)
    table = load(path)
    if (table["board"], table["players"]) != (board, players):
        raise ValueError(f"{path}: {table.get('kind', 'league')} is for {table['board']} "
                         f"{table['players']}p, not {board} {players}p")
    return table


def save_league(league: dict, path: storage.Location) -> None:
    """Write ``league`` to ``path`` (a path or a URI) so that readers never see a
    half-written table (`json_file.write_json`).

    Raises:
        OSError: the write failed.
    """
    write_json(league, path)


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


def record_evaluation(league: dict, version: int, step: int, checkpoint: str,
                      checks: Mapping[str, Check], now: float | None = None) -> dict:
    """Add one candidate's gate checks to ``league`` (in place): fold in its games, refit
    Elo for every agent, promote it when every check passed and none was skipped.

    Args:
        version: the candidate's published version (its train step in the main job).
        step: train step of the candidate.
        checkpoint: where its weights were saved (the best's file for later matches).
        checks: `gate_matches.gate_candidate`'s (or `gate_matches.judge`'s) results,
            candidate as agent 0 in each.
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
    add_outcomes(league, pairwise_outcomes(c.match for c in checks.values()))
    elo = refit_elo(league)
    reasons = [c.reason for c in checks.values()]
    promoted = all(c.passed for c in checks.values())
    for key in ("random", "heuristic"):
        if key not in checks:
            promoted = False
            reasons.append(f"vs {key}: not played")
    if "best" not in checks:
        reasons.append("vs best: skipped (no current best)" if promoted
                       else "vs best: not played")
    results = {}
    for key, c in checks.items():
        m = c.match
        results[key] = {"opponent": m.names[1], "games": len(m.games),
                        "win_rate": m.win_rate, "test": c.test, "decision": c.decision,
                        **c.stats}
    entry = {"version": int(version), "name": name, "step": int(step), "time": now,
             "wall_s": now - league["started"], "checkpoint": str(checkpoint),
             "results": results, "elo": elo.get(name, math.nan),
             "elo_at_eval": elo.get(name, math.nan), "promoted": promoted, "reasons": reasons,
             "games": sum(len(c.match.games) for c in checks.values())}
    league["versions"].append(entry)
    league["elo"] = elo
    for v in league["versions"]:
        v["elo"] = elo.get(v["name"], v["elo"])
    if promoted:
        league["best"] = {"version": int(version), "name": name, "checkpoint": str(checkpoint)}
    return entry


def format_table(league: dict) -> str:
    """The league as a fixed-width text table, one line per evaluated version: per opponent
    the win rate, games played and the gate's decision (older tables: the Wilson interval)."""
    head = (f"{'version':>8} {'step':>8} {'wall_s':>9} {'elo':>8} {'vs random':>17} "
            f"{'vs heuristic':>17} {'vs best':>17}  promoted")
    lines = [f"league {league['board']} {league['players']}p: {len(league['versions'])} "
             f"versions, best {(league['best'] or {}).get('name', '-')}", head]
    for v in league["versions"]:
        cells = []
        for key in OPPONENTS:
            r = v["results"].get(key)
            if r is None:
                cells.append("-")
            elif "decision" in r:
                cells.append(f"{r['win_rate']:.2f} {r['games']:>3}g {r['decision'][:5]}")
            else:
                cells.append(f"{r['win_rate']:.2f} [{r['interval'][0]:.2f},"
                             f"{r['interval'][1]:.2f}]")
        lines.append(f"{v['version']:>8} {v['step']:>8} {v['wall_s']:>9.0f} {v['elo']:>8.1f} "
                     f"{cells[0]:>17} {cells[1]:>17} {cells[2]:>17}  "
                     f"{'yes' if v['promoted'] else 'no'}")
    others = ", ".join(f"{n} {e:.1f}" for n, e in sorted(league["elo"].items())
                       if not any(n == v["name"] for v in league["versions"]))
    if others:
        lines.append(f"baselines: {others}")
    return "\n".join(lines)


def plot_elo(league: dict, out: str | Path,
             losses: Mapping[str, list[tuple]] | None = None) -> None:
    """Save a PNG of each version's Elo against wall time (hours since the league began)
    and against training steps, promoted versions marked; with ``losses``
    (`run_records.load_losses`: ``{tag: [(step, value), ...]}``) a third panel plots the
    ``*loss`` curves against training steps (log scale when all positive)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {t: pts for t, pts in (losses or {}).items() if t.endswith("loss") and pts}
    versions = league["versions"]
    elo = [v["elo"] for v in versions]
    promoted = [v["promoted"] for v in versions]
    fig, axes = plt.subplots(1, 3 if curves else 2, figsize=(16 if curves else 11, 4))
    axes[1].sharey(axes[0])
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
    if curves:
        for tag, pts in curves.items():
            steps, values = zip(*pts, strict=True)
            axes[2].plot(steps, values, label=tag.split("/")[-1])
        if all(v > 0 for pts in curves.values() for _, v in pts):
            axes[2].set_yscale("log")
        axes[2].set_xlabel("training steps")
        axes[2].set_ylabel("training loss")
        axes[2].grid(alpha=0.3)
        axes[2].legend(loc="upper right")
    fig.suptitle(f"RingRift {league['board']} {league['players']}p league")
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
