"""The 2-player pie rule (``game/swap.py``, RR-CANON-R180)."""

import pytest

from ringrift_ray.game import apply_move, legal_moves, move_to_text, new_game


def test_pie_rule_swap_sides_offered_once_at_player_two_first_turn():
    s = new_game("square8", 2, swap_rule=True)
    for text in ("place_ring p1 to=3,3 n=1", "move_stack p1 from=3,3 to=3,4",
                 "no_line_action p1", "no_territory_action p1"):
        s = apply_move(s, text)
    assert "swap_sides p2" in {move_to_text(m) for m in legal_moves(s)}
    swapped = apply_move(s, "swap_sides p2")
    assert swapped.current_player == 2 and swapped.phase == "ring_placement"
    assert "swap_sides p2" not in {move_to_text(m) for m in legal_moves(swapped)}
    off = new_game("square8", 2)
    for text in ("place_ring p1 to=3,3 n=1", "move_stack p1 from=3,3 to=3,4",
                 "no_line_action p1", "no_territory_action p1"):
        off = apply_move(off, text)
    assert all(m.type != "swap_sides" for m in legal_moves(off))
    with pytest.raises(ValueError, match="2-player"):
        new_game("square8", 3, swap_rule=True)
