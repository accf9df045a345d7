"""Agents and matches: who plays, games between agents with rotated seats, pairwise results.

Legend: ``B`` states handed to an agent at once, ``P`` players (seats 0..P-1 = players
1..P), ``A`` agents in a match, ``M`` legal moves of one state.

| piece              | what it is                                                       |
|--------------------|------------------------------------------------------------------|
| `Agent`            | a name + ``act(states [B], rng) -> records [B]`` (one move each) |
| `search_agent`     | a network (or `EvaluateFn`) + Gumbel search at a budget, batched |
| `checkpoint_agent` | `search_agent` over a checkpoint file                            |
| `play_match`       | games between agents, seats rotated, several games at once       |
| `MatchResult`      | a match's games, agent 0's score, Wilson interval and mean rank  |
| `pairwise_outcomes`| games as pairwise results, what the Elo fit (``elo.py``) reads   |

The baselines (random, heuristic) and command-line agent specs are in ``baselines.py``; the
promotion gate, which plays candidates through `play_match`, is ``gate.py``.

A game's *score* for an agent is the share of the rank-1 seats it holds: 1 for a sole win,
1/2 for a 2-way tie at rank 1, 0 otherwise. Games stopped by the move cap are draws (every
seat ranked 1). Win rates are mean scores; Wilson intervals treat scores as Bernoulli.

With 3-4 players a match of two agents seats the subject (agent 0) at one seat and the
opponent at every other seat, the subject's seat rotating through all seats. Against equal
opponents the subject's win share is then 1/P and its mean rank (P+1)/2 (chance); both are
reported (`MatchResult.summary`). A rank counted in the mean is *fractional*: players tied
over several places share the mean of those places (a capped game, all tied: (P+1)/2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ringrift_ray.config import SearchConfig
from ringrift_ray.eval.forest_agent import forest_act
from ringrift_ray.eval.gate_stats import wilson_interval
from ringrift_ray.game import (
    GameState,
    apply_record_inplace,
    move_to_text,
    new_game,
    record_to_move,
)
from ringrift_ray.game import ranks as final_ranks
from ringrift_ray.inference import Inference
from ringrift_ray.net import PolicyValueNet, load_checkpoint
from ringrift_ray.search.game_fns import (
    cached_legal_actions,
    forced_record,
    game_fns,
    network_evaluate,
)
from ringrift_ray.search.gumbel import EvaluateFn, gumbel_search

ActFn = Callable[[Sequence[GameState], np.random.Generator], list[np.ndarray]]
"""``act(states, rng) -> records``: one legal move record `[MOVE_WIDTH]` int32 per live state
(each with at least one legal move); states are not modified."""


@dataclass(frozen=True)
class Agent:
    """A player: ``name`` (used for results and Elo) and its batched move choice ``act``."""

    name: str
    act: ActFn


def best_scored_agent(name: str,
                      score: Callable[[GameState, np.random.Generator],
                                      tuple[np.ndarray, np.ndarray]],
                      tie: float = 0.0) -> Agent:
    """An agent that plays, in each state, the legal move with the highest score.

    Args:
        name: result name.
        score: ``(state, rng) -> (records [L, MOVE_WIDTH] int32, scores [L] float)`` of the
            legal moves (higher is better for the player to move); ``rng`` is the match
            generator, for a search that draws.
        tie: scores within ``tie`` of the best tie; one of them is drawn uniformly from the
            match generator (``act``'s ``rng``).

    A decision with a single legal move (`forced_record`) is played without scoring.
    """

    def act(states, rng):
        out = []
        for s in states:
            forced = forced_record(s)
            if forced is not None:
                out.append(forced)
                continue
            records, scores = score(s, rng)
            best = np.flatnonzero(scores >= scores.max() - tie)
            out.append(records[best[rng.integers(len(best))]])
        return out

    return Agent(name, act)


def search_agent(model: PolicyValueNet | EvaluateFn, num_simulations: int, *,
                 name: str, num_players: int | None = None, device: str | None = None,
                 search: SearchConfig | None = None, backend: str = "auto") -> Agent:
    """A network with Gumbel search; plays the search's chosen action (the
    sequential-halving winner). All states of one ``act`` call share each network batch;
    decisions with a single legal move are played without search (`forced_record`).

    Args:
        model: a `PolicyValueNet` (in memory; moved to ``device`` for inference; its
            weights are read when the agent is made) or an `EvaluateFn` (values in absolute
            seat order).
        num_simulations: search budget per decision (``SearchConfig.num_simulations``).
        name: result name (Elo, league table).
        num_players: P of the games; taken from the net's spec when ``model`` is a net,
            required for an `EvaluateFn`.
        device: torch device of a net; None = cuda when available, else cpu.
        search: the other search parameters (default `SearchConfig` defaults);
            ``num_simulations`` overrides its budget. With ``subtree_reuse`` the searches run
            on the compiled tree, one tree per game kept across its decisions
            (`forest_agent.forest_act`).
        backend: inference backend of a net (`ringrift_ray.inference`; ``auto``: ONNX
            Runtime on the CPU, eager torch on CUDA).

    Raises:
        ValueError: an `EvaluateFn` without ``num_players``; a bad ``backend``.
    """
    if isinstance(model, PolicyValueNet):
        num_players = model.spec.players
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        evaluate = network_evaluate(Inference(model, backend, device, torch.get_num_threads()))
    elif num_players is None:
        raise ValueError("search_agent with an EvaluateFn needs num_players")
    else:
        evaluate = model
    cfg = (search or SearchConfig()).model_copy(update={"num_simulations": num_simulations})
    if cfg.subtree_reuse:
        return Agent(name, forest_act(evaluate, num_players, cfg))
    game = game_fns(num_players)

    def act(states, rng):
        out = [forced_record(s) for s in states]
        todo = [i for i, rec in enumerate(out) if rec is None]
        if todo:
            results = gumbel_search([states[i] for i in todo], game, evaluate, cfg, rng)
            for i, res in zip(todo, results, strict=True):
                idx, recs = cached_legal_actions(states[i])
                out[i] = recs[int(np.flatnonzero(idx == res.action)[0])]
        return out

    return Agent(name, act)


def checkpoint_agent(checkpoint: str | Path, num_simulations: int, *, board: str | None = None,
                     players: int | None = None, device: str | None = None,
                     name: str | None = None, search: SearchConfig | None = None) -> Agent:
    """`search_agent` over a checkpoint file's network.

    Args:
        checkpoint: file written by `net.save_checkpoint`.
        board, players: when given, the variant the checkpoint must be for.
        name: result name; default ``"<file stem>@<sims>"``.
        num_simulations, device, search: as in `search_agent`.

    Raises:
        FileNotFoundError: no such checkpoint.
        ValueError: unreadable checkpoint, or one for another board / player count.
    """
    net, _ = load_checkpoint(checkpoint)
    spec = net.spec
    if (board is not None and spec.board != board) or (players is not None
                                                       and spec.players != players):
        raise ValueError(f"checkpoint {checkpoint} is for {spec.board} {spec.players}p, "
                         f"not {board or spec.board} {players or spec.players}p")
    return search_agent(net, num_simulations, name=name or f"{Path(checkpoint).stem}@"
                        f"{num_simulations}", device=device, search=search)


# ---- matches -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GameResult:
    """One finished (or move-capped) game of a match.

    Attributes:
        seat_agents: `[P]` agent index sitting at each seat (seat 0 = player 1, who starts).
        seat_ranks: `[P]` final rank per seat (1 = best, ties share); all 1 when capped.
        moves: moves applied (bookkeeping moves included).
        capped: True when the move cap ended the game (a draw).
        move_texts: canonical texts of the moves applied (``play_match(keep_moves=True)``;
            empty otherwise).
    """

    seat_agents: tuple[int, ...]
    seat_ranks: tuple[int, ...]
    moves: int
    capped: bool
    move_texts: tuple[str, ...] = ()

    def agent_rank(self, agent: int) -> int | None:
        """Best rank among ``agent``'s seats, None if it did not play this game."""
        r = [rk for a, rk in zip(self.seat_agents, self.seat_ranks, strict=True) if a == agent]
        return min(r) if r else None

    def fractional_rank(self, agent: int) -> float:
        """Mean over ``agent``'s seats of the seat's rank, ties sharing the mean of the
        places they span (a 2-way tie for 1st: 1.5)."""
        out = []
        for a, rk in zip(self.seat_agents, self.seat_ranks, strict=True):
            if a == agent:
                out.append(rk + (self.seat_ranks.count(rk) - 1) / 2)
        return sum(out) / len(out)

    def score(self, agent: int) -> float:
        """Share of the rank-1 seats held by ``agent``: 1 win, 1/k for a k-way tie, 0 loss."""
        top = [a for a, rk in zip(self.seat_agents, self.seat_ranks, strict=True) if rk == 1]
        return top.count(agent) / len(top)


