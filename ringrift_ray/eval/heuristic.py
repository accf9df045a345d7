"""A hand-weighted RingRift evaluation: the baseline heuristic player's judgement.

Each player's value sums weighted features of the position (`HeuristicWeights`); a
position's score for a player is their value minus the best opponent's value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ringrift_ray.game import GameState, njit
from ringrift_ray.game import constants as K
from ringrift_ray.game import ranks as final_ranks
from ringrift_ray.search.game_fns import rank_values


@dataclass(frozen=True)
class HeuristicWeights:
    """Weights of the heuristic evaluation, per unit of each feature of one player.

    A player's value is the weighted sum below; the score of a position for player ``p`` is
    ``value(p) - max over opponents q of value(q)``. Finished games score +/-1000 times the
    rank value (1st +1, last -1). The weights make ring elimination the main plan (a credited
    ring is worth more than anything else), then territory, then board presence; a ring in
    hand is worth about as much as a fresh one-ring stack, so rings are not placed for
    nothing. Tuned by hand against `random_agent` on square8 / hex8 2p (200-300 games per
    setting): ~0.90-0.96 win rate.
    """

    eliminated: float = 4.0
    """per ring credited as eliminated, scaled by ``18 / victory threshold``"""
    territory: float = 2.0
    """per collapsed space owned, scaled by ``33 / territory minimum``"""
    marker: float = 0.5
    """per marker on the board"""
    stack: float = 1.0
    """per stack controlled (own colour on top)"""
    cap: float = 0.5
    """per ring in the caps of controlled stacks"""
    in_hand: float = 1.5
    """per ring in hand"""
    mobility: float = 0.1
    """per (controlled stack, direction) with a legal non-capture landing"""
    exposed: float = 0.75
    """per ring in the cap of a controlled stack that an opponent stack may capture (an
    opponent cap at least as high first on a clear straight line; landing not checked)"""


@njit
def _player_values(rings, height, marker, collapsed, meta, step, w):
    """Heuristic values `[P + 1]` (index 0 unused) of every player; ``w`` = weights `[8]`."""
    num_p = meta[K.M_NUM_PLAYERS]
    n, num_dirs = step.shape
    out = np.zeros(num_p + 1)
    elim_scale = 18.0 / max(meta[K.M_VICTORY_THRESHOLD], 1)
    terr_scale = 33.0 / max(meta[K.M_TERRITORY_MIN], 1)
    caps = np.zeros(n, dtype=np.int64)
    owner = np.zeros(n, dtype=np.int64)
    for c in range(n):
        h = height[c]
        if h > 0:
            top = rings[c, h - 1]
            k = 1
            while k < h and rings[c, h - 1 - k] == top:
                k += 1
            caps[c] = k
            owner[c] = top
    for p in range(1, num_p + 1):
        out[p] = (w[0] * elim_scale * meta[K.M_ELIM + p] + w[1] * terr_scale * meta[K.M_TERR + p]
                  + w[5] * meta[K.M_HAND + p])
    for c in range(n):
        if marker[c] > 0:
            out[marker[c]] += w[2]
        p = owner[c]
        if p == 0:
            continue
        out[p] += w[3] + w[4] * caps[c]
        for d in range(num_dirs):
            cur, dist = c, 0
            while True:
                cur = step[cur, d]
                dist += 1
                if cur < 0 or collapsed[cur] > 0:
                    break
                if height[cur] > 0:
                    # the first stack on this line: an opponent cap at least as high may
                    # capture this one (landing not checked)
                    if owner[cur] != p and caps[cur] >= caps[c]:
                        out[p] -= w[7] * caps[c]
                    break
                if dist >= height[c]:
                    out[p] += w[6]
                    break
    return out


def heuristic_values(state: GameState, weights: HeuristicWeights | None = None) -> np.ndarray:
    """Heuristic values `[P]` of every player (index ``player - 1``) of a live position."""
    w = weights or HeuristicWeights()
    vec = np.array([w.eliminated, w.territory, w.marker, w.stack, w.cap, w.in_hand,
                    w.mobility, w.exposed])
    b = state.board
    return _player_values(state.rings, state.height, state.marker, state.collapsed, state.meta,
                          b.step, vec)[1:]


def heuristic_score(state: GameState, player: int, weights: HeuristicWeights | None = None
                    ) -> float:
    """Score of ``state`` for ``player`` (1..P): own value minus the best opponent's, or
    +/-1000 times the rank value once the game is over (see `HeuristicWeights`)."""
    if not state.is_active:
        return 1000.0 * float(rank_values(final_ranks(state), state.num_players)[player - 1])
    v = heuristic_values(state, weights)
    own = v[player - 1]
    return float(own - np.delete(v, player - 1).max())
