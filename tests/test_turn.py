"""The turn state machine (``game/turn.py``): forced elimination of a blocked player
(RR-CANON-R100, R205..R206) on an ASCII square8 board."""

from boards import at, finish_turn_until, position, texts

from ringrift_ray.game import apply_move


def test_blocked_player_with_stacks_must_eliminate_a_whole_cap():
    s = position("""
        112 222 . . . . . .
        222 222 . . . . . .
    """, phase="ring_placement", hand={1: 0, 2: 5})
    s = finish_turn_until(s, "forced_elimination")
    assert texts(s) == ["forced_elimination p1 to=0,0"]
    after = apply_move(s, "forced_elimination p1 to=0,0")
    assert at(after, "0,0") == [2] and after.eliminated_rings(1) == 2
