"""Random-playout invariants on every board and player count (pgx ``api_test.py`` style).

Along uniformly random games: the progress measure S = markers + collapsed spaces +
eliminated rings (RR-CANON-R191) never decreases and moves exactly as the rules promise
per move type; every colour's rings are conserved; games end; final ranks are a standard
competition ranking with the winner first (RR-CANON-R175..R178).
"""

import numpy as np
import pytest

from ringrift_ray.game import (
    apply_record_inplace,
    is_terminal,
    legal_move_records,
    new_game,
    ranks,
    record_to_move,
)
from ringrift_ray.game import constants as K

# board -> random games per player count (big boards: one game each)
GAMES = {"square8": 8, "hex8": 8, "square19": 1, "hexagonal": 1}
MOVE_CAP = 5000  # the longest random hexagonal 4p game seen is ~1,400 moves

# Move types that leave S unchanged: bookkeeping, skips, the pie rule, placement (no
# marker, collapse or elimination), and line decisions (markers collapse one for one;
# the ring cost of a line is a separate eliminate_rings_from_stack move).
S_UNCHANGED = {
    "place_ring", "skip_placement", "no_placement_action", "skip_capture",
    "no_movement_action", "process_line", "choose_line_option", "no_line_action",
    "skip_territory_processing", "no_territory_action", "skip_recovery", "swap_sides",
}
# Move types that raise S: a movement leaves a departure marker, an elimination removes
# at least one ring, a recovery slide pays a buried ring (or a struck ring).
S_INCREASES = {
    "move_stack", "overtaking_capture", "continue_capture_segment",
    "eliminate_rings_from_stack", "forced_elimination", "recovery_slide",
}


def progress(state) -> int:
    """S = markers + collapsed + rings credited as eliminated (sum over players)."""
    p = state.num_players
    credited = int(state.meta[K.M_ELIM + 1 : K.M_ELIM + 1 + p].sum())
    return int(np.count_nonzero(state.marker) + np.count_nonzero(state.collapsed) + credited)


def territory_gain(state, move) -> int:
    """S gained by collapsing a region: its non-marker cells plus the rings inside it."""
    b = state.board
    cells = [b.cell(",".join(map(str, pos))) for pos in move.region]
    return sum(int(state.marker[c] == 0) + int(state.height[c]) for c in cells)


def check_rings_conserved(state, where: str) -> None:
    rpp = state.board.rings_per_player
    for colour in range(1, state.num_players + 1):
        on_board = int(np.count_nonzero(
            (state.rings == colour) & (np.arange(state.rings.shape[1]) < state.height[:, None])))
        total = (int(state.meta[K.M_HAND + colour]) + on_board
                 + int(state.meta[K.M_BOARD_ELIM + colour]))
        assert total == rpp, f"{where}: colour {colour} has {total} rings, expected {rpp}"


def check_ranks(state, where: str) -> None:
    r = ranks(state)
    num_players = state.num_players
    assert sorted(r) == list(range(1, num_players + 1)), where
    if state.winner is not None:
        assert r[state.winner] == 1, f"{where}: winner {state.winner} has rank {r}"
    assert min(r.values()) == 1, where
    for p, rank in r.items():
        # standard competition ranking: rank = 1 + number of players strictly ahead
        assert rank == 1 + sum(q < rank for q in r.values()), f"{where}: ranks {r} (p{p})"


def play(board_type: str, num_players: int, seed: int) -> int:
    """One random game with every invariant checked after every move; returns its length."""
    rng = np.random.default_rng(seed)
    state = new_game(board_type, num_players)
    for n in range(MOVE_CAP):
        if is_terminal(state):
            check_ranks(state, f"{board_type} {num_players}p seed {seed}")
            return n
        records = legal_move_records(state)
        assert len(records), f"active state without legal moves at move {n}"
        rec = records[rng.integers(len(records))]
        move = record_to_move(state, rec)
        where = f"{board_type} {num_players}p seed {seed} move {n} ({move})"
        gain = territory_gain(state, move) if move.type == "choose_territory_option" else None
        before = progress(state)
        apply_record_inplace(state, rec)
        delta = progress(state) - before
        if move.type in S_UNCHANGED:
            assert delta == 0, f"{where}: S changed by {delta}"
        elif move.type in S_INCREASES:
            assert delta >= 1, f"{where}: S changed by {delta}"
        else:
            assert move.type == "choose_territory_option", where
            assert delta == gain, f"{where}: S changed by {delta}, expected {gain}"
        check_rings_conserved(state, where)
    raise AssertionError(f"{board_type} {num_players}p seed {seed}: no end in {MOVE_CAP} moves")


@pytest.mark.parametrize("num_players", [2, 3, 4])
@pytest.mark.parametrize("board_type", sorted(GAMES))
def test_random_playouts_keep_invariants(board_type, num_players):
    for seed in range(GAMES[board_type]):
        assert play(board_type, num_players, seed) > 0
