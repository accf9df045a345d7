"""Recovery slides (``game/recovery.py``, RR-CANON-R110..R115) on ASCII square8 boards."""

from boards import at, marker, position, texts

from ringrift_ray.game import apply_move

RECOVERY = """
    . . . . . . . .
    . . . . . . . .
    . . . . . . . .
    . . . m1 . . . .
    . . . 2 . . . .
    . . . . . . . .
    . . . . . . 21 .
"""


def test_recovery_eligible_player_may_slide_strike_or_skip():
    s = position(RECOVERY, phase="ring_placement", hand={1: 0, 2: 5})
    s = apply_move(s, "no_placement_action p1")
    fallback = [f"recovery_slide p1 from=3,3 to={k} mode=fallback extract=6,6"
                for k in ("2,2", "2,3", "2,4", "3,2", "4,2", "4,3", "4,4")]
    strike = "recovery_slide p1 from=3,3 to=3,4 mode=stack_strike extract=6,6"
    assert texts(s) == sorted(fallback + [strike, "skip_recovery p1"])
    slid = apply_move(s, fallback[0])
    assert marker(slid, "2,2") == 1 and marker(slid, "3,3") == 0
    assert at(slid, "6,6") == [2] and slid.eliminated_rings(1) == 1  # buried ring extracted
    struck = apply_move(s, strike)
    assert marker(struck, "3,3") == 0 and at(struck, "3,4") == []  # marker spent, ring gone
    assert struck.eliminated_rings(1) == 2


def test_recovery_eligible_player_with_rings_in_hand_may_skip_placement():
    s = position(RECOVERY, phase="ring_placement", hand={1: 3, 2: 5})
    assert "skip_placement p1" in texts(s)
    assert texts(apply_move(s, "skip_placement p1"))[-1] == "skip_recovery p1"
