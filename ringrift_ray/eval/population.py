"""The population league of population-based training: every member's evaluations on one
Elo scale, which member selfplay plays, and the exploit events.

PBT members (``experiments/pbt.py``) each play ``eval.games`` games against random, the
heuristic and the current best member (`ringrift_ray.eval.gate.play_candidate`) after
every training iteration; the `Population` actor (``actors/population.py``) folds the games into
this table (`record`), refits Bradley-Terry Elo over all games so far (random = 0) and
reports the member's Elo, which is the score PBT's exploit step ranks members by. The table
is ``run_dir/population.json``, a frozen `Population` in memory (`Population.from_json` /
`to_json`; `record` returns a new one); ``ringrift-ray elo RUN_DIR`` prints it
(`format_population`) and plots one Elo line per member with the exploit events marked
(``cli/plots.py``).

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
from typing import Any, Literal

from pydantic import Field

from ringrift_ray import storage
from ringrift_ray.eval import league
from ringrift_ray.eval.league import OpponentResult, Pair
from ringrift_ray.eval.matches import MatchResult, pairwise_outcomes
from ringrift_ray.json_file import JsonModel, read_json, write_json

FORMAT, KIND = 1, "population"
CANDIDATE = "candidate"
"""Name of the evaluated member in its matches; `record` renames it ``<member>-<version>``."""


class PopulationEntry(JsonModel):
    """One member evaluation (an element of ``versions``)."""

    version: int = Field(description="evaluations of the whole population before this one")
    name: str = Field(description="the evaluated network, <member>-<version>")
    member: str = Field(description="the member, m<trial index>")
    trial_id: str = Field(description="the member's Tune trial id")
    iteration: int = Field(description="the member's Tune training iteration")
    step: int = Field(description="the member's train step")
    time: float = Field(description="unix time of the evaluation")
    wall_s: float = Field(description="seconds since the population began")
    results: dict[str, OpponentResult] = Field(description="per opponent key")
    elo: float = Field(description="Elo in the latest fit (random = 0)")
    elo_at_eval: float = Field(description="Elo right after this evaluation: PBT's score")
    exploited_from: str | None = Field(description="the member whose checkpoint this one "
                                       "restored since its last evaluation (PBT exploit)")
    config: dict[str, Any] = Field(description="the member's explored values (dotted keys)")


class SelfplayChange(JsonModel):
    """The selfplay stream switched to another network."""

    version: int = Field(description="the selfplay store's version of the weights")
    name: str = Field(description="the evaluated network it plays, <member>-<version>")
    time: float = Field(description="unix time of the evaluation that made the change")


class Population(JsonModel):
    """PBT's population league, ``population.json`` (see the module docstring)."""

    format: Literal[1] = Field(description="the table format")
    kind: Literal["population"] = Field(description="tells it from a league table")
    board: str = Field(description="board of the variant")
    players: int = Field(description="players of the variant")
    anchor: str = Field(description="the agent at Elo 0")
    started: float = Field(description="unix time the population began")
    elo: dict[str, float] = Field(description="the latest fit, every agent")
    pairs: tuple[Pair, ...] = Field(description="pairwise games per pair of agents")
    versions: tuple[PopulationEntry, ...] = Field(description="evaluations, oldest first")
    selfplay: tuple[SelfplayChange, ...] = Field(description="what selfplay played, in order")

    @classmethod
    def from_json(cls, data: Any, source: str) -> Population:
        """Validate a parsed ``population.json``.

        Raises:
            ValueError: not a format-1 population league, or a malformed field (named).
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{source}: not a format-{FORMAT} population league")
        if data.get("kind") != KIND:
            raise ValueError(f"{source}: not a population league (kind {data.get('kind')!r})")
        return super().from_json(data, source)


def new_population(board: str, players: int, now: float | None = None) -> Population:
    """An empty population league for one variant."""
    return Population(format=FORMAT, kind=KIND, board=board, players=players, anchor="random",
                      started=time.time() if now is None else now, elo={}, pairs=(),
                      versions=(), selfplay=())


def load_population(path: storage.Location) -> Population:
    """Read a ``population.json`` (a path or a URI).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a population league of a known format (the message
            names the file and the field).
    """
    return Population.from_json(read_json(path, "population league"), str(path))


def load_or_new(path: storage.Location, board: str, players: int) -> Population:
    """The population league at ``path`` (resume), else a new one (`league.load_or_new`).

    Raises:
        ValueError: the stored table is unreadable or for another board / player count.
    """
    return league.load_or_new(path, board, players, load=load_population, new=new_population)


def save_population(table: Population, path: storage.Location) -> None:
    """Write ``table`` to ``path`` atomically (`json_file.write_json`).

    Raises:
        OSError: the write failed.
    """
    write_json(table.to_json(), path)


def summarize(matches: Mapping[str, MatchResult]
              ) -> tuple[list[tuple[str, str, float]], dict[str, OpponentResult]]:
    """A member's matches (the member named `CANDIDATE`, as agent 0) as what `record`
    takes: pairwise outcomes ``[(name_i, name_j, score_i)]`` and results per opponent
    (``games``, ``win_rate``, ``interval``)."""
    results = {key: OpponentResult(games=len(m.games), win_rate=m.win_rate,
                                   interval=m.interval) for key, m in matches.items()}
    return pairwise_outcomes(matches.values()), results


def record(table: Population, member: str, iteration: int, step: int, outcomes: list,
           results: Mapping[str, OpponentResult], *, trial_id: str = "",
           exploited_from: str | None = None, config: dict | None = None,
           now: float | None = None) -> Population:
    """Add one member evaluation: rename `CANDIDATE` in ``outcomes`` to the new version's
    name, fold the games in, refit Elo for every agent.

    Args:
        member: the member's name (``m<trial index>``).
        iteration: the member's Tune training iteration being reported.
        step: the member's train step.
        outcomes, results: from `summarize`.
        exploited_from: the member whose checkpoint this member restored since its last
            evaluation (PBT exploit), else None.
        config: the member's explored values (dotted keys).

    Returns:
        The new table; its last ``versions`` entry is this evaluation (``elo_at_eval`` is
        the member's score).
    """
    version = league.last_version(table) + 1
    name = f"{member}-{version}"
    table = league.fold_games(table, [(name if a == CANDIDATE else a,
                                       name if b == CANDIDATE else b, s)
                                      for a, b, s in outcomes])
    now = time.time() if now is None else now
    elo = table.elo.get(name, math.nan)
    entry = PopulationEntry(
        version=version, name=name, member=member, trial_id=trial_id,
        iteration=int(iteration), step=int(step), time=now, wall_s=now - table.started,
        results=dict(results), elo=elo, elo_at_eval=elo, exploited_from=exploited_from,
        config=dict(config or {}))
    return table.model_copy(update={"versions": (*table.versions, entry)})


def latest_by_member(table: Population) -> dict[str, PopulationEntry]:
    """``{member: its newest versions entry}``."""
    return {v.member: v for v in table.versions}


def ranking(table: Population) -> list[PopulationEntry]:
    """Each member's newest entry, strongest first (by the latest Elo fit)."""
    return sorted(latest_by_member(table).values(), key=lambda v: -v.elo)


def format_population(table: Population) -> str:
    """The population as text: one line per member (newest evaluation), strongest first,
    then the number of evaluations, exploits and selfplay weight changes."""
    rows = ranking(table)
    exploits = sum(1 for v in table.versions if v.exploited_from)
    lines = [f"population {table.board} {table.players}p: {len(rows)} members, "
             f"{len(table.versions)} evaluations, {exploits} exploits, selfplay weights "
             f"changed {len(table.selfplay)} times",
             f"{'member':>6} {'newest':>8} {'iter':>5} {'step':>7} {'elo':>7} {'vs random':>10} "
             f"{'vs heur.':>9} {'vs best':>8}  config"]
    for v in rows:
        rates = [v.results[k].win_rate if k in v.results else None for k in league.OPPONENTS]
        cells = ["-" if r is None else f"{r:.2f}" for r in rates]
        config = ", ".join(f"{k}={_short(x)}" for k, x in sorted(v.config.items()))
        lines.append(f"{v.member:>6} {v.name:>8} {v.iteration:>5} {v.step:>7} "
                     f"{v.elo:>7.1f} {cells[0]:>10} {cells[1]:>9} {cells[2]:>8}  {config}")
    baselines = ", ".join(f"{n} {table.elo[n]:.1f}" for n in ("random", "heuristic")
                          if n in table.elo)
    if baselines:
        lines.append(f"baselines: {baselines}")
    return "\n".join(lines)


def _short(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)

