"""Moves for many positions at once: a checkpoint's network with batched Gumbel search.

Legend: ``B`` positions answered together (the requests of one batch), ``P`` players.

`load_model` reads a checkpoint (``CHECKPOINT[:SIMS]``: SIMS caps every search budget) into
a `ServedModel`; `choose_moves` searches ``B`` positions of that model's board and player
count together, every simulation step one network call on all their leaves (so concurrent
requests share network calls), and returns one `Choice` per position. Its steps are public
for a server that admits requests between steps (continuous batching): `start_choice` ->
`step_choices` (all searches in flight, one network call) ... -> `finish_choice`.

Each position draws its root Gumbel noise from its own seed (``numpy.random.default_rng(
seed)``; None: fresh entropy), so a seeded answer does not depend on which other requests
shared its batch; the network's batched arithmetic may still differ in the last bits
between batch sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ringrift_ray.config import SearchConfig
from ringrift_ray.game import GameState, Move, record_to_move
from ringrift_ray.inference import Inference
from ringrift_ray.net import load_checkpoint
from ringrift_ray.search.game_fns import cached_legal_actions, game_fns, network_evaluate
from ringrift_ray.search.gumbel import EvaluateFn, RootSearch, search_step, start_search


@dataclass(frozen=True)
class ServedModel:
    """A network ready to answer moves for one board and player count.

    Attributes:
        board, players: the variant it plays (requests route on these).
        checkpoint: the checkpoint's file name (``nn_checkpoint`` of the answers).
        max_simulations: the cap on every search budget (``CHECKPOINT:SIMS``), None: none.
        evaluate: the network as a search `EvaluateFn` (values in absolute seat order).
        device: where it runs (``cpu`` or ``cuda[:n]``).
    """

    board: str
    players: int
    checkpoint: str
    max_simulations: int | None
    evaluate: EvaluateFn
    device: str = "cpu"

    @property
    def model_id(self) -> str:
        """``<board>_<P>p``: the variant's name (``nn_model_id``)."""
        return f"{self.board}_{self.players}p"


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
    return ServedModel(net.spec.board, net.spec.players, Path(path).name, sims,
                       network_evaluate(infer), device)


@dataclass
class InFlight:
    """One position's search in flight (`start_choice` .. `finish_choice`).

    Attributes:
        state: the position; search: its `RootSearch`; seed: its root-noise seed.
        seeded: whether its root noise has been drawn from ``seed`` (after the root's
            expansion, its first step).
    """

    state: GameState
    search: RootSearch
    seed: int | None
    seeded: bool = False

    @property
    def done(self) -> bool:
        return self.search.done


def start_choice(model: ServedModel, state: GameState, budget: int, seed: int | None,
                 search: SearchConfig | None = None) -> InFlight:
    """An `InFlight` search of ``state`` at ``budget`` simulations (capped by the model).

    Raises:
        ValueError: a position of another variant, or a finished one.
    """
    if (state.board.name, state.num_players) != (model.board, model.players):
        raise ValueError(f"a {state.board.name} {state.num_players}p position for the "
                         f"{model.model_id} model")
    cap = model.max_simulations
    cfg = (search or SearchConfig()).model_copy(update={
        "num_simulations": max(1, min(int(budget), cap or int(budget)))})
    return InFlight(state, start_search(state, game_fns(model.players), cfg), seed)


def step_choices(model: ServedModel, flights: Sequence[InFlight]) -> None:
    """Advance every unfinished search one step with ONE network call on all their leaves
    (`search.search_step`): new roots are expanded and draw their noise from their own
    seed, the others run one simulation. Searches may join between steps (continuous
    batching: a server admits new requests at every step)."""
    live = [f for f in flights if not f.done]
    if not live:
        return
    search_step([f.search for f in live], game_fns(model.players), model.evaluate,
                np.random.default_rng(0))
    for f in live:
        if not f.seeded:  # the root was expanded in this step: its own noise
            s = f.search
            s.gumbel = s.cfg.gumbel_scale * np.random.default_rng(f.seed).gumbel(
                size=len(s.gumbel))
            f.seeded = True


def finish_choice(flight: InFlight) -> Choice:
    """The `Choice` of a finished search (``flight.done``)."""
    state, res = flight.state, flight.search.result()
    idx, recs = cached_legal_actions(state)
    rec = recs[int(np.flatnonzero(idx == res.action)[0])]
    return Choice(record_to_move(state, rec), float(res.root_value[state.current_player - 1]),
                  int(flight.search.sim))


def choose_moves(model: ServedModel, states: Sequence[GameState], budgets: Sequence[int],
                 seeds: Sequence[int | None], search: SearchConfig | None = None
                 ) -> list[Choice]:
    """Search ``B`` live positions of ``model``'s variant together, to the end.

    Args:
        model: the network.
        states: `[B]` positions, each live with the player to move asking.
        budgets: `[B]` simulations per position (capped by ``model.max_simulations``).
        seeds: `[B]` root-noise seeds (None: fresh entropy).
        search: the other search parameters (default `SearchConfig` defaults).

    Returns:
        `[B]` choices, in order.

    Raises:
        ValueError: a position of another variant or a finished one.
    """
    flights = [start_choice(model, s, b, seed, search)
               for s, b, seed in zip(states, budgets, seeds, strict=True)]
    while not all(f.done for f in flights):
        step_choices(model, flights)
    return [finish_choice(f) for f in flights]
