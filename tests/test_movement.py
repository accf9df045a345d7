"""Non-capture movement and overtaking capture (``game/movement.py``, RR-CANON-R090..R103)
on ASCII square8 boards."""

from boards import CAPTURE, at, collapsed, marker, no_hands, position, texts

from ringrift_ray.game import apply_move
from ringrift_ray.game import constants as K


def test_movement_distance_at_least_height_and_blocked_by_stacks_and_collapsed():
    s = position("""
        11 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        222 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . . . #2
    """, hand=no_hands())
    assert texts(s) == sorted(
        ["move_stack p1 from=0,0 to=0,2"]
        + [f"move_stack p1 from=0,0 to={d},0" for d in range(2, 8)]
        + [f"move_stack p1 from=0,0 to={d},{d}" for d in range(2, 7)])


def test_movement_over_markers_departure_marker_collapse_and_flip():
    s = position("11 m1 m2 . m2 . . 2", hand=no_hands())
    assert [m for m in texts(s) if "to=4,0" in m or "to=5,0" in m]  # markers are passable
    after = apply_move(s, "move_stack p1 from=0,0 to=3,0")
    assert marker(after, "0,0") == 1  # departure marker
    assert collapsed(after, "1,0") == 1 and marker(after, "1,0") == 0  # own marker collapses
    assert marker(after, "2,0") == 1  # opponent marker flips
    assert at(after, "3,0") == [1, 1] and after.territory(1) == 1


def test_landing_on_a_marker_removes_it_and_eliminates_the_top_ring():
    s = position("11 . . . m2 . . 2", hand=no_hands())
    after = apply_move(s, "move_stack p1 from=0,0 to=4,0")
    assert at(after, "4,0") == [1] and marker(after, "4,0") == 0
    assert after.eliminated_rings(1) == 1
    assert after.meta[K.M_BOARD_ELIM + 1] == s.meta[K.M_BOARD_ELIM + 1] + 1


# ---- capture (RR-CANON-R100..R103) --------------------------------------------------------

def test_capture_needs_cap_height_at_least_the_targets_and_lands_beyond():
    s = position(CAPTURE, hand=no_hands())
    captures = [m for m in texts(s) if m.startswith("overtaking_capture")]
    assert captures == sorted(
        [f"overtaking_capture p1 from=0,0 cap=0,2 to=0,{y}" for y in range(3, 8)]
        + [f"overtaking_capture p1 from=0,0 cap=2,0 to={x},0" for x in (3, 4)])
    # 5,0 (cap 3 > 2) is neither capturable nor passable


def test_captured_top_ring_goes_to_the_bottom_of_the_attacker():
    s = position(CAPTURE, hand=no_hands())
    after = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,4")
    assert at(after, "0,4") == [2, 1, 1]  # bottom -> top
    assert at(after, "0,2") == [1]  # the stack "21" lost its top ring (2)
    assert marker(after, "0,0") == 1


def test_chain_capture_is_mandatory_without_skip():
    s = position("""
        11 . . . . . . .
        . . . . . . . .
        2 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . 2 . . . . . .
    """, hand=no_hands())
    chain = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,5")
    assert chain.phase == "chain_capture"
    assert texts(chain) == [f"continue_capture_segment p1 from=0,5 cap=1,5 to={x},5"
                            for x in range(3, 8)]
    done = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,3")
    assert done.phase == "line_processing"  # no capture from 0,3: the chain ends


def test_skip_capture_is_offered_after_a_move_stack():
    s = position("""
        11 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . 2 . .
    """, hand=no_hands())
    assert not [m for m in texts(s) if "capture" in m]
    moved = apply_move(s, "move_stack p1 from=0,0 to=0,4")
    assert moved.phase == "capture"
    assert texts(moved) == ["overtaking_capture p1 from=0,4 cap=5,4 to=6,4",
                            "overtaking_capture p1 from=0,4 cap=5,4 to=7,4", "skip_capture p1"]
    assert apply_move(moved, "skip_capture p1").phase == "line_processing"
