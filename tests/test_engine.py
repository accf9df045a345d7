"""The public rules API (``game/engine.py``): legal moves, illegal-move errors, ``apply_move``."""

import itertools

import numpy as np
import pytest
from boards import CAPTURE, finish_turn, no_hands, position

from ringrift_ray.game import (
    IllegalMoveError,
    Move,
    apply_move,
    legal_move_records,
    legal_moves,
    new_game,
    ply,
    record_to_move,
)
from ringrift_ray.game.records import memoized_row


@pytest.mark.parametrize("move, reason", [
    ("move_stack p1 from=0,0 to=1,0", "no legal move_stack matches"),
    ("move_stack p2 from=7,0 to=6,0", "it is player 1's turn"),
    ("place_ring p1 to=5,5 n=1", "place_ring is not legal in phase movement"),
])
def test_illegal_move_error_names_the_move_and_the_reason(move, reason):
    s = position("11 . . . . . . 2", hand=no_hands())
    with pytest.raises(IllegalMoveError, match=f"'{move}'.*{reason}"):
        apply_move(s, move)


def test_apply_move_leaves_the_input_state_untouched():
    s = position(CAPTURE, hand=no_hands())
    before = s.copy()
    after = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,4")
    for name in ("rings", "height", "marker", "collapsed", "order", "meta"):
        assert np.array_equal(getattr(s, name), getattr(before, name)), name
    assert not np.array_equal(after.height, s.height)


def _playout(board_type: str, seed: int, moves: int):
    """States of a uniform-random game (up to ``moves`` moves), via the validated Move API."""
    rng = np.random.default_rng(seed)
    states = [new_game(board_type, 2)]
    while states[-1].is_active and len(states) <= moves:
        legal = legal_moves(states[-1])
        states.append(apply_move(states[-1], legal[rng.integers(len(legal))]))
    return states


@pytest.mark.parametrize("board_type", ["square8", "hex8"])
def test_legal_moves_are_the_records_converted_one_by_one(board_type, monkeypatch):
    # a small memo fills and starts over
    monkeypatch.setattr("ringrift_ray.game.records._MEMO_LIMIT", 64)
    states = [s for seed in range(6) for s in _playout(board_type, seed, moves=1000)]
    for s in states:  # six whole games: every move type but swap_sides on the two boards
        converted = [record_to_move(s, r) for r in legal_move_records(s)]
        assert legal_moves(s) == converted
        assert legal_moves(s) == converted  # a second call reads the memo


def test_equal_records_on_different_boards_are_different_moves():
    square, hexagon = new_game("square8", 2), new_game("hex8", 2)
    for _ in range(2):  # interleaved, so each board's memo is read after the other's
        assert legal_moves(square)[0] == Move("place_ring", 1, to=(0, 0), n=1)
        assert len(legal_moves(hexagon)[0].to) == 3


def test_a_move_of_one_position_is_validated_again_in_the_next():
    for before, after in itertools.pairwise(_playout("square8", seed=5, moves=150)):
        legal_after = legal_moves(after)
        for move in legal_moves(before):
            if move in legal_after:
                apply_move(after, move)
            else:
                with pytest.raises(IllegalMoveError):
                    apply_move(after, move)


def test_a_move_legal_earlier_is_refused_once_the_cell_holds_a_stack():
    start = new_game("square8", 2)
    three_rings = next(m for m in legal_moves(start) if m.to == (0, 3) and m.n == 3)
    s = start
    for player, frm, to in ((1, "0,0", "0,3"), (2, "7,7", "7,4")):
        s = apply_move(s, f"place_ring p{player} to={frm} n=3")
        s = finish_turn(apply_move(s, f"move_stack p{player} from={frm} to={to}"))
    assert s.current_player == 1 and s.phase == "ring_placement"
    with pytest.raises(IllegalMoveError, match="'place_ring p1 to=0,3 n=3'.*no legal place_ring"):
        apply_move(s, three_rings)


def test_ply_counts_every_applied_move():
    states = _playout("square8", seed=7, moves=60)
    assert [ply(s) for s in states] == list(range(len(states)))


def test_a_memoized_move_is_found_only_at_a_whole_record():
    s = new_game("square8", 2)
    recs = legal_move_records(s)
    move = legal_moves(s)[5]
    straddling = np.concatenate([np.r_[recs[0, :8], recs[5, :3]], np.r_[recs[5, 3:], recs[1, 8:]]])
    rows = np.stack([straddling[:11], straddling[11:], recs[5]])  # recs[5] across rows 0-1, and 2
    assert memoized_row(s, rows, move) == 2
    assert memoized_row(s, rows[:2], move) is None
    assert memoized_row(s, recs, Move(**vars(move))) is None  # equal, not the memoized one
