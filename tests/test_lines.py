"""Lines and graduated line rewards (``game/lines.py``, RR-CANON-R120..R122) on ASCII square8
boards."""

import pytest
from boards import at, collapsed, marker, no_hands, position, texts

from ringrift_ray.game import apply_move
from ringrift_ray.game import constants as K

LINE4 = """
    m1 m1 m1 1 . . . .
    . . . . . . . .
    . . . . . . . .
    . . . . . . . .
    . . . . . . . .
    . . . . . . . 11
    . . . . . . . .
    . . . . . . 2 .
"""
ROW = "0,0;1,0;2,0;3,0"


def test_exact_length_line_collapses_then_costs_one_ring():
    s = apply_move(position(LINE4, hand=no_hands()), "move_stack p1 from=3,0 to=3,2")
    assert s.phase == "line_processing"
    assert texts(s) == [f"choose_line_option p1 line={ROW} collapse={ROW}",
                        f"process_line p1 line={ROW}"]
    for decision in texts(s):
        pending = apply_move(s, decision)
        assert all(collapsed(pending, f"{x},0") == 1 for x in range(4))
        assert pending.meta[K.M_PENDING_LINE_ELIM] == 1
        assert texts(pending) == ["eliminate_rings_from_stack p1 to=3,2 ctx=line",
                                  "eliminate_rings_from_stack p1 to=7,5 ctx=line"]
    paid = apply_move(pending, "eliminate_rings_from_stack p1 to=7,5 ctx=line")
    assert at(paid, "7,5") == [1] and paid.eliminated_rings(1) == 1  # one ring, not the cap
    assert paid.meta[K.M_PENDING_LINE_ELIM] == 0


def test_overlength_line_offers_whole_collapse_or_a_segment_without_cost():
    s = position(LINE4.replace("m1 m1 m1 1 .", "m1 m1 m1 m1 1"), hand=no_hands())
    s = apply_move(s, "move_stack p1 from=4,0 to=4,2")
    line = "0,0;1,0;2,0;3,0;4,0"
    assert texts(s) == [f"choose_line_option p1 line={line} collapse=0,0;1,0;2,0;3,0",
                        f"choose_line_option p1 line={line} collapse={line}",
                        f"choose_line_option p1 line={line} collapse=1,0;2,0;3,0;4,0",
                        f"process_line p1 line={line}"]
    segment = apply_move(s, f"choose_line_option p1 line={line} collapse=1,0;2,0;3,0;4,0")
    assert marker(segment, "0,0") == 1 and collapsed(segment, "4,0") == 1
    assert segment.phase == "territory_processing" and segment.eliminated_rings(1) == 0
    whole = apply_move(s, f"choose_line_option p1 line={line} collapse={line}")
    assert whole.meta[K.M_PENDING_LINE_ELIM] == 1
    assert texts(whole)[0].startswith("eliminate_rings_from_stack p1")


@pytest.mark.parametrize("players, line", [(2, False), (3, True), (4, True)])
def test_square8_line_length_is_three_with_three_or_more_players(players, line):
    rows = ["m1 m1 1 . . . . 2"] + [f". . . . . . . {p}" for p in range(3, players + 1)]
    s = position("\n".join(rows), players=players, hand=no_hands(players))
    s = apply_move(s, "move_stack p1 from=2,0 to=2,1")
    expected = (["choose_line_option p1 line=0,0;1,0;2,0 collapse=0,0;1,0;2,0",
                 "process_line p1 line=0,0;1,0;2,0"] if line else ["no_line_action p1"])
    assert texts(s) == expected
