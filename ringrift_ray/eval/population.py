"""The population league of population-based training: every member's evaluations on one
Elo scale, which member selfplay plays, and the exploit events.

PBT members (``experiments/pbt.py``) each play ``eval.games`` games against random, the
heuristic and the current best member (`ringrift_ray.eval.gate_matches.play_candidate`) after
every training iteration; the `Population` actor (``actors/population.py``) folds the games into
this table (`record`), refits Bradley-Terry Elo over all games so far (random = 0) and
reports the member's Elo, which is the score PBT's exploit step ranks members by. The table
is ``run_dir/population.json``; ``ringrift-ray elo RUN_DIR`` prints it (`format_population`)
and plots one Elo line per member with the exploit events marked (`plot_population`).

``population.json`` (format 1, kind "population")::

    {"format": 1, "kind": "population", "board": "square8", "players": 2,
     "anchor": "random", "started": 1.76e9,
     "elo": {"random": 0.0, "heuristic": 180.2, "m0-1": 35.1, ...},   # latest fit
     "pairs": [{"a": "heuristic", "b": "m0-1", "games": 8, "score_a": 5.0}, ...],
     "versions": [{"version": 1, "name": "m0-1", "member": "m0", "trial_id": "4f2a1_00000",
                   "iteration": 1, "step": 100, "time": 1.76e9, "wall_s": 61.0,
                   "results": {"random": {"games": 8, "win_rate": 0.75,
                                          "interval": [0.41, 0.93]}, ...},
                   "elo": 35.1,           # latest fit
                   "elo_at_eval": 40.2,   # the fit right after this evaluation (PBT's score)
                   "exploited_from": null | "m2",   # the checkpoint came from this member
                   "config": {"train.lr": 0.002, ...}}, ...],
     "selfplay": [{"version": 3, "name": "m2-7", "time": 1.76e9}, ...]}   # what selfplay played

Versions count evaluations of the whole population (1, 2, ...); an evaluated network is
named ``<member>-<version>``. ``pairs`` holds the sufficient statistics of the Elo fit, as in
``league.json`` (`ringrift_ray.eval.league`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path

from ringrift_ray.eval import league
from ringrift_ray.eval.matches import MatchResult, pairwise_outcomes

FORMAT, KIND = 1, "population"
CANDIDATE = "candidate"
"""Name of the evaluated member in its matches; `record` renames it ``<member>-<version>``."""


def new_population(board: str, players: int, now: float | None = None) -> dict:
    """An empty population league for one variant."""
    return {"format": FORMAT, "kind": KIND, "board": board, "players": players,
            "anchor": "random", "started": time.time() if now is None else now, "elo": {},
            "pairs": [], "versions": [], "selfplay": []}


def load_population(path: str | Path) -> dict:
    """Read a ``population.json``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a population league of a known format.
    """
    table = league.load_league(path)
    if table.get("kind") != KIND:
        raise ValueError(f"{path}: not a population league (kind {table.get('kind')!r})")
    return table


def load_or_new(path: str | Path, board: str, players: int) -> dict:
    """The population league at ``path`` (resume), else a new one (`league.load_or_new`).

    Raises:
        ValueError: the stored table is unreadable or for another board / player count.
    """
    return league.load_or_new(path, board, players, load=load_population, new=new_population)


def summarize(matches: Mapping[str, MatchResult]) -> tuple[list, dict]:
    """A member's matches (the member named `CANDIDATE`, as agent 0) as what `record`
    takes: pairwise outcomes ``[(name_i, name_j, score_i)]`` and results per opponent
    ``{key: {"games", "win_rate", "interval"}}``."""
    results = {key: {"games": len(m.games), "win_rate": m.win_rate,
                     "interval": list(m.interval)} for key, m in matches.items()}
    return pairwise_outcomes(matches.values()), results


def record(table: dict, member: str, iteration: int, step: int, outcomes: list,
           results: dict, *, trial_id: str = "", exploited_from: str | None = None,
           config: dict | None = None, now: float | None = None) -> dict:
    """Add one member evaluation to ``table`` (in place): rename `CANDIDATE` in
    ``outcomes`` to the new version's name, fold the games in, refit Elo for every agent.

    Args:
        member: the member's name (``m<trial index>``).
        iteration: the member's Tune training iteration being reported.
        step: the member's train step.
        outcomes, results: from `summarize`.
        exploited_from: the member whose checkpoint this member restored since its last
            evaluation (PBT exploit), else None.
        config: the member's explored values (dotted keys).

    Returns:
        The new ``versions`` entry (``elo_at_eval`` is the member's score).
    """
    version = league.last_version(table) + 1
    name = f"{member}-{version}"
    league.add_outcomes(table, [(name if a == CANDIDATE else a, name if b == CANDIDATE else b,
                                 s) for a, b, s in outcomes])
    elo = league.refit_elo(table)
    now = time.time() if now is None else now
    entry = {"version": version, "name": name, "member": member, "trial_id": trial_id,
             "iteration": int(iteration), "step": int(step), "time": now,
             "wall_s": now - table["started"], "results": results,
             "elo": elo.get(name, math.nan), "elo_at_eval": elo.get(name, math.nan),
             "exploited_from": exploited_from, "config": dict(config or {})}
    table["versions"].append(entry)
    table["elo"] = elo
    for v in table["versions"]:
        v["elo"] = elo.get(v["name"], v["elo"])
    return entry


def latest_by_member(table: dict) -> dict[str, dict]:
    """``{member: its newest versions entry}``."""
    out: dict[str, dict] = {}
    for v in table["versions"]:
        out[v["member"]] = v
    return out


def ranking(table: dict) -> list[dict]:
    """Each member's newest entry, strongest first (by the latest Elo fit)."""
    return sorted(latest_by_member(table).values(), key=lambda v: -v["elo"])


def format_population(table: dict) -> str:
    """The population as text: one line per member (newest evaluation), strongest first,
    then the number of evaluations, exploits and selfplay weight changes."""
    rows = ranking(table)
    exploits = sum(1 for v in table["versions"] if v["exploited_from"])
    lines = [f"population {table['board']} {table['players']}p: {len(rows)} members, "
             f"{len(table['versions'])} evaluations, {exploits} exploits, selfplay weights "
             f"changed {len(table['selfplay'])} times",
             f"{'member':>6} {'newest':>8} {'iter':>5} {'step':>7} {'elo':>7} {'vs random':>10} "
             f"{'vs heur.':>9} {'vs best':>8}  config"]
    for v in rows:
        rates = [v["results"].get(k, {}).get("win_rate") for k in league.OPPONENTS]
        cells = ["-" if r is None else f"{r:.2f}" for r in rates]
        config = ", ".join(f"{k}={_short(x)}" for k, x in sorted(v["config"].items()))
        lines.append(f"{v['member']:>6} {v['name']:>8} {v['iteration']:>5} {v['step']:>7} "
                     f"{v['elo']:>7.1f} {cells[0]:>10} {cells[1]:>9} {cells[2]:>8}  {config}")
    baselines = ", ".join(f"{n} {table['elo'][n]:.1f}" for n in ("random", "heuristic")
                          if n in table["elo"])
    if baselines:
        lines.append(f"baselines: {baselines}")
    return "\n".join(lines)


def _short(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def plot_population(table: dict, out: str | Path) -> None:
    """Save a PNG: Elo of each member's evaluations against wall time (hours) and against
    the member's train step, one line per member; an exploit is an ``X`` where the member
    continued from another member's checkpoint, joined by a dashed line to that member's
    evaluation it copied."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    members = sorted({v["member"] for v in table["versions"]}, key=_member_key)
    colors = {m: plt.get_cmap("tab10")(i % 10) for i, m in enumerate(members)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, xkey, scale, label in ((axes[0], "wall_s", 1 / 3600, "wall time (h)"),
                                   (axes[1], "step", 1, "member train step")):
        for m in members:
            vs = [v for v in table["versions"] if v["member"] == m]
            ax.plot([v[xkey] * scale for v in vs], [v["elo"] for v in vs], "-o",
                    markersize=3, color=colors[m], label=m)
        for v in table["versions"]:
            src = _exploit_source(table, v)
            if src is None:
                continue
            ax.scatter([v[xkey] * scale], [v["elo"]], marker="X", s=70, color=colors[v["member"]],
                       edgecolors="black", zorder=4)
            ax.plot([src[xkey] * scale, v[xkey] * scale], [src["elo"], v["elo"]], "--",
                    color="gray", linewidth=0.8)
        for name, style in (("random", ":"), ("heuristic", "--")):
            if name in table["elo"]:
                ax.axhline(table["elo"][name], color="gray", linestyle=style, linewidth=0.8)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Elo (random = 0)")
    axes[0].scatter([], [], marker="X", color="white", edgecolors="black", label="exploit")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"RingRift {table['board']} {table['players']}p population "
                 f"(gray lines: random dotted, heuristic dashed)")
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)


def _member_key(name: str) -> tuple[int, str]:
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else 0, name)


def _exploit_source(table: dict, entry: dict) -> dict | None:
    """The source member's newest evaluation before ``entry`` when ``entry`` followed an
    exploit, else None."""
    if not entry["exploited_from"]:
        return None
    before = [v for v in table["versions"]
              if v["member"] == entry["exploited_from"] and v["version"] < entry["version"]]
    return before[-1] if before else None
