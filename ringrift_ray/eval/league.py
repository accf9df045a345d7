"""The league table of the main job: each evaluated candidate, its results, Elo, promotion.

The evaluator (``actors/evaluator.py``) plays every new candidate through the promotion gate
(`ringrift_ray.eval.gate`: `gate_candidate`, then `decide`), records the gate's `Verdict`
(`record_evaluation`: fold in the games, refit Elo over all games so far, note the decision
and a promotion) and writes ``run_dir/league.json`` atomically after every evaluation
(`save_league`); ``ringrift-ray elo RUN_DIR`` prints it (`format_table`) and plots it
(``cli/plots.py``). The table is a frozen `League` (`League.from_json` / `to_json`, the file's
format unchanged); recording returns a new one.

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
                   "promoted": true, "reasons": ["vs random: 0.900 >= 0.85 (pass)", ...],
                   "games": 40},         # games of this evaluation (absent in older tables)
                  ...],
     "pairs": [{"a": "heuristic", "b": "v20", "games": 20, "score_a": 3.5}, ...]}

``results`` keys are ``random``, ``heuristic`` and ``best`` (absent for the first candidate:
with no best yet it meets the baselines only); since the sequential gate each result also has
the check's ``test``, ``decision`` and statistics (`OpponentResult`). ``pairs`` aggregates
every pairwise outcome (`matches.pairwise_outcomes`) per unordered pair of agents (``a < b``):
the number of pairwise games and ``a``'s total score. Those are the sufficient statistics of the
Bradley-Terry likelihood, so `refit_elo` equals `fit_elo` over the raw outcomes. Candidates
are named ``v<version>``; Elo is anchored at random = 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import Field

from ringrift_ray import storage
from ringrift_ray.eval.elo import fit_elo
from ringrift_ray.eval.matches import pairwise_outcomes
from ringrift_ray.json_file import JsonModel, optional, read_json, write_json

if TYPE_CHECKING:
    from ringrift_ray.eval.gate import Check, Verdict
    from ringrift_ray.eval.population import Population

FORMAT = 1
OPPONENTS = ("random", "heuristic", "best")
Table = TypeVar("Table", "League", "Population")


class Pair(JsonModel):
    """Every pairwise game of two agents so far: the Elo fit's sufficient statistics."""

    a: str = Field(description="the agent whose name sorts first")
    b: str = Field(description="the other agent")
    games: int = Field(description="pairwise games between them")
    score_a: float = Field(description="a's total score over them (win 1, draw 1/2)")


class Best(JsonModel):
    """The current best network, the gate's opponent ``best``."""

    version: int = Field(description="its published version (0: the warm start)")
    name: str = Field(description="its league name (v<version>, or warm)")
    checkpoint: str = Field(description="its weights (a path or a URI)")


class OpponentResult(JsonModel):
    """One opponent's games in an evaluation, from the candidate's side."""

    opponent: str | None = optional("the opponent's name (league tables only)")
    games: int = Field(description="games played against it")
    win_rate: float = Field(description="the candidate's mean score in [0, 1]")
    test: str | None = optional("the gate's test: wilson, sprt or none (check off)")
    decision: str | None = optional("pass, fail, undecided or info (`gate.Check`)")
    interval: tuple[float, float] | None = optional("Wilson 95% interval of the win rate")
    threshold: float | None = optional("Wilson check: the win rate the lower bound must reach")
    llr: float | None = optional("SPRT: the log-likelihood ratio")
    bounds: tuple[float, float] | None = optional("SPRT: Wald's lower and upper bounds")
    elo0: float | None = optional("SPRT: the Elo difference of H0")
    elo1: float | None = optional("SPRT: the Elo difference of H1")
    alpha: float | None = optional("SPRT: the false-pass rate")
    beta: float | None = optional("SPRT: the false-fail rate")


