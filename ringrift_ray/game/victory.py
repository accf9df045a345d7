"""Victory checks, turn rotation and final ranks (RR-CANON-R170..R178, R201).

The reference engine checks victory after every applied move, in this order:
ring elimination (R170), territory (R171), early last-player-standing (one player controls
all stacks and every other player has no ring left anywhere), structural stalemate (R173:
no stacks and nobody can place). Round-based last-player-standing is decided at turn start
(``lps.py``). A finished game has ``currentPlayer == winner`` and phase ``game_over``.
"""

import numpy as np

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    GAME_OVER,
    M_ACTIVE,
    M_CHAIN,
    M_CURRENT,
    M_ELIM,
    M_ELIM_TURN,
    M_HAND,
    M_LAST_ACTOR,
    M_MUST_MOVE,
    M_NUM_PLAYERS,
    M_PENDING_LINE_ELIM,
    M_PENDING_TERR_ELIM,
    M_PHASE,
    M_PLAYER_TURN,
    M_TERR,
    M_TERRITORY_MIN,
    M_TURN_ACTED,
    M_TURN_RECOVERY,
    M_TURNS_COMPLETED,
    M_VICTORY_REASON,
    M_VICTORY_THRESHOLD,
    M_WINNER,
    RING_PLACEMENT,
    VICTORY_LAST_PLAYER_STANDING,
    VICTORY_RING_ELIMINATION,
    VICTORY_STRUCTURAL,
    VICTORY_TERRITORY,
)
from ringrift_ray.game.lps import lps_turn_start
from ringrift_ray.game.stacks import has_material


@njit
def _set_current(meta, player):
    if meta[M_CURRENT] != player:
        meta[M_PLAYER_TURN] += 1
    meta[M_CURRENT] = player


@njit
def finish(meta, winner, reason):
    """End the game: winner to move in ``game_over``."""
    meta[M_ACTIVE] = 0
    meta[M_WINNER] = winner
    meta[M_VICTORY_REASON] = reason
    meta[M_PHASE] = GAME_OVER
    if winner:
        _set_current(meta, winner)


@njit
def _bare_board_placement(step, height, marker, collapsed):
    """A single ring could be placed somewhere on a board without stacks (lenient test)."""
    for c in range(height.shape[0]):
        if collapsed[c] != 0 or marker[c] != 0:
            continue
        for d in range(step.shape[1]):
            nb = step[c, d]
            if nb >= 0 and collapsed[nb] == 0:
                return True
    return False


@njit
def _stalemate_key(meta, marker, p):
    markers = 0
    for c in range(marker.shape[0]):
        if marker[c] == p:
            markers += 1
    last = 1 if meta[M_LAST_ACTOR] == p else 0
    return (meta[M_TERR + p], meta[M_ELIM + p] + meta[M_HAND + p], markers, last)


@njit
def check_victory(step, rings, height, marker, collapsed, meta):
    """Run the per-move victory checks; finishes the game and returns True on a win."""
    np_ = meta[M_NUM_PLAYERS]
    for p in range(1, np_ + 1):
        if meta[M_ELIM + p] >= meta[M_VICTORY_THRESHOLD]:
            finish(meta, p, VICTORY_RING_ELIMINATION)
            return True
    total = 0
    for p in range(1, np_ + 1):
        total += meta[M_TERR + p]
    for p in range(1, np_ + 1):
        t = meta[M_TERR + p]
        if t >= meta[M_TERRITORY_MIN] and t > total - t:
            finish(meta, p, VICTORY_TERRITORY)
            return True
    owners = 0
    owner = 0
    any_stack = False
    for c in range(height.shape[0]):
        if height[c] > 0:
            any_stack = True
            top = rings[c, height[c] - 1]
            if not owners & (1 << top):
                owners |= 1 << top
                owner = top
    if any_stack and owners == (1 << owner):
        alone = True
        for p in range(1, np_ + 1):
            if p != owner and has_material(rings, height, meta, p):
                alone = False
        if alone:
            finish(meta, owner, VICTORY_LAST_PLAYER_STANDING)
            return True
    if not any_stack:
        hand = False
        for p in range(1, np_ + 1):
            if meta[M_HAND + p] > 0:
                hand = True
        if not hand or not _bare_board_placement(step, height, marker, collapsed):
            best = 1
            for p in range(2, np_ + 1):
                if _stalemate_key(meta, marker, p) > _stalemate_key(meta, marker, best):
                    best = p
            finish(meta, best, VICTORY_STRUCTURAL)
            return True
    return False


@njit
def mark_permanent_eliminations(rings, height, meta):
    """Record the (player-change) turn at which each player first has no ring anywhere."""
    for p in range(1, meta[M_NUM_PLAYERS] + 1):
        if meta[M_ELIM_TURN + p] == 0 and not has_material(rings, height, meta, p):
            meta[M_ELIM_TURN + p] = meta[M_PLAYER_TURN]


@njit
def end_turn(step, rings, height, marker, collapsed, meta, scratch):
    """Close the current player's turn and start the next one: rotation to the next seat
    with material (R201), ring_placement, last-player-standing bookkeeping at turn start."""
    player = meta[M_CURRENT]
    meta[M_TURNS_COMPLETED] += 1
    if meta[M_TURN_ACTED]:
        meta[M_LAST_ACTOR] = player
    meta[M_MUST_MOVE] = -1
    meta[M_CHAIN] = -1
    meta[M_PENDING_LINE_ELIM] = 0
    meta[M_PENDING_TERR_ELIM] = 0
    meta[M_TURN_ACTED] = 0
    meta[M_TURN_RECOVERY] = 0
    meta[M_PHASE] = RING_PLACEMENT
    np_ = meta[M_NUM_PLAYERS]
    nxt = player
    for _ in range(np_):
        nxt = nxt % np_ + 1
        if has_material(rings, height, meta, nxt):
            _set_current(meta, nxt)
            lps_turn_start(step, rings, height, marker, collapsed, meta, nxt, scratch)
            return


def final_ranks(meta: np.ndarray, marker: np.ndarray) -> np.ndarray:
    """Ranks `[P + 1]` (index 0 unused): winner 1, the others by territory, eliminated rings
    (plus rings in hand after a structural stalemate), own markers, later permanent
    elimination (never eliminated is best); ties share a rank (R177, R178)."""
    np_ = int(meta[M_NUM_PLAYERS])
    winner = int(meta[M_WINNER])
    structural = int(meta[M_VICTORY_REASON]) == VICTORY_STRUCTURAL

    def key(p):
        elim = int(meta[M_ELIM + p]) + (int(meta[M_HAND + p]) if structural else 0)
        et = int(meta[M_ELIM_TURN + p])
        return (int(meta[M_TERR + p]), elim, int((marker == p).sum()), et == 0, et)

    ranks = np.zeros(np_ + 1, dtype=np.int64)
    others = sorted((p for p in range(1, np_ + 1) if p != winner), key=key, reverse=True)
    start = 2 if winner else 1
    if winner:
        ranks[winner] = 1
    for i, p in enumerate(others):
        same = i > 0 and key(p) == key(others[i - 1])
        ranks[p] = ranks[others[i - 1]] if same else start + i
    return ranks
