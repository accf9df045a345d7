"""Malformed and hostile input, property-based (hypothesis): the reference-JSON readers
(states, moves), canonical move text, action indices and the config loader answer with a
typed error naming the field (``ValueError``, ``IllegalMoveError``), never another
exception, a hang or silent acceptance: whatever they accept reads back the same.

Inputs are valid documents (reference contract vectors, our own serialized states, legal
moves) with one to three fields deleted or replaced by arbitrary JSON, plus free text.
"""

import copy
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import contract_vectors

from ringrift_ray import cli
from ringrift_ray.cli import views
from ringrift_ray.config import AlphaZeroConfig, load_yaml, parse_overrides, with_overrides
from ringrift_ray.encoding import encode, index_to_move, move_to_index, num_actions
from ringrift_ray.eval import baselines
from ringrift_ray.game import (
    IllegalMoveError,
    apply_move,
    apply_record_inplace,
    legal_move_records,
    legal_moves,
    move_from_reference,
    move_from_text,
    move_to_text,
    new_game,
    state_from_reference,
    state_to_reference,
)
from ringrift_ray.game.constants import MOVE_TYPE_NAMES
from ringrift_ray.search.game_fns import game_fns

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ARRAYS = ("rings", "height", "marker", "collapsed", "order", "meta")


def _states() -> list:
    """Positions of short random games on three variants (placement to late game)."""
    out = []
    for board_type, players, seed in (("square8", 2, 0), ("hex8", 3, 1), ("square8", 4, 2)):
        rng, s = np.random.default_rng(seed), new_game(board_type, players)
        for ply in itertools.count():
            if ply % 25 == 0 or not s.is_active:
                out.append(s.copy())
            if not s.is_active or ply > 150:
                break
            records = legal_move_records(s)
            apply_record_inplace(s, records[rng.integers(len(records))])
    return out


STATES = _states()
VECTORS = contract_vectors()
STATE_DOCS = ([{"state": v["input"]["state"], "extras": {}} for v in VECTORS[::6]]
              + [dict(zip(("state", "extras"), state_to_reference(s), strict=True))
                 for s in STATES])
RECOVERY = {"type": "recovery_slide", "player": 2, "from": {"x": 1, "y": 2},
            "to": {"x": 1, "y": 3}, "recoveryMode": "line", "recoveryOption": 2,
            "collapsePositions": [{"x": 1, "y": 3}, {"x": 2, "y": 3}],
            "extractionStacks": ["4,4"]}
MOVE_DOCS = [v["input"]["move"] for v in VECTORS if "move" in v["input"]] + [RECOVERY]
MOVES = [m for s in STATES for m in legal_moves(s)[:40]]

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
    st.text(max_size=6),
    st.sampled_from(["0,0", "3,3", "99,99", "1,-1,0", "x", "", "square8", "movement",
                     "active", "line", "territory", "M_CHAIN", "M_NUM_PLAYERS"]))
json_value = st.recursive(
    json_leaf, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else ())
    for k, v in items:
        yield from _paths(v, prefix + (k,))


@st.composite
def mutated(draw, docs):
    """A deep copy of one of ``docs`` with 1-3 fields deleted or replaced by any JSON."""
    doc = {"root": copy.deepcopy(draw(st.sampled_from(docs)))}
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in _paths(doc) if p]))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if isinstance(parent, dict) and path != ("root",) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_value)
    return doc["root"]


def _same_state(a, b) -> bool:
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ARRAYS)


@FUZZ
@given(mutated(STATE_DOCS))
def test_state_reader_names_the_bad_field_or_reads_back_what_it_accepted(doc):
    state, extras = doc.get("state") if isinstance(doc, dict) else doc, None
    if isinstance(doc, dict):
        extras = doc.get("extras")
    try:
        s = state_from_reference(state, extras)
    except ValueError as e:
        assert str(e).startswith(("state", "extras")), e
        return
    again = state_from_reference(*state_to_reference(s))  # accepted: a consistent state
    assert _same_state(s, again)
    legal_move_records(s)
    encode([s])


@FUZZ
@given(json_value)
def test_state_reader_refuses_arbitrary_json(doc):
    with pytest.raises(ValueError, match=r"^(state|extras)"):
        state_from_reference(doc)


