"""The move service without Ray (`ringrift_ray/service/`): the contract's models, positions
checked for play (400 reasons), batched move choice and the play page's rules."""

import copy

import pytest
from pydantic import ValidationError
from reference import trace_games

from ringrift_ray.game import legal_moves, move_from_reference, new_game
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint
from ringrift_ray.service import api, chooser, play, positions


@pytest.fixture(scope="module")
def steps():
    """Trace steps of the first square8 2-player reference game."""
    _, game_steps, end = next(trace_games("square8_2p"))
    return game_steps, end


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("service") / "tiny.pt"
    save_checkpoint(PolicyValueNet(NetSpec("square8", 2, "tiny")), path)
    return chooser.load_model(f"{path}:32", device="cpu")


def test_difficulty_table_and_cap():
    assert [api.simulations_for(d) for d in range(1, 11)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert api.simulations_for(10, cap=100) == 100 and api.simulations_for(1, cap=100) == 1
    with pytest.raises(ValueError, match="1..10"):
        api.simulations_for(11)


def test_model_spec(tmp_path):
    assert chooser.parse_model_spec("a/b.pt:64") == ("a/b.pt", 64)
    assert chooser.parse_model_spec("s3://bucket/b.pt") == ("s3://bucket/b.pt", None)
    odd = tmp_path / "x.pt:7"  # an existing file whose name ends like :SIMS
    odd.write_bytes(b"")
    assert chooser.parse_model_spec(str(odd)) == (str(odd), None)
    with pytest.raises(ValueError, match="at least 1"):
        chooser.parse_model_spec("b.pt:0")


def test_request_shape_errors_name_the_field(steps):
    state = steps[0][0]["state"]
    with pytest.raises(ValidationError, match="player_number 3 exceeds"):
        api.MoveRequest(game_state=state, player_number=3)
    bad = copy.deepcopy(state)
    bad["board"]["type"] = "square9"
    with pytest.raises(ValidationError) as e:
        api.MoveRequest(game_state=bad, player_number=1)
    assert e.value.errors()[0]["loc"] == ("game_state", "board", "type")
    with pytest.raises(ValidationError, match="same length"):
        api.BatchMoveRequest(game_states=[state], player_numbers=[1, 2])


def test_positions_rejected_with_reasons(steps):
    game_steps, end = steps
    step = game_steps[10]
    req = api.MoveRequest(game_state=step["state"], player_number=step["current_player"],
                          state_extras=step["state_extras"])
    state = positions.position_of(req.game_state, req.player_number, req.state_extras)
    assert state.current_player == step["current_player"]
    with pytest.raises(positions.StateRejected, match="is not to move"):
        positions.position_of(req.game_state, 3 - step["current_player"], req.state_extras)
    with pytest.raises(positions.StateRejected, match="game is over"):
        positions.position_of(end["final_state"], 1, end["final_state_extras"])
    over = copy.deepcopy(step["state"])
    over["players"][0]["ringsInHand"] = 18
    with pytest.raises(positions.StateRejected, match="exceed the 18 rings"):
        positions.position_of(over, None, step["state_extras"])


def test_choose_moves_legal_and_seeded(model, steps):
    game_steps, _ = steps
    picked = game_steps[::15]
    states = [positions.position_of(s["state"], s["current_player"], s["state_extras"])
              for s in picked]
    choices = chooser.choose_moves(model, states, [64] * len(states), [7] * len(states))
    for state, c in zip(states, choices, strict=True):
        assert c.move in legal_moves(state)
        assert -1.0 <= c.evaluation <= 1.0
        assert c.simulations <= 32  # the :32 cap
    # a seeded answer does not depend on the batch it shared
    alone = [chooser.choose_moves(model, [s], [64], [7])[0].move for s in states[:4]]
    assert alone == [c.move for c in choices[:4]]


def test_searcher_answers_do_not_depend_on_company(model, steps):
    """A seeded search gives the same move and value whether it runs alone or joins a
    searcher mid-flight (continuous batching) beside searches of other budget tiers."""
    game_steps, _ = steps
    picked = [s for s in game_steps if len(s["legal_moves"]) > 4][:6]
    states = [positions.position_of(s["state"], s["current_player"], s["state_extras"])
              for s in picked]
    budgets = [16, 4, 32, 1, 16, 8]  # the model's :32 cap puts 32 in the 32 tier
    alone = [chooser.choose_moves(model, [s], [b], [i])[0]
             for i, (s, b) in enumerate(zip(states, budgets, strict=True))]
    searcher, answers, slots = chooser.new_searcher(model, 4), {}, {}
    chooser.warm(searcher, states[0])
    assert searcher.busy == 0 and sorted(searcher.groups) == [16]
    pending = list(enumerate(zip(states, budgets, strict=True)))
    while pending or slots:
        if pending and chooser.has_room(searcher, pending[0][1][1]):  # one joins per step
            i, (state, budget) = pending.pop(0)
            slots[chooser.admit(searcher, state, budget, i)] = i
        chooser.step(searcher)
        for slot in chooser.finished(searcher):
            answers[slots.pop(slot)] = chooser.take(searcher, slot)
    assert [answers[i] for i in range(len(states))] == alone
    assert [c.simulations for c in alone] == budgets
    with pytest.raises(ValueError, match="hex8 3p position for the square8_2p"):
        chooser.admit(searcher, new_game("hex8", 3), 4, 0)


def test_play_page_rules():
    v = play.new_position("hex8", 3)
    assert v["active"] and v["current_player"] == 1 and v["svg"].lstrip().startswith("<")
    first = v["legal_moves"][0]
    assert move_from_reference(first["move"]) is not None
    after = play.apply(v["game_state"], v["state_extras"], first["move"])
    assert after["move_text"] == first["text"]
    again = play.view(after["game_state"], after["state_extras"], after["move_text"])
    assert again["legal_moves"] == after["legal_moves"]
    quick = play.apply(v["game_state"], v["state_extras"], first["move"], picture=False)
    assert quick["svg"] is None and quick["legal_moves"] == []
    assert quick["game_state"] == after["game_state"]
    with pytest.raises(positions.StateRejected):
        play.apply(v["game_state"], v["state_extras"], {"type": "place_ring", "player": 2,
                                                        "to": {"x": 0, "y": 0, "z": 0}})
    assert "<script>" in play.page_html()