class LeagueEntry(JsonModel):
    """One evaluated candidate (an element of ``versions``)."""

    version: int = Field(description="the candidate's published version")
    name: str = Field(description="its league name, v<version>")
    step: int = Field(description="its train step")
    time: float = Field(description="unix time of the evaluation")
    wall_s: float = Field(description="seconds since the league began")
    checkpoint: str = Field(description="its weights (a path or a URI)")
    results: dict[str, OpponentResult] = Field(description="per opponent key")
    elo: float = Field(description="Elo in the latest fit (random = 0)")
    elo_at_eval: float = Field(description="Elo in the fit right after this evaluation")
    promoted: bool = Field(description="the gate's verdict")
    reasons: tuple[str, ...] = Field(description="one line per check / opponent not played")
    games: int | None = optional("games of this evaluation (absent in older tables)")


class League(JsonModel):
    """The main job's league table, ``league.json`` (see the module docstring)."""

    format: Literal[1] = Field(description="the table format")
    board: str = Field(description="board of the variant")
    players: int = Field(description="players of the variant")
    anchor: str = Field(description="the agent at Elo 0")
    started: float = Field(description="unix time the league began")
    best: Best | None = Field(description="the current best, None before the first promotion")
    elo: dict[str, float] = Field(description="the latest fit, every agent")
    versions: tuple[LeagueEntry, ...] = Field(description="evaluated candidates, oldest first")
    pairs: tuple[Pair, ...] = Field(description="pairwise games per pair of agents")

    @classmethod
    def from_json(cls, data: Any, source: str) -> League:
        """Validate a parsed ``league.json``.

        Raises:
            ValueError: not a format-1 league table, or a malformed field (named).
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{source}: not a format-{FORMAT} league table")
        if "kind" in data:
            raise ValueError(f"{source}: a {data['kind']!r} table, not a league table")
        return super().from_json(data, source)


def candidate_name(version: int) -> str:
    """League name of the candidate published as ``version``."""
    return f"v{version}"


def new_league(board: str, players: int, now: float | None = None) -> League:
    """An empty league for one variant."""
    return League(format=FORMAT, board=board, players=players, anchor="random",
                  started=time.time() if now is None else now, best=None, elo={},
                  versions=(), pairs=())


def load_league(path: storage.Location) -> League:
    """Read a ``league.json`` (a path or a URI, `ringrift_ray.storage`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a league table of a known format (the message names
            the file and the field).
    """
    return League.from_json(read_json(path, "league table"), str(path))


def load_or_new(path: storage.Location, board: str, players: int,
                load: Callable[[storage.Location], Table] = load_league,
                new: Callable[[str, int], Table] = new_league) -> Table:
    """The table at ``path`` (resume), else a new one: the league by default; the
    population league passes its own ``load`` and ``new`` (`ringrift_ray.eval.population`).

    Raises:
        ValueError: the stored table is unreadable or for another board / player count.
    """
    if not storage.exists(path):
        return new(board, players)
    table = load(path)
    if (table.board, table.players) != (board, players):
        raise ValueError(f"{path}: the table is for {table.board} {table.players}p, not "
                         f"{board} {players}p")
    return table


def save_league(league: League, path: storage.Location) -> None:
    """Write ``league`` to ``path`` (a path or a URI) so that readers never see a
    half-written table (`json_file.write_json`).

    Raises:
        OSError: the write failed.
    """
    write_json(league.to_json(), path)


def last_version(table: League | Population) -> int:
    """The newest evaluated version (-1 when none)."""
    return max((v.version for v in table.versions), default=-1)


def add_outcomes(table: Table, outcomes: Iterable[tuple[str, str, float]]) -> Table:
    """``table`` with pairwise outcomes ``(name_i, name_j, score_i)`` folded into its
    ``pairs`` (new pairs appended)."""
    pairs = {(p.a, p.b): (p.games, p.score_a) for p in table.pairs}
    for a, b, s in outcomes:
        if a > b:
            a, b, s = b, a, 1.0 - s
        games, score = pairs.get((a, b), (0, 0.0))
        pairs[(a, b)] = (games + 1, score + s)
    return table.model_copy(update={"pairs": tuple(
        Pair(a=a, b=b, games=g, score_a=s) for (a, b), (g, s) in pairs.items())})


def refit_elo(table: League | Population) -> dict[str, float]:
    """Bradley-Terry Elo (`elo.fit_elo`) over every game in ``table.pairs``."""
    outcomes = [(p.a, p.b, p.score_a / p.games) for p in table.pairs for _ in range(p.games)]
    return fit_elo(outcomes, anchor=table.anchor)


def fold_games(table: Table, outcomes: Iterable[tuple[str, str, float]]) -> Table:
    """``table`` with ``outcomes`` folded in (`add_outcomes`), Elo refit over all games and
    every version's ``elo`` set to the new fit (a version the fit lacks keeps its own)."""
    table = add_outcomes(table, outcomes)
    elo = refit_elo(table)
    versions = tuple(v.model_copy(update={"elo": elo.get(v.name, v.elo)})
                     for v in table.versions)
    return table.model_copy(update={"elo": elo, "versions": versions})


def record_evaluation(league: League, version: int, step: int, checkpoint: str,
                      verdict: Verdict, now: float | None = None) -> League:
    """Record one candidate's gate verdict: fold in its games, refit Elo for every agent, and
    make it the best when the verdict promotes it. The league decides nothing
    (`gate.decide` did).

    Args:
        version: the candidate's published version (its train step in the main job).
        step: train step of the candidate.
        checkpoint: where its weights were saved (the best's file for later matches).
        verdict: `gate.decide`'s verdict on the candidate's checks (candidate as agent 0).
        now: unix time of the evaluation (default: now).

    Returns:
        The new league; its last ``versions`` entry is the candidate's.

    Raises:
        ValueError: ``version`` not newer than the last evaluated one.
    """
    if version <= last_version(league):
        raise ValueError(f"version {version} is not newer than the last evaluated "
                         f"{last_version(league)}")
    now = time.time() if now is None else now
    name = candidate_name(version)
    league = fold_games(league, pairwise_outcomes(c.match for c in verdict.checks.values()))
    elo = league.elo.get(name, math.nan)
    entry = LeagueEntry(
        version=int(version), name=name, step=int(step), time=now,
        wall_s=now - league.started, checkpoint=str(checkpoint),
        results={key: _result(c) for key, c in verdict.checks.items()}, elo=elo,
        elo_at_eval=elo, promoted=verdict.promoted, reasons=verdict.reasons,
        games=verdict.games)
    best = (Best(version=int(version), name=name, checkpoint=str(checkpoint))
            if verdict.promoted else league.best)
    return league.model_copy(update={"versions": (*league.versions, entry), "best": best})


def _result(check: Check) -> OpponentResult:
    m = check.match
    return OpponentResult(opponent=m.names[1], games=len(m.games), win_rate=m.win_rate,
                          test=check.test, decision=check.decision, **check.stats)


def format_table(league: League) -> str:
    """The league as a fixed-width text table, one line per evaluated version: per opponent
    the win rate, games played and the gate's decision (older tables: the Wilson interval)."""
    head = (f"{'version':>8} {'step':>8} {'wall_s':>9} {'elo':>8} {'vs random':>17} "
            f"{'vs heuristic':>17} {'vs best':>17}  promoted")
    lines = [f"league {league.board} {league.players}p: {len(league.versions)} "
             f"versions, best {league.best.name if league.best else '-'}", head]
    for v in league.versions:
        cells = []
        for key in OPPONENTS:
            r = v.results.get(key)
            if r is None:
                cells.append("-")
            elif r.decision is not None:
                cells.append(f"{r.win_rate:.2f} {r.games:>3}g {r.decision[:5]}")
            else:
                lo, hi = r.interval or (math.nan, math.nan)
                cells.append(f"{r.win_rate:.2f} [{lo:.2f},{hi:.2f}]")
        lines.append(f"{v.version:>8} {v.step:>8} {v.wall_s:>9.0f} {v.elo:>8.1f} "
                     f"{cells[0]:>17} {cells[1]:>17} {cells[2]:>17}  "
                     f"{'yes' if v.promoted else 'no'}")
    names = {v.name for v in league.versions}
    others = ", ".join(f"{n} {e:.1f}" for n, e in sorted(league.elo.items()) if n not in names)
    if others:
        lines.append(f"baselines: {others}")
    return "\n".join(lines)
