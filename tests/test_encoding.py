"""Encoding: observation planes and the action space (injective over every reference
trace state; index <-> move round trips; masks)."""

import numpy as np
import pytest
from reference import trace_games

from ringrift_ray.encoding import (
    NUM_PLANES,
    encode,
    index_to_move,
    legal_actions,
    legal_mask,
    move_to_index,
    num_actions,
    seat_of,
    values_to_players,
    values_to_seats,
)
from ringrift_ray.game import apply_move, legal_moves, new_game, state_from_reference

# trace -> games checked in the default run (None = all)
TRACES = {"square8_2p": None, "square8_3p": None, "square8_4p": None, "hex8_2p": None,
          "square19_2p": 2, "hexagonal_2p": 1}


def _check_injective(name, limit):
    for i, (_start, steps, _end) in enumerate(trace_games(name)):
        if limit is not None and i >= limit:
            break
        for d in steps:
            s = state_from_reference(d["state"], d["state_extras"])
            idx, _ = legal_actions(s)
            assert len(np.unique(idx)) == len(idx) == len(d["legal_moves"]), (d["game"], d["step"])
            assert idx.min() >= 0 and idx.max() < num_actions(s.board.name)


@pytest.mark.parametrize("name", sorted(TRACES))
def test_action_index_is_injective_on_every_trace_state(name):
    _check_injective(name, TRACES[name])


@pytest.mark.full
@pytest.mark.parametrize("name", ["square19_2p", "hexagonal_2p"])
def test_action_index_is_injective_on_every_trace_state_full(name):
    _check_injective(name, None)


def test_action_space_sizes():
    assert {b: num_actions(b) for b in ("square8", "square19", "hex8", "hexagonal")} == {
        "square8": 5962, "square19": 65351, "hex8": 6328, "hexagonal": 108760}


@pytest.mark.parametrize("board_type", ["square8", "hex8"])
def test_index_move_round_trip_and_mask(board_type):
    rng = np.random.default_rng(0)
    s = new_game(board_type, 3)
    for _ in range(150):
        moves = legal_moves(s)
        mask = legal_mask(s)
        assert mask.sum() == len(moves)
        for m in moves[:40]:
            i = move_to_index(s, m)
            assert mask[i] and index_to_move(s, i) == m
        s = apply_move(s, moves[rng.integers(len(moves))])
        if not s.is_active:
            break
    with pytest.raises(ValueError, match="not a legal move"):
        index_to_move(new_game(board_type, 2), num_actions(board_type) - 1)


def test_planes_are_seat_relative():
    s = apply_move(new_game("square8", 3), "place_ring p1 to=2,3 n=2")
    obs = encode([s])
    assert obs.shape == (1, NUM_PLANES, 8, 8) and obs.dtype == np.float32
    assert obs[0, 1, 3, 2] == 1.0  # seat 0 (player 1, to move) controls the stack at (2,3)
    assert obs[0, 5, 3, 2] == pytest.approx(2 / 8)
    assert obs[0, 19, 3, 2] == 1.0  # it must move
    assert obs[0, 23].min() == 1.0  # phase movement
    s2 = apply_move(apply_move(s, "move_stack p1 from=2,3 to=2,5"), "no_line_action p1")
    s2 = apply_move(s2, "no_territory_action p1")
    assert s2.current_player == 2
    obs2 = encode([s2])
    assert obs2[0, 1 + 2, 5, 2] == 1.0  # player 1 is seat 2 for player 2 (3 players)
    assert obs2[0, 11 + 2, 3, 2] == 1.0  # its departure marker
    assert seat_of(s2, 1) == 2


def test_hex_grid_embedding_marks_valid_cells():
    obs = encode([new_game("hex8", 2)])
    assert obs.shape == (1, NUM_PLANES, 9, 9)
    assert obs[0, 0].sum() == 61


def test_value_seat_conversion_round_trip():
    s = apply_move(new_game("square8", 4), "place_ring p1 to=0,0 n=1")
    s = apply_move(s, "move_stack p1 from=0,0 to=0,1")
    v = np.array([0.1, 0.2, 0.3, 0.4])
    assert np.allclose(values_to_players(s, values_to_seats(s, v)), v)