@dataclass
class MatchResult:
    """Games of one match and their summary from agent 0's point of view."""

    names: list[str]
    board: str
    players: int
    games: list[GameResult] = field(default_factory=list)

    @property
    def wins(self) -> float:
        """Agent 0's total score (ties at rank 1 count a share)."""
        return sum(g.score(0) for g in self.games)

    @property
    def win_rate(self) -> float:
        return self.wins / max(len(self.games), 1)

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson 95% interval of agent 0's win rate."""
        return wilson_interval(self.wins, len(self.games))

    @property
    def mean_rank(self) -> float:
        """Agent 0's mean fractional rank (ties share the mean of their places; 1 = best)."""
        return float(np.mean([g.fractional_rank(0) for g in self.games])) if self.games \
            else float("nan")

    def chance(self) -> dict:
        """Agent 0's win rate and mean rank if every agent were equal: the share of the seats
        it holds (1/P in the two-agent format of `play_match`) and (P+1)/2."""
        held = [g.seat_agents.count(0) / self.players for g in self.games]
        return {"win_rate": float(np.mean(held)) if held else 1 / self.players,
                "mean_rank": (self.players + 1) / 2}

    def seat_stats(self) -> list[dict]:
        """Per seat: games agent 0 sat there and the win rate of that seat for agent 0."""
        out = []
        for seat in range(self.players):
            mine = [g for g in self.games if g.seat_agents[seat] == 0]
            score = sum(1.0 / sum(r == 1 for r in g.seat_ranks)
                        for g in mine if g.seat_ranks[seat] == 1)
            out.append({"seat": seat + 1, "games": len(mine),
                        "win_rate": score / len(mine) if mine else float("nan")})
        return out

    def summary(self) -> dict:
        lo, hi = self.interval
        return {"agents": self.names, "board": self.board, "players": self.players,
                "games": len(self.games), "win_rate": self.win_rate, "interval": [lo, hi],
                "capped": sum(g.capped for g in self.games), "seats": self.seat_stats(),
                "mean_rank": self.mean_rank, "chance": self.chance()}