@FUZZ
@given(mutated(MOVE_DOCS))
def test_move_reader_names_the_bad_field_or_round_trips(doc):
    try:
        move = move_from_reference(doc)
    except ValueError as e:
        assert str(e).startswith("move"), e
        return
    assert move_from_text(move_to_text(move)) == move


move_token = st.one_of(
    st.sampled_from(MOVE_TYPE_NAMES),
    st.sampled_from(["p1", "p2", "p0", "p5", "p01", "p²", "p١", "P1", "p-1"]),
    st.builds("{}={}".format,
              st.sampled_from(["to", "from", "cap", "n", "line", "collapse", "region", "ctx",
                               "mode", "opt", "extract", "x", ""]),
              st.one_of(st.sampled_from(["1,1", "0,0", "-1,1,0", "1_0,2", "+1,2", "²,1",
                                         "1,1;2,2", "", "1,1;", "1,,1", "line", "fallback",
                                         "1", "-1", "²", "9" * 30]),
                        st.text(max_size=5))),
    st.text(max_size=6))
move_text = st.one_of(
    st.lists(move_token, min_size=1, max_size=6).map(" ".join),
    st.builds(lambda m, more: " ".join([move_to_text(m), *more]),
              st.sampled_from(MOVES), st.lists(move_token, max_size=2)),
    st.text(max_size=40))


@FUZZ
@given(move_text, st.sampled_from(STATES))
def test_move_text_parses_exactly_and_illegal_moves_raise_illegal_move_error(text, state):
    try:
        move = move_from_text(text)
    except ValueError as e:
        assert str(e).startswith("move text"), e
        return
    assert move_from_text(move_to_text(move)) == move
    for entry_point in (apply_move, move_to_index):
        try:
            entry_point(state, text)
        except IllegalMoveError as e:
            assert repr(move_to_text(move)) in str(e), e  # names the move and says why


@FUZZ
@given(st.sampled_from(STATES), st.one_of(st.integers(-10, 10**6), st.integers()))
def test_an_illegal_action_index_raises_illegal_move_error(state, action):
    fns = game_fns(state.num_players)
    legal = set(fns.legal_actions(state).tolist()) if state.is_active else set()
    if action in legal:
        fns.apply(state, action)
        assert move_to_index(state, index_to_move(state, action)) == action
        return
    with pytest.raises(IllegalMoveError, match=f"action {action} is not"):
        fns.apply(state, action)
    with pytest.raises(IllegalMoveError, match=f"action {action} is not"):
        index_to_move(state, action)


def test_every_illegal_entry_point_names_move_and_reason():
    s = new_game("square8", 2)
    placed = apply_move(s, "place_ring p1 to=3,3 n=1")
    cases = {
        "place_ring p2 to=3,3 n=1": "it is player 1's turn",
        "move_stack p1 from=3,3 to=3,5": "move_stack is not legal in phase ring_placement",
        "place_ring p1 to=9,9 n=1": "position 9,9 is not on board square8",
        "place_ring p1 to=3,3 n=9": "no legal place_ring matches",
    }
    for text, reason in cases.items():
        for entry_point in (apply_move, move_to_index):
            with pytest.raises(IllegalMoveError, match=f"'{text}'.*{reason}"):
                entry_point(s, text)
    with pytest.raises(IllegalMoveError, match="'place_ring p1 to=4,4 n=1'.*phase movement"):
        apply_move(placed, "place_ring p1 to=4,4 n=1")  # p1 must move the placed stack
    with pytest.raises(IllegalMoveError, match=f"action {num_actions('square8')}"):
        game_fns(2).apply(s, num_actions("square8"))
    with pytest.raises(TypeError, match="Move or canonical move text"):
        apply_move(s, {"type": "place_ring"})


@pytest.mark.parametrize("text, field", [
    ("place_ring p1 to=1_0,2 n=1", "field to"), ("place_ring p1 to=+1,2 n=1", "field to"),
    ("place_ring p1 to=٣,2 n=1", "field to"), ("place_ring p1 to=3,3 n=²", "field n"),
    ("place_ring p² to=3,3 n=1", "player token"), ("place_ring p5 to=3,3 n=1", "player token"),
    ("move_stack p1 from=1,1 from=2,2 to=3,3", "given twice"),
    ("place_ring p1 to=3,3 n=1 ctx=line", "unexpected field"),
    ("place_ring p1 n=1", "missing field to="),
])
def test_malformed_move_text_names_the_field(text, field):
    with pytest.raises(ValueError, match=f"move text '.*{field}"):
        move_from_text(text)


