"""The public rules API (``game/engine.py``): illegal-move errors and pure ``apply_move``."""

import numpy as np
import pytest
from boards import CAPTURE, no_hands, position

from ringrift_ray.game import IllegalMoveError, apply_move


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