def play_match(agents: Sequence[Agent], board: str, players: int, games: int, seed: int = 0,
               *, concurrency: int = 16, max_moves: int = 100_000, swap_rule: bool = False,
               on_game_end: Callable[[GameResult], None] | None = None,
               keep_moves: bool = False) -> MatchResult:
    """Play ``games`` games between ``agents`` with seats rotated.

    Two agents: game ``g`` seats agent 0 (the subject) at seat ``g % P`` and agent 1 at
    every other seat, so the subject plays each seat equally often when ``games`` is a
    multiple of P (two players: they alternate who starts; 3-4 players: one subject
    against P-1 copies of the opponent). More agents: game ``g`` seats agent
    ``(s + g) % A`` at seat ``s``.
    ``concurrency`` games run at once; each step gives every agent one ``act`` call with all
    the games where it must choose, so a search agent batches its network calls. Decisions
    with a single legal move are applied without asking the agent.

    Args:
        agents: A >= 2 agents; agent 0 is the one whose win rate the summary reports.
        board, players, swap_rule: the variant.
        games: number of games.
        seed: seeds the one generator handed to every agent.
        concurrency: games in flight at once.
        max_moves: move cap per game; a capped game is a draw.
        on_game_end: called with each finished game (e.g. a progress bar).
        keep_moves: record each game's move texts (`GameResult.move_texts`).

    Raises:
        ValueError: fewer than two agents, or a non-positive count.
    """
    if len(agents) < 2:
        raise ValueError(f"a match needs at least two agents, got {len(agents)}")
    if games < 1 or concurrency < 1 or max_moves < 1:
        raise ValueError("games, concurrency and max_moves must be positive")
    rng = np.random.default_rng(seed)
    result = MatchResult([a.name for a in agents], board, players)
    seats = [_seating(len(agents), players, g) for g in range(games)]
    states: dict[int, GameState] = {}
    moves: dict[int, int] = {}
    texts: dict[int, list[str]] | None = {} if keep_moves else None
    next_game = 0
    while states or next_game < games:
        while len(states) < concurrency and next_game < games:
            states[next_game] = new_game(board, players, swap_rule=swap_rule)
            moves[next_game] = 0
            if texts is not None:
                texts[next_game] = []
            next_game += 1
        _match_step(agents, states, seats, rng, texts)
        for g in states:
            moves[g] += 1
        for g in [g for g, s in states.items() if not s.is_active or moves[g] >= max_moves]:
            game = _game_result(states.pop(g), seats[g], moves.pop(g),
                                tuple(texts.pop(g)) if texts is not None else ())
            result.games.append(game)
            if on_game_end is not None:
                on_game_end(game)
    return result