@pytest.mark.parametrize("doc, field", [
    ({"type": "place_ring", "player": 1, "to": {"x": 1, "y": 1}, "placementCount": "2"},
     "move.placementCount"),
    ({"type": "place_ring", "player": 7, "to": {"x": 1, "y": 1}}, "move.player"),
    ({"type": "place_ring", "player": 1, "to": {"x": 2**40, "y": 1}}, "move.to.x"),
    ({"type": "process_line", "player": 1, "formedLines": {"positions": []}},
     "move.formedLines"),
    ({"type": "process_line", "player": 1, "formedLines": [{"positions": 5}]},
     r"move.formedLines\[0\].positions"),
    ({**RECOVERY, "recoveryOption": {"a": 1}}, "move.recoveryOption"),
    ({**RECOVERY, "extractionStacks": "4,4"}, "move.extractionStacks"),
])
def test_malformed_reference_move_names_the_field(doc, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        move_from_reference(doc)


def _doc(s):
    return dict(zip(("state", "extras"), state_to_reference(s), strict=True))


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["state"]["players"][0].update(ringsInHand=2**40), r"state.players\[0\]"),
    (lambda d: d["state"]["players"][1].update(ringsInHand=-1), r"state.players\[1\]"),
    (lambda d: d["state"].update(turnNumber=2**31), "state.turnNumber"),
    (lambda d: d["state"].update(gameStatus="bogus"), "state.gameStatus"),
    (lambda d: d["state"].update(moveHistory={"a": 1}), "state.moveHistory"),
    (lambda d: d["state"].update(moveHistory=[{"type": "fly", "player": 1}]),
     r"state.moveHistory\[0\].type"),
    (lambda d: d["state"]["board"]["stacks"].update({"0,0,0": {"rings": [1] * 200}}),
     r"state.board.stacks\['0,0,0'\].rings: a stack holds"),
    (lambda d: d["state"]["board"]["stacks"].update(
        {k: {"rings": [1] * 3} for k in ("0,0,0", "1,0,-1", "0,1,-1", "1,1,-2", "2,0,-2",
                                          "0,2,-2", "2,1,-3", "1,2,-3")}),
     "state.board.stacks: 2[0-9] rings of player 1"),
    (lambda d: d["extras"].update(rulesOptions=[1]), "extras.rulesOptions"),
    (lambda d: d["extras"].update(rulesOptions={"swapRuleEnabled": True}),
     "extras.rulesOptions.swapRuleEnabled: the swap rule needs 2 players"),
    (lambda d: d["extras"].update(chainCaptureState={"currentPosition": {"y": 1}}),
     "extras.chainCaptureState.currentPosition.x"),
    (lambda d: d["extras"]["ringriftRay"]["meta"].update(M_NUM_PLAYERS=9),
     "extras.ringriftRay.meta.M_NUM_PLAYERS: unknown"),
    (lambda d: d["extras"]["ringriftRay"]["meta"].update(M_CHAIN=10**6),
     "extras.ringriftRay.meta.M_CHAIN"),
    (lambda d: d["extras"]["ringriftRay"]["meta"].update(M_VICTORY_REASON=99),
     "extras.ringriftRay.meta.M_VICTORY_REASON"),
    (lambda d: d["extras"]["ringriftRay"]["meta"].update(M_BOARD_ELIM=[1, 2, 3, 4, 5]),
     "extras.ringriftRay.meta.M_BOARD_ELIM"),
    (lambda d: d.update(extras=[]), "extras"),
])
def test_hostile_state_fields_are_named(edit, field):
    doc = _doc(next(s for s in STATES if s.board.name == "hex8" and s.height.any()))
    edit(doc)
    with pytest.raises(ValueError, match=f"^{field}"):
        state_from_reference(doc["state"], doc["extras"])


@FUZZ
@given(st.dictionaries(
    st.one_of(st.sampled_from(["train.lr", "game.board", "game.players", "search.c_visit",
                               "run.name", "train", "", ".", "train..lr", "nope.x",
                               "train.lr.x", "__class__", "model_config"]),
              st.text(max_size=8), st.integers(), st.none()),
    json_value, max_size=3))
