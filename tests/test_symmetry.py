"""D4 / D6 symmetries agree with the rules engine: for random states and every symmetry g,
the legal moves of g(state) are g(legal moves of state), and planes and policies follow."""

import numpy as np
import pytest

from ringrift_ray.encoding import encode, legal_actions
from ringrift_ray.game import (
    apply_record_inplace,
    is_terminal,
    legal_move_records,
    legal_moves,
    new_game,
)
from ringrift_ray.symmetry import (
    apply_to_move,
    apply_to_obs,
    apply_to_policy,
    apply_to_state,
    symmetries,
)


def _random_states(board_type, players, seed, every=29, limit=300):
    rng = np.random.default_rng(seed)
    s, out = new_game(board_type, players), []
    for k in range(limit):
        if is_terminal(s):
            break
        r = legal_move_records(s)
        apply_record_inplace(s, r[rng.integers(len(r))])
        if k % every == 0:
            out.append(s.copy())
    return out


@pytest.mark.parametrize("board_type,players", [("square8", 2), ("square8", 4), ("hex8", 3),
                                                ("square19", 2), ("hexagonal", 2)])
def test_symmetry_commutes_with_rules_and_encoding(board_type, players):
    syms = symmetries(board_type)
    assert len(syms) == (12 if "hex" in board_type else 8)
    for s in _random_states(board_type, players, seed=players):
        moves = set(legal_moves(s))
        obs = encode([s])
        idx, _ = legal_actions(s)
        for g in syms:
            gs = apply_to_state(g, s)
            assert {apply_to_move(g, m) for m in moves} == set(legal_moves(gs))
            assert np.array_equal(apply_to_obs(g, obs), encode([gs]))
            gidx = apply_to_policy(g, s, idx)
            assert sorted(gidx.tolist()) == sorted(legal_actions(gs)[0].tolist())


def test_group_elements_are_distinct_and_identity_first():
    for b in ("square8", "hex8"):
        perms = [tuple(g.cell_perm) for g in symmetries(b)]
        assert len(set(perms)) == len(perms)
        assert perms[0] == tuple(range(len(perms[0])))