def _seating(num_agents: int, players: int, game: int) -> tuple[int, ...]:
    """Agent index at each seat of game ``game`` (`play_match`'s rotation)."""
    if num_agents == 2:
        return tuple(0 if s == game % players else 1 for s in range(players))
    return tuple((s + game) % num_agents for s in range(players))


def _match_step(agents: Sequence[Agent], states: dict[int, GameState],
                seats: list[tuple[int, ...]], rng: np.random.Generator,
                texts: dict[int, list[str]] | None = None) -> None:
    """One move in every game: forced decisions directly, the others by one ``act`` call
    per agent with all the games where it must choose; ``texts`` (when given) gets each
    game's move text."""
    waiting: dict[int, list[int]] = {}
    for g, s in states.items():
        forced = forced_record(s)
        if forced is None:
            waiting.setdefault(seats[g][s.current_player - 1], []).append(g)
        else:
            _apply(s, forced, texts, g)
    for a, group in waiting.items():
        chosen = agents[a].act([states[g] for g in group], rng)
        for g, rec in zip(group, chosen, strict=True):
            _apply(states[g], rec, texts, g)


def _apply(state: GameState, rec: np.ndarray, texts: dict[int, list[str]] | None,
           g: int) -> None:
    if texts is not None:
        texts[g].append(move_to_text(record_to_move(state, rec)))
    apply_record_inplace(state, rec)


def _game_result(state: GameState, seats: tuple[int, ...], moves: int,
                 texts: tuple[str, ...] = ()) -> GameResult:
    """A finished game's result; a game still live (move cap) is a draw, all ranked 1."""
    players = state.num_players
    capped = state.is_active
    rk = (1,) * players if capped else tuple(final_ranks(state)[p] for p in range(1, players + 1))
    return GameResult(seats, rk, moves, capped, texts)


# ---- pairwise results ----------------------------------------------------------------------


def pairwise_outcomes(matches: Iterable[MatchResult]) -> list[tuple[str, str, float]]:
    """Every game decomposed into pairwise results ``(name_i, name_j, score_i)``: for each
    pair of seats held by different agents, the better rank scores 1, equal ranks 0.5."""
    out = []
    for m in matches:
        for g in m.games:
            for s in range(len(g.seat_agents)):
                for t in range(s + 1, len(g.seat_agents)):
                    a, b = g.seat_agents[s], g.seat_agents[t]
                    if m.names[a] == m.names[b]:
                        continue
                    rs, rt = g.seat_ranks[s], g.seat_ranks[t]
                    out.append((m.names[a], m.names[b], 0.5 if rs == rt else float(rs < rt)))
    return out
