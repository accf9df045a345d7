"""Moves for many positions at once: a checkpoint's network with the compiled batched Gumbel
search (`search.batched`).

Legend: ``B`` trees of a forest (searches of one budget tier in flight at once), ``P``
players, ``A`` actions, ``n`` leaves of a step.

`load_model` reads a checkpoint (``CHECKPOINT[:SIMS]``: SIMS caps every search budget) into
a `ServedModel`. A `Searcher` holds the searches of one model in flight: one
`search.batched.Forest` of ``B`` trees per budget tier in use (`TIERS`: a 16-simulation
search does not spread over a tree sized for 1000). Positions join it (`admit`) and leave it
(`take`, `drop`) between steps, and every `step` advances all searches in flight, per tier
with one compiled selection, ONE network call on all its leaves and one compiled expansion
and backup, so concurrent requests share every network call and every rules call
(continuous batching: a server admits new requests at every step). `choose_moves` searches
positions together to the end.

Each position draws its root Gumbel noise from its own seed (``numpy.random.default_rng(
seed).gumbel``, scaled by ``gumbel_scale``; None: fresh entropy) after its root's expansion,
so a seeded answer does not depend on which other requests shared its steps, nor on when it
joined; the network's batched arithmetic may still differ in the last bits between batch
sizes. The compiled search gives the answers of `search.gumbel`'s Python tree bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ringrift_ray.config import SearchConfig
from ringrift_ray.game import GameState, Move, record_to_move
from ringrift_ray.inference import Inference
from ringrift_ray.net import load_checkpoint
from ringrift_ray.search import (
    CompiledGame,
    Forest,
    LeafEvaluateFn,
    begin_forest_step,
    compiled_game,
    end_forest_step,
    leaf_evaluate,
    network_evaluate,
    new_forest,
    start_root,
    tree_result,
)
from ringrift_ray.search.batched_kernels import DONE, IDLE, NEW, SEARCHING

MAX_SIMULATIONS = 1000  # the largest budget a request may ask (api: simulation_budget)


@dataclass(frozen=True)
class ServedModel:
    """A network ready to answer moves for one board and player count.

    Attributes:
        board, players: the variant it plays (requests route on these).
        checkpoint: the checkpoint's file name (``nn_checkpoint`` of the answers).
        max_simulations: the cap on every search budget (``CHECKPOINT:SIMS``), None: none.
        game: the rules as the compiled search sees them (`search.compiled_game`).
        evaluate: the network on a forest's state rows (`search.LeafEvaluateFn`: logits
            ``[n, A]``, values ``[n, P]`` in absolute seat order).
        device: where it runs (``cpu`` or ``cuda[:n]``).
    """

    board: str
    players: int
    checkpoint: str
    max_simulations: int | None
    game: CompiledGame
    evaluate: LeafEvaluateFn
    device: str = "cpu"

    @property
    def model_id(self) -> str:
        """``<board>_<P>p``: the variant's name (``nn_model_id``)."""
        return f"{self.board}_{self.players}p"

    def budget(self, requested: int) -> int:
        """Simulations of a search asked for ``requested``: capped by the model and
        `MAX_SIMULATIONS`, at least 1."""
        return max(1, min(int(requested), self.max_simulations or MAX_SIMULATIONS,
                          MAX_SIMULATIONS))


@dataclass(frozen=True)
class Choice:
    """The answer for one position: the move, its search value for the mover (in [-1, 1])
    and the simulations run (0 for a position with a single legal move)."""

    move: Move
    evaluation: float
    simulations: int


def parse_model_spec(spec: str) -> tuple[str, int | None]:
    """``CHECKPOINT[:SIMS]`` -> ``(path, SIMS or None)``; a path that exists as written is
    taken whole (it may contain a colon).

    Raises:
        ValueError: SIMS below 1.
    """
    head, sep, tail = spec.rpartition(":")
    if not sep or not tail.isdecimal() or Path(spec).exists():
        return spec, None
    if int(tail) < 1:
        raise ValueError(f"{spec}: the simulation count must be at least 1")
    return head, int(tail)