def test_with_overrides_validates_or_names_the_key(overrides):
    try:
        cfg = with_overrides(AlphaZeroConfig(), overrides)
    except ValueError as e:
        assert "config" in str(e), e
        return
    assert type(cfg).model_validate(cfg.model_dump()) == cfg


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=20), st.integers(), st.none(),
                          st.builds("{}={}".format, st.sampled_from(["train.lr", "run.name"]),
                                    st.text(max_size=10))), max_size=3))
def test_parse_overrides_gives_a_dict_or_value_error(items):
    try:
        overrides = parse_overrides(items)
    except ValueError:
        return
    assert isinstance(overrides, dict) and all(isinstance(k, str) for k in overrides)


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@FUZZ
@given(st.one_of(st.text(max_size=60), st.binary(max_size=40),
                 st.sampled_from(["0", "false", "[1, 2]", "game: {board: hex8}\ngame: {}",
                                  "game:\n  board: square8\n  board: hex8\n",
                                  "train: !!python/object/apply:os.system [echo]\n",
                                  "[" * 5000 + "]" * 5000,
                                  "game: " + "{a: " * 500 + "1" + "}" * 500,
                                  _bomb(), _bomb(5)])))
def test_load_yaml_refuses_bad_files_with_value_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    try:
        cfg = load_yaml(path, AlphaZeroConfig)
    except ValueError:
        return
    assert cfg == AlphaZeroConfig.model_validate(cfg.model_dump())


@pytest.mark.parametrize("content, message", [
    ("0", "expected a mapping"),
    ("game:\n  board: square8\n  board: hex8\n", "duplicate key 'board'"),
    ("train: !!python/object/apply:os.system [echo hacked]\n", "not valid YAML"),
    (_bomb(), "YAML too large"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_load_yaml_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=f"(?s){path}.*{message}"):
        load_yaml(path, AlphaZeroConfig)
    with pytest.raises(FileNotFoundError):
        load_yaml(tmp_path / "missing.yaml", AlphaZeroConfig)


@pytest.mark.parametrize("overrides, message", [
    ({3: 1}, "config key 3: expected a dotted string"),
    ({"train.lr": {}, "train.lr.x": None}, "train.lr has no field 'x'"),  # was AttributeError
    ({"train.lr.x": 1}, "'lr' is not a section"),
    ({"train.nope": 1}, "train has no field 'nope'"),
    ({"game.players": 7}, "game.players"),
])
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        with_overrides(AlphaZeroConfig(), overrides)
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_overrides([None])


def test_cli_show_names_the_illegal_move_and_the_reason(tmp_path, capsys):
    moves = tmp_path / "game.txt"
    moves.write_text("place_ring p1 to=3,3 n=1\nplace_ring p1 to=4,4 n=1\n")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["show", "--moves", str(moves), "--out", str(tmp_path / "g.svg")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"{moves}: move 2 ('place_ring p1 to=4,4 n=1')" in err
    assert "place_ring is not legal in phase movement" in err
    with pytest.raises(IllegalMoveError, match="game.txt: move 2"):  # the type survives
        views.show(str(tmp_path / "g.svg"), "square8", 2, moves_file=str(moves))


def test_an_empty_region_round_trips_through_text_and_json():
    doc = {"type": "choose_territory_option", "player": 1,
           "disconnectedRegions": [{"spaces": []}]}  # as `history.trailing_moves` writes
    move = move_from_reference(doc)
    assert move.region == () and move_from_text(move_to_text(move)) == move
    with pytest.raises(ValueError, match="field region: bad position ''"):
        move_from_text("choose_territory_option p1 region=1,1;")


def test_cli_inputs_that_are_not_text_name_the_file(tmp_path, capsys):
    moves = tmp_path / "game.txt"
    moves.write_bytes(b"place_ring p1 to=3,3 n=1\n\xff\xfe\n")
    with pytest.raises(SystemExit):
        cli.main(["show", "--moves", str(moves), "--out", str(tmp_path / "g.svg")])
    assert f"{moves}: not UTF-8 text" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="ckpt.pt:²"):  # "²" is no count: a path
        baselines.agent_from_spec(str(tmp_path / "ckpt.pt:²"), "square8", 2)
