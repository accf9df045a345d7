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

import dataclasses
import itertools
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ringrift_ray import gate, storage
from ringrift_ray.config import EvalConfig, GateConfig
from ringrift_ray.elo import fit_elo
from ringrift_ray.evaluate import (
    Agent,
    MatchResult,
    heuristic_agent,
    pairwise_outcomes,
    play_match,
    random_agent,
)
from ringrift_ray.json_file import read_json, write_json

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
    population league passes its own ``load`` and ``new`` (`ringrift_ray.population`).

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


def check(key: str, match: MatchResult, cfg: GateConfig, final: bool = True) -> Check:
    """Apply the gate's test for opponent ``key`` to the games of ``match`` so far.

    ``key`` ``"best"`` runs the SPRT (`gate.sprt_llr`); ``"random"`` / ``"heuristic"`` the
    Wilson check (`gate.wilson_decision`) against ``cfg.min_vs_<key>``. With ``final``, a
    test still undecided is ``"undecided"``, else ``"continue"``.
    """
    n, score = len(match.games), match.wins
    lo, hi = gate.wilson_interval(score, n, cfg.z)
    head = f"vs {key} ({match.names[1]}): {score:g}/{n}"
    if key == "best":
        if not cfg.vs_best:
            return Check(match, "none", "info", {"interval": [lo, hi]}, f"{head}, not gated")
        llr = gate.sprt_llr(score, n, cfg.elo0, cfg.elo1)
        bounds = gate.sprt_bounds(cfg.alpha, cfg.beta)
        decision = gate.sprt_decision(llr, cfg.alpha, cfg.beta)
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
        decision = gate.wilson_decision(score, n, need, cfg.z)
        stats = {"interval": [lo, hi], "threshold": need}
        text = f"Wilson [{lo:.2f}, {hi:.2f}] vs {need:.2f}"
        test = "wilson"
    if decision == "continue" and final:
        decision = "undecided"
    return Check(match, test, decision, stats, f"{head}, {text}: {decision}")


def judge(matches: Mapping[str, MatchResult], cfg: GateConfig) -> dict[str, Check]:
    """`check` each finished match (``final``), e.g. matches played elsewhere or in tests."""
    return {key: check(key, m, cfg) for key, m in matches.items()}


def _batch_seed(seed: int, opponent: int, batch: int) -> int:
    return int(np.random.SeedSequence([seed, opponent, batch]).generate_state(1)[0])


def gate_candidate(candidate: Agent, best: Agent | None, board: str, players: int,
                   cfg: EvalConfig, seed: int = 0, swap_rule: bool = False,
                   keep_moves: bool = True) -> dict[str, Check]:
    """Play the gate's sequential tests: random, then heuristic, then ``best``.

    Each opponent gets batches of ``cfg.concurrency`` games (rounded up to even, so a batch
    rotates seats evenly) until its test decides (`check`) or ``cfg.games`` games are
    played; a check that is off plays one batch (for Elo). The first fail or undecided
    check ends the evaluation: later opponents are not played.

    Returns:
        ``{"random": Check, "heuristic": ..., "best": ...}`` for the opponents played, in
        that order; the candidate is agent 0 of every match.
    """
    opponents = {"random": random_agent(), "heuristic": heuristic_agent()}
    if best is not None:
        opponents["best"] = best
    batch = cfg.concurrency + cfg.concurrency % 2
    out: dict[str, Check] = {}
    for i, (key, opp) in enumerate(opponents.items()):
        match, seeds = MatchResult([candidate.name, opp.name], board, players), []
        for b in itertools.count():
            batch_seed = _batch_seed(seed, i, b)
            games = min(batch, cfg.games - len(match.games))
            part = play_match([candidate, opp], board, players, games, batch_seed,
                              concurrency=cfg.concurrency, max_moves=cfg.max_moves,
                              swap_rule=swap_rule, keep_moves=keep_moves)
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


def record_evaluation(league: dict, version: int, step: int, checkpoint: str,
                      checks: Mapping[str, Check], now: float | None = None) -> dict:
    """Add one candidate's gate checks to ``league`` (in place): fold in its games, refit
    Elo for every agent, promote it when every check passed and none was skipped.

    Args:
        version: the candidate's published version (its train step in the main job).
        step: train step of the candidate.
        checkpoint: where its weights were saved (the best's file for later matches).
        checks: `gate_candidate`'s (or `judge`'s) results, candidate as agent 0 in each.
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


def save_games(checks: Mapping[str, Check], path: str | Path, *, version: int,
               swap_rule: bool = False) -> int:
    """Append the games of a candidate's checks to ``path`` (JSON lines, one game each):
    ``{"candidate", "version", "key", "opponent", "game", "seed", "seats", "ranks",
    "score", "capped", "board", "players", "swap_rule", "moves": [move text, ...]}``.
    ``seats`` names the agent at each seat (seat 0 = player 1), ``score`` is the
    candidate's, ``seed`` the seed of the game's batch. Returns the games written."""
    lines = []
    for key, c in checks.items():
        m = c.match
        for i, g in enumerate(m.games):
            seed = c.seeds[i] if i < len(c.seeds) else None
            lines.append(json.dumps({
                "candidate": m.names[0], "version": int(version), "key": key,
                "opponent": m.names[1], "game": i, "seed": seed,
                "seats": [m.names[a] for a in g.seat_agents], "ranks": list(g.seat_ranks),
                "score": g.score(0), "capped": g.capped, "board": m.board,
                "players": m.players, "swap_rule": swap_rule, "moves": list(g.move_texts)}))
    old = storage.read_text(path) if storage.exists(path) else ""  # no append on S3
    storage.write_text(path, old + "".join(line + "\n" for line in lines))
    return len(lines)


def load_games(path: str | Path) -> list[dict]:
    """The games `save_games` wrote to ``path``, in order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not a game record (the message names file and line).
    """
    if not storage.is_file(path):
        raise FileNotFoundError(f"games file not found: {path}")
    games = []
    for i, line in enumerate(storage.read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            game = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{i}: not JSON ({e})") from None
        if not isinstance(game, dict) or not isinstance(game.get("moves"), list):
            raise ValueError(f"{path}:{i}: not a game record (no move list)")
        games.append(game)
    return games


def load_losses(run_dir: str | Path, prefix: str = "train/") -> dict[str, list[tuple]]:
    """Scalar curves ``{tag: [(step, value), ...]}`` under ``prefix`` from the TensorBoard
    event files in ``run_dir/tensorboard`` (tensorboard's ``EventAccumulator``), sorted by
    step; ``{}`` when there are none."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    curves: dict[str, dict[int, float]] = {}
    for f in sorted((Path(run_dir) / "tensorboard").glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(f), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            if tag.startswith(prefix):
                curves.setdefault(tag, {}).update((e.step, e.value) for e in acc.Scalars(tag))
    return {tag: sorted(points.items()) for tag, points in sorted(curves.items())}


def plot_elo(league: dict, out: str | Path,
             losses: Mapping[str, list[tuple]] | None = None) -> None:
    """Save a PNG of each version's Elo against wall time (hours since the league began)
    and against training steps, promoted versions marked; with ``losses`` (`load_losses`:
    ``{tag: [(step, value), ...]}``) a third panel plots the ``*loss`` curves against
    training steps (log scale when all positive)."""
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