def load_model(spec: str, device: str | None = None, backend: str = "auto",
               threads: int = 1) -> ServedModel:
    """The `ServedModel` of ``CHECKPOINT[:SIMS]``.

    Args:
        spec: checkpoint path or URI, optionally ``:SIMS`` (the budget cap).
        device: torch device; None: cuda when available, else cpu.
        backend: inference backend (`ringrift_ray.inference`; ``auto``: ONNX Runtime on
            the CPU, torch on CUDA).
        threads: intra-op threads of the network on the CPU.

    Raises:
        FileNotFoundError: no such checkpoint.
        ValueError: an unreadable checkpoint or a bad SIMS.
    """
    path, sims = parse_model_spec(spec)
    net, _ = load_checkpoint(path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    infer = Inference(net, backend, device, threads)
    board, players = net.spec.board, net.spec.players
    return ServedModel(board, players, Path(path).name, sims, compiled_game(board, players),
                       leaf_evaluate(network_evaluate(infer)), device)


TIERS = (16, 128, MAX_SIMULATIONS)
"""Budget tiers of a `Searcher`: a search runs in the forest of the smallest tier that holds
its budget (trees of ``tier + 1`` positions), so a 16-simulation search does not spread its
positions over a tree sized for 1000 (locality, and memory a server can warm up)."""

Slot = tuple[int, int]  # (tier, tree): where a search runs in a `Searcher`


@dataclass
class Group:
    """One forest of a `Searcher`: the searches of one budget tier.

    Attributes:
        forest: the trees (tree ``b`` of the tier).
        states: `[B]` the root position of each busy tree (None: free).
        seeds: `[B]` each busy tree's root-noise seed.
        free: the free trees (the lowest is taken first).
    """

    forest: Forest
    states: list[GameState | None]
    seeds: list[int | None]
    free: list[int]


@dataclass
class Searcher:
    """Searches of one model in flight together: one `Group` (forest) per budget tier in
    use, each of ``slots`` trees, with positions joining and leaving between steps.

    Attributes:
        model: the network and rules; cfg: the search parameters of every tree.
        slots: trees per tier; groups: the tiers' forests, created when first used.
    """

    model: ServedModel
    cfg: SearchConfig
    slots: int
    groups: dict[int, Group] = field(default_factory=dict)

    @property
    def busy(self) -> int:
        """Searches in flight (finished ones not yet taken included)."""
        return sum(len(g.states) - len(g.free) for g in self.groups.values())


def new_searcher(model: ServedModel, slots: int, search: SearchConfig | None = None
                 ) -> Searcher:
    """A `Searcher` of ``slots`` trees per budget tier; ``search``: the other search
    parameters (default `SearchConfig` defaults). Memory is touched only as trees are
    used (`warm` touches the small tiers' at once)."""
    return Searcher(model, search or SearchConfig(), slots)


def tier_of(model: ServedModel, budget: int) -> int:
    """The tier (largest budget of its trees) that runs a search asked for ``budget``."""
    b = model.budget(budget)
    return min(t for t in {model.budget(t) for t in TIERS} if t >= b)


def _group(s: Searcher, tier: int) -> Group:
    if tier not in s.groups:
        g = s.model.game
        forest = new_forest(g, s.slots, tier, s.cfg, edge_capacity=g.edges_per_node * 16)
        s.groups[tier] = Group(forest, [None] * s.slots, [None] * s.slots,
                               list(range(s.slots - 1, -1, -1)))
    return s.groups[tier]


def has_room(s: Searcher, budget: int) -> bool:
    """Whether a search asked for ``budget`` can be admitted now."""
    g = s.groups.get(tier_of(s.model, budget))
    return g is None or bool(g.free)


def admit(s: Searcher, state: GameState, budget: int, seed: int | None) -> Slot:
    """Start a search of ``state`` at ``budget`` simulations (`ServedModel.budget`); it is
    expanded at the next `step`. Returns its slot.

    Raises:
        ValueError: a position of another variant or a finished one, or no free tree in
            its tier (`has_room`).
    """
    m = s.model
    if (state.board.name, state.num_players) != (m.board, m.players):
        raise ValueError(f"a {state.board.name} {state.num_players}p position for the "
                         f"{m.model_id} model")
    return _start(s, tier_of(m, budget), state, m.budget(budget), seed)


def _start(s: Searcher, tier: int, state: GameState, budget: int, seed: int | None) -> Slot:
    g = _group(s, tier)
    if not g.free:
        raise ValueError(f"all {s.slots} search trees of the {tier}-simulation tier are busy")
    tree = g.free[-1]
    start_root(g.forest, tree, state, s.cfg, budget)
    g.free.pop()
    g.states[tree], g.seeds[tree] = state, seed
    return tier, tree


def step(s: Searcher) -> None:
    """Advance every unfinished search one step: per tier in use, one compiled selection,
    ONE network call on all its leaves (`search.begin_forest_step`; a tier's tree and rules
    work runs during the previous tier's network call) and one compiled expansion and
    backup (`end_forest_step`). New roots draw their noise from their own seed; the other
    searches run one simulation.

    Raises:
        Any error of a network call (the searches in flight are then unusable: `drop`
        them).
    """
    live = [g for g in s.groups.values()
            if ((g.forest.status == NEW) | (g.forest.status == SEARCHING)).any()]
    fresh = [np.flatnonzero(g.forest.status == NEW) for g in live]
    steps = [begin_forest_step(g.forest, s.model.evaluate) for g in live]
    for g, new, st in zip(live, fresh, steps, strict=True):
        end_forest_step(st, np.random.default_rng(0))
        f = g.forest
        for b in new:  # expanded in this step: the root's own noise
            c = int(f.edge_count[b, 0])
            f.gumbel[b, :c] = f.gumbel_scale[b] * np.random.default_rng(g.seeds[b]).gumbel(
                size=c)


def finished(s: Searcher) -> list[Slot]:
    """The busy slots whose search is done (`take` them)."""
    return [(tier, int(b)) for tier, g in s.groups.items()
            for b in np.flatnonzero(g.forest.status == DONE) if g.states[b] is not None]


def take(s: Searcher, slot: Slot) -> Choice:
    """The `Choice` of a finished search (``slot`` in `finished`); frees the slot."""
    g = s.groups[slot[0]]
    f, tree, state = g.forest, slot[1], g.states[slot[1]]
    res = tree_result(f, tree)
    start, count = int(f.edge_start[tree, 0]), int(f.edge_count[tree, 0])
    edge = start + int(np.flatnonzero(f.edge_action[tree, start:start + count] == res.action)[0])
    choice = Choice(record_to_move(state, f.edge_payload[tree, edge]),
                    float(res.root_value[state.current_player - 1]), int(f.sim[tree]))
    drop(s, slot)
    return choice


def drop(s: Searcher, slot: Slot) -> None:
    """Stop the search in ``slot`` (if any) and free the slot."""
    g, tree = s.groups[slot[0]], slot[1]
    if g.states[tree] is None:
        return
    g.forest.status[tree] = IDLE
    g.states[tree] = g.seeds[tree] = None
    g.free.append(tree)
    g.free.sort(reverse=True)


def warm(s: Searcher, state: GameState, max_tier: int = TIERS[0]) -> None:
    """Run a 1-simulation search of ``state`` in every tree of each tier up to
    ``max_tier``, so the kernels are compiled and those forests' memory is touched before
    the first requests rather than during them (a first touch costs page faults, ~15 ms a
    tree on this VM). Larger tiers are left to be touched as they are used."""
    for tier in sorted({s.model.budget(t) for t in TIERS}):
        if tier > max_tier:
            break
        slots = [_start(s, tier, state, 1, 0) for _ in range(s.slots)]
        while len(finished(s)) < len(slots):
            step(s)
        for slot in slots:
            drop(s, slot)


def choose_moves(model: ServedModel, states: Sequence[GameState], budgets: Sequence[int],
                 seeds: Sequence[int | None], search: SearchConfig | None = None
                 ) -> list[Choice]:
    """Search ``B`` live positions of ``model``'s variant together, to the end.

    Args:
        model: the network.
        states: `[B]` positions, each live with the player to move asking.
        budgets: `[B]` simulations per position (`ServedModel.budget`).
        seeds: `[B]` root-noise seeds (None: fresh entropy).
        search: the other search parameters (default `SearchConfig` defaults).

    Returns:
        `[B]` choices, in order.

    Raises:
        ValueError: a position of another variant or a finished one.
    """
    s = new_searcher(model, max(1, len(states)), search)
    slots = [admit(s, state, b, seed)
             for state, b, seed in zip(states, budgets, seeds, strict=True)]
    while len(finished(s)) < len(slots):
        step(s)
    return [take(s, slot) for slot in slots]
