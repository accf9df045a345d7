"""RingRift as the search sees it: `search.GameFns` over `GameState` and a network
`search.EvaluateFn`.

Actions are ``encoding.py`` indices. Values handed to the search are in absolute seat order
(index ``player - 1``); the network's seat-relative outputs are rotated accordingly.
Terminal values come from the final ranks: 1st = +1, last = -1, linear in between, ties
share the mean of their positions' values.
"""

from __future__ import annotations

import weakref

import numpy as np

from ringrift_ray.encoding import encode, legal_actions, values_to_players
from ringrift_ray.game import GameState, IllegalMoveError, apply_record, ranks
from ringrift_ray.game import ply as moves_applied
from ringrift_ray.search.gumbel import GameFns


def rank_values(rank_by_player: dict[int, int], num_players: int) -> np.ndarray:
    """Value targets `[P]` (index ``player - 1``) from final ranks: rank r of P gets
    ``1 - 2 (r - 1) / (P - 1)``, and tied players share the mean over the places they span
    (a tie for 2nd-3rd of 4 gives both the mean of the 2nd and 3rd values)."""
    place_value = np.array([1 - 2 * k / (num_players - 1) for k in range(num_players)])
    out = np.empty(num_players)
    for p, r in rank_by_player.items():
        tied = sum(1 for q in rank_by_player.values() if q == r)
        out[p - 1] = place_value[r - 1 : r - 1 + tied].mean()
    return out


def terminal_values(state: GameState) -> np.ndarray | None:
    """Exact values `[P]` of a finished game, None while it is active."""
    if state.is_active:
        return None
    return rank_values(ranks(state), state.num_players)


_LEGAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_legal_actions(state: GameState) -> tuple[np.ndarray, np.ndarray]:
    """`encoding.legal_actions` of ``state``, computed once per state object and position:
    ``(indices [M] int64, records [M, MOVE_WIDTH] int32)``. An entry is reused only while
    the state's move count (``game.ply``, raised by every applied move) is unchanged,
    so in-place application never reads a stale entry. Entries live as long as the state."""
    ply = moves_applied(state)
    got = _LEGAL.get(state)
    if got is None or got[0] != ply:
        got = (ply, *legal_actions(state))
        _LEGAL[state] = got
    return got[1], got[2]


def forced_record(state: GameState) -> np.ndarray | None:
    """The move record of a decision with exactly one legal move, else None.

    Such decisions (most bookkeeping moves: no line or territory action, forced
    elimination with one target, ...) are played without search or agent, everywhere:
    selfplay, the search agent and matches. The legal actions stay cached
    (`cached_legal_actions`), so searching a state that is not forced does not generate
    its root's moves again.
    """
    records = cached_legal_actions(state)[1]
    return records[0] if len(records) == 1 else None


def game_fns(num_players: int) -> GameFns:
    """`GameFns` for RingRift with ``num_players`` players (legal actions cached per
    state by `cached_legal_actions`).

    Raises (from ``apply``):
        IllegalMoveError: an action that is not legal in the state (a `ValueError`).
    """

    def apply(state: GameState, action: int) -> GameState:
        idx, recs = cached_legal_actions(state)
        hit = np.nonzero(idx == action)[0]
        if len(hit) == 0:
            raise IllegalMoveError(f"action {action!r} is not legal in {state}: "
                                   f"{len(idx)} legal actions")
        return apply_record(state, recs[hit[0]])

    return GameFns(
        num_players=num_players,
        legal_actions=lambda state: cached_legal_actions(state)[0],
        apply=apply,
        to_play=lambda s: s.current_player - 1,
        terminal_values=terminal_values,
    )


def network_evaluate(infer_fn):
    """Wrap ``infer_fn(obs [B, C, G, G]) -> (logits [B, A], values [B, P] seat-relative)``
    as a `search.EvaluateFn` returning values in absolute seat order; ``infer_fn`` stays
    reachable as its ``infer`` attribute (`search.game_kernels.leaf_evaluate` encodes the
    compiled search's leaves itself and calls it)."""

    def evaluate(states):
        logits, values = infer_fn(encode(list(states)))
        absolute = np.stack([values_to_players(s, v) for s, v in zip(states, values, strict=True)])
        return logits, absolute

    evaluate.infer = infer_fn  # the compiled search encodes its leaves itself
    return evaluate
