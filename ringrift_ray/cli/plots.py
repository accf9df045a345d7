"""Charts of a run's tables for ``ringrift-ray elo RUN_DIR`` (PNG, matplotlib).

| chart             | table                                   | panels                           |
|-------------------|-----------------------------------------|----------------------------------|
| `plot_elo`        | ``league.json`` (`eval.league.League`)  | Elo vs wall time, vs train step, |
|                   |                                         | training losses (when given)     |
| `plot_population` | ``population.json``                     | Elo per member vs wall time, vs  |
|                   | (`eval.population.Population`)          | member step; exploits marked     |

Drawn with matplotlib's object API (a ``Figure`` saved through the Agg canvas; never pyplot,
so no global backend or figure state), like ``pictures.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib import colormaps
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ringrift_ray.eval.league import League
    from ringrift_ray.eval.population import Population, PopulationEntry


def plot_elo(league: League, out: str | Path,
             losses: Mapping[str, list[tuple]] | None = None) -> None:
    """Save a PNG of each version's Elo against wall time (hours since the league began)
    and against training steps, promoted versions marked; with ``losses``
    (`run_records.load_losses`: ``{tag: [(step, value), ...]}``) a third panel plots the
    ``*loss`` curves against training steps (log scale when all positive)."""
    curves = {t: pts for t, pts in (losses or {}).items() if t.endswith("loss") and pts}
    versions = league.versions
    elo = [v.elo for v in versions]
    promoted = [v.promoted for v in versions]
    fig = Figure(figsize=(16 if curves else 11, 4))
    axes = fig.subplots(1, 3 if curves else 2)
    axes[1].sharey(axes[0])
    for ax, xs, label in ((axes[0], [v.wall_s / 3600 for v in versions], "wall time (h)"),
                          (axes[1], [v.step for v in versions], "training steps")):
        ax.plot(xs, elo, "-o", color="tab:blue", markersize=3, label="candidate")
        ax.scatter([x for x, p in zip(xs, promoted, strict=True) if p],
                   [e for e, p in zip(elo, promoted, strict=True) if p],
                   color="tab:red", zorder=3, s=25, label="promoted")
        baselines = ["random", "heuristic", *sorted(  # and EvalConfig.baselines
            n for n in league.elo if n.startswith(("uct:", "minimax:")))]
        for name, style in zip(baselines, itertools.cycle((":", "--", "-.")), strict=False):
            if name in league.elo:
                ax.axhline(league.elo[name], color="gray", linestyle=style, label=name)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Elo (random = 0)")
    axes[1].legend(loc="lower right")
    if curves:
        _plot_losses(axes[2], curves)
    fig.suptitle(f"RingRift {league.board} {league.players}p league")
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)


def _plot_losses(ax: Axes, curves: Mapping[str, list[tuple]]) -> None:
    for tag, pts in curves.items():
        steps, values = zip(*pts, strict=True)
        ax.plot(steps, values, label=tag.split("/")[-1])
    if all(v > 0 for pts in curves.values() for _, v in pts):
        ax.set_yscale("log")
    ax.set_xlabel("training steps")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")


def plot_population(table: Population, out: str | Path) -> None:
    """Save a PNG: Elo of each member's evaluations against wall time (hours) and against
    the member's train step, one line per member; an exploit is an ``X`` where the member
    continued from another member's checkpoint, joined by a dashed line to that member's
    evaluation it copied."""
    members = sorted({v.member for v in table.versions}, key=_member_key)
    colors = {m: colormaps["tab10"](i % 10) for i, m in enumerate(members)}
    fig = Figure(figsize=(12, 4.5))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, xkey, scale, label in ((axes[0], "wall_s", 1 / 3600, "wall time (h)"),
                                   (axes[1], "step", 1, "member train step")):
        for m in members:
            vs = [v for v in table.versions if v.member == m]
            ax.plot([getattr(v, xkey) * scale for v in vs], [v.elo for v in vs], "-o",
                    markersize=3, color=colors[m], label=m)
        for v in table.versions:
            src = _exploit_source(table, v)
            if src is None:
                continue
            x, x_src = getattr(v, xkey) * scale, getattr(src, xkey) * scale
            ax.scatter([x], [v.elo], marker="X", s=70, color=colors[v.member],
                       edgecolors="black", zorder=4)
            ax.plot([x_src, x], [src.elo, v.elo], "--", color="gray", linewidth=0.8)
        for name, style in (("random", ":"), ("heuristic", "--")):
            if name in table.elo:
                ax.axhline(table.elo[name], color="gray", linestyle=style, linewidth=0.8)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Elo (random = 0)")
    axes[0].scatter([], [], marker="X", color="white", edgecolors="black", label="exploit")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"RingRift {table.board} {table.players}p population "
                 f"(gray lines: random dotted, heuristic dashed)")
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)


def _member_key(name: str) -> tuple[int, str]:
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else 0, name)


def _exploit_source(table: Population, entry: PopulationEntry) -> PopulationEntry | None:
    """The source member's newest evaluation before ``entry`` when ``entry`` followed an
    exploit, else None."""
    if not entry.exploited_from:
        return None
    before = [v for v in table.versions
              if v.member == entry.exploited_from and v.version < entry.version]
    return before[-1] if before else None
