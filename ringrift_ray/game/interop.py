"""Reference-JSON interop: serialized states and moves of the public RingRift engine.

``state_from_reference`` / ``state_to_reference`` read and write the contract-vector /
trace serialization (stacks list ``rings`` top ring first; keys ``"x,y"`` or ``"x,y,z"``)
plus the trace ``state_extras`` dict; the round trip of our states is lossless (fields the
reference format lacks travel in ``extras["ringriftRay"]``). Moves convert to and from the
canonical move text of the reference README. Malformed input raises ``ValueError`` naming
the offending field.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ringrift_ray.game import constants as K
from ringrift_ray.game.geometry import board as board_geometry
from ringrift_ray.game.history import restore_turn_flags
from ringrift_ray.game.moves import Move, move_from_text, move_to_text  # noqa: F401 (re-export)
from ringrift_ray.game.state import GameState, new_game

_STATUS_ACTIVE = "active"
_STATUS_COMPLETED = "completed"


def _field(d: dict, name: str, where: str, kind=None):
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    if name not in d:
        raise ValueError(f"{where}.{name}: missing")
    v = d[name]
    if kind is not None and not isinstance(v, kind):
        raise ValueError(f"{where}.{name}: expected {kind}, got {v!r}")
    return v


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{where}: expected an integer, got {v!r}")
    return v


def _player(v: Any, num_players: int, where: str) -> int:
    p = _int(v, where)
    if not 1 <= p <= num_players:
        raise ValueError(f"{where}: player {p} outside 1..{num_players}")
    return p


def _cell(b, key: Any, where: str) -> int:
    if not isinstance(key, str):
        raise ValueError(f"{where}: position key must be a string, got {key!r}")
    try:
        return b.cell(key)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _num_players(state: dict) -> int:
    players = _field(state, "players", "state", list)
    n = state.get("maxPlayers", len(players))
    if n not in (2, 3, 4) or len(players) != n:
        raise ValueError(
            f"state.players: expected 2-4 players, got {len(players)} (maxPlayers={n})")
    return n


def state_from_reference(state: dict, extras: dict | None = None) -> GameState:
    """Build a `GameState` from a reference serialized state (+ trace ``state_extras``).

    Args:
        state: the ``state`` object of a trace step or ``input.state`` of a contract vector.
        extras: the trace's ``state_extras`` (chain capture, must-move stack, pending line
            elimination, rules options, last-player-standing counters); None for defaults.

    Raises:
        ValueError: a missing or malformed field, named by its path
            (e.g. ``state.board.stacks['9,9']``).
    """
    extras = extras or {}
    brd = _field(state, "board", "state", dict)
    btype = _field(brd, "type", "state.board", str)
    try:
        b = board_geometry(btype)
    except ValueError as e:
        raise ValueError(f"state.board.type: {e}") from None
    num_players = _num_players(state)
    rules = extras.get("rulesOptions") or {}
    s = new_game(btype, num_players, swap_rule=bool(rules.get("swapRuleEnabled", False)))
    meta = s.meta

    stacks = _field(brd, "stacks", "state.board", dict)
    max_h = max([len(v.get("rings", [])) for v in stacks.values() if isinstance(v, dict)] + [0])
    if max_h > s.rings.shape[1]:
        s.rings = np.zeros((b.num_cells, max_h), dtype=np.int8)
    for key, st in stacks.items():
        where = f"state.board.stacks[{key!r}]"
        c = _cell(b, key, where)
        rings = _field(st, "rings", where, list)
        if not rings:
            raise ValueError(f"{where}.rings: a stack needs at least one ring")
        for i, r in enumerate(reversed(rings)):  # serialized top first
            s.rings[c, i] = _player(r, num_players, f"{where}.rings")
        s.height[c] = len(rings)
        s.order[c] = meta[K.M_NEXT_ORDER]  # the stack map's insertion order
        meta[K.M_NEXT_ORDER] += 1
    for key, mk in _field(brd, "markers", "state.board", dict).items():
        where = f"state.board.markers[{key!r}]"
        c = _cell(b, key, where)
        if s.height[c]:
            raise ValueError(f"{where}: cell holds a stack and a marker")
        s.marker[c] = _player(_field(mk, "player", where), num_players, f"{where}.player")
    for key, owner in _field(brd, "collapsedSpaces", "state.board", dict).items():
        where = f"state.board.collapsedSpaces[{key!r}]"
        c = _cell(b, key, where)
        if s.height[c] or s.marker[c]:
            raise ValueError(f"{where}: collapsed cell also holds a stack or marker")
        s.collapsed[c] = _player(owner, num_players, where)
    for key, cnt in (brd.get("eliminatedRings") or {}).items():
        _int(cnt, f"state.board.eliminatedRings[{key!r}]")  # = credited totals; see below

    for i, pl in enumerate(_field(state, "players", "state", list)):
        where = f"state.players[{i}]"
        p = _player(_field(pl, "playerNumber", where), num_players, f"{where}.playerNumber")
        meta[K.M_HAND + p] = _int(_field(pl, "ringsInHand", where), f"{where}.ringsInHand")
        meta[K.M_ELIM + p] = _int(_field(pl, "eliminatedRings", where), f"{where}.eliminatedRings")
        meta[K.M_TERR + p] = _int(pl.get("territorySpaces", 0), f"{where}.territorySpaces")

    # board.eliminatedRings is keyed by the credited player in the reference; rings eliminated
    # per colour follow from conservation (hand + on board + eliminated = rings per player).
    for p in range(1, num_players + 1):
        on_board = int((s.rings[:, :] == p).sum())
        meta[K.M_BOARD_ELIM + p] = max(0, b.rings_per_player - int(meta[K.M_HAND + p]) - on_board)

    meta[K.M_CURRENT] = _player(_field(state, "currentPlayer", "state"), num_players,
                                "state.currentPlayer")
    phase = _field(state, "currentPhase", "state", str)
    if phase not in K.PHASE_NAMES:
        raise ValueError(f"state.currentPhase: unknown phase {phase!r}")
    meta[K.M_PHASE] = K.PHASE_NAMES.index(phase)
    status = state.get("gameStatus", _STATUS_ACTIVE)
    meta[K.M_ACTIVE] = int(status == _STATUS_ACTIVE)
    if state.get("winner") is not None:
        meta[K.M_WINNER] = _player(state["winner"], num_players, "state.winner")
    meta[K.M_TURN] = _int(state.get("turnNumber", 1), "state.turnNumber")
    meta[K.M_HISTORY] = _int(state.get("historyLength", len(state.get("moveHistory") or [])),
                             "state.historyLength")
    if "victoryThreshold" in state:
        meta[K.M_VICTORY_THRESHOLD] = _int(state["victoryThreshold"], "state.victoryThreshold")
    if "territoryVictoryMinimum" in state:
        meta[K.M_TERRITORY_MIN] = _int(state["territoryVictoryMinimum"],
                                       "state.territoryVictoryMinimum")

    must = extras.get("mustMoveFromStackKey")
    meta[K.M_MUST_MOVE] = -1 if must is None else _cell(b, must, "extras.mustMoveFromStackKey")
    chain = extras.get("chainCaptureState")
    if chain:
        pos = _field(chain, "currentPosition", "extras.chainCaptureState", dict)
        meta[K.M_CHAIN] = _cell(b, _pos_key(pos, b.is_hex), "extras.chainCaptureState")
    elif isinstance(state.get("chainCapturePosition"), dict):  # contract vectors carry it here
        meta[K.M_CHAIN] = _cell(b, _pos_key(state["chainCapturePosition"], b.is_hex),
                                "state.chainCapturePosition")
    meta[K.M_PENDING_LINE_ELIM] = int(bool(extras.get("pendingLineRewardElimination", False)))
    _lps_from_reference(meta, extras, num_players)
    restore_turn_flags(s, state.get("moveHistory") or [])
    _own_from_reference(s, extras.get("ringriftRay"))
    return s


def _own_from_reference(s: GameState, own: Any) -> None:
    """Apply ``extras["ringriftRay"]``: ``meta`` holds ``{NAME: int}`` for scalar fields and
    ``{NAME: [v1, .., vP]}`` for per-player blocks (offset ``NAME`` + player); ``order``
    (optional) the nonzero stack creation stamps, ``{key: stamp}``."""
    if not own:
        return
    meta = s.meta
    if "order" in own:
        s.order[:] = 0
        for key, v in _field(own, "order", "extras.ringriftRay", dict).items():
            where = f"extras.ringriftRay.order[{key!r}]"
            s.order[_cell(s.board, key, where)] = _int(v, where)
    fields = _field(own, "meta", "extras.ringriftRay", dict)
    for name, v in fields.items():
        where = f"extras.ringriftRay.meta.{name}"
        off = getattr(K, name, None) if str(name).startswith("M_") else None
        if not isinstance(off, int):
            raise ValueError(f"{where}: unknown meta field")
        if isinstance(v, list):
            if len(v) > 4 or off + len(v) >= K.META_SIZE:
                raise ValueError(f"{where}: expected at most one value per player, got {v!r}")
            for i, x in enumerate(v):
                meta[off + 1 + i] = _int(x, where)
        else:
            meta[off] = _int(v, where)


# meta fields the reference serialization lacks (travel in extras["ringriftRay"]["meta"])
_OWN_SCALARS = (
    "M_CHAIN", "M_PENDING_TERR_ELIM", "M_TURN_ACTED", "M_TURN_RECOVERY", "M_VICTORY_REASON",
    "M_LAST_ACTOR", "M_TURN_LEN", "M_SWAPPED", "M_LAST_TYPE", "M_LAST_PLAYER",
    "M_TURNS_COMPLETED", "M_PLAYER_TURN", "M_LPS_DUE", "M_NEXT_ORDER",
)
_OWN_PER_PLAYER = ("M_BOARD_ELIM", "M_ELIM_TURN")


def state_to_reference(state: GameState) -> tuple[dict, dict]:
    """Serialize ``state`` as the reference does: ``(state, state_extras)`` of a trace step.

    Stacks list rings top ring first, in creation order (the reference's stack-map order);
    ``moveHistory`` is empty (``historyLength`` keeps the count). Meta fields the reference
    lacks go to ``extras["ringriftRay"]["meta"]`` and the creation stamps to
    ``extras["ringriftRay"]["order"]``, so ``state_from_reference(*state_to_reference(s))``
    reproduces every array of ``s``.

    Returns:
        ``(state_dict, extras_dict)`` in the trace ``state`` / ``state_extras`` formats.
    """
    meta = state.meta
    own = {name: int(meta[getattr(K, name)]) for name in _OWN_SCALARS}
    for name in _OWN_PER_PLAYER:
        off = getattr(K, name)
        own[name] = [int(v) for v in meta[off + 1 : off + 1 + state.num_players]]
    order = {state.board.keys[c]: int(state.order[c]) for c in np.nonzero(state.order)[0]}
    return _board_state(state), {**_extras(state),
                                 "ringriftRay": {"meta": own, "order": order}}


def _position(b, c: int) -> dict:
    co = [int(v) for v in b.coords[c]]
    return dict(zip(("x", "y", "z"), co, strict=False))


def _board_state(state: GameState) -> dict:
    b, meta = state.board, state.meta
    num_players = state.num_players
    stacks = {}
    cells = np.nonzero(state.height)[0]
    for c in cells[np.argsort(state.order[cells], kind="stable")]:  # stack-map order
        top_first = [int(r) for r in state.rings[c, : state.height[c]][::-1]]
        cap = 1
        while cap < len(top_first) and top_first[cap] == top_first[0]:
            cap += 1
        stacks[b.keys[c]] = {"position": _position(b, c), "rings": top_first,
                             "stackHeight": len(top_first), "capHeight": cap,
                             "controllingPlayer": top_first[0]}
    markers = {b.keys[c]: {"position": _position(b, c), "player": int(state.marker[c])}
               for c in np.nonzero(state.marker)[0]}
    collapsed = {b.keys[c]: int(state.collapsed[c]) for c in np.nonzero(state.collapsed)[0]}
    credited = {p: int(meta[K.M_ELIM + p]) for p in range(1, num_players + 1)}
    players = [{"playerNumber": p, "ringsInHand": int(meta[K.M_HAND + p]),
                "eliminatedRings": credited[p], "territorySpaces": int(meta[K.M_TERR + p]),
                "isActive": True} for p in range(1, num_players + 1)]
    return {
        "gameId": "ringrift-ray",
        "board": {"type": b.name, "size": b.size, "stacks": stacks, "markers": markers,
                  "collapsedSpaces": collapsed,
                  "eliminatedRings": {str(p): v for p, v in credited.items() if v}},
        "players": players,
        "currentPlayer": state.current_player,
        "currentPhase": state.phase,
        "turnNumber": int(meta[K.M_TURN]),
        "moveHistory": [],
        "gameStatus": _STATUS_ACTIVE if state.is_active else _STATUS_COMPLETED,
        "victoryThreshold": int(meta[K.M_VICTORY_THRESHOLD]),
        "territoryVictoryThreshold": b.num_cells // 2 + 1,
        "territoryVictoryMinimum": int(meta[K.M_TERRITORY_MIN]),
        "totalRingsEliminated": sum(credited.values()),
        "totalRingsInPlay": b.rings_per_player * num_players,
        "winner": state.winner,
        "historyLength": int(meta[K.M_HISTORY]),
        "maxPlayers": num_players,
    }


def _extras(state: GameState) -> dict:
    b, meta = state.board, state.meta

    def opt_player(i):
        return int(meta[i]) or None

    chain = int(meta[K.M_CHAIN])
    must = int(meta[K.M_MUST_MOVE])
    return {
        "chainCaptureState": ({"playerNumber": state.current_player,
                               "currentPosition": _position(b, chain)}
                              if chain >= 0 and meta[K.M_PHASE] == K.CHAIN_CAPTURE else None),
        "mustMoveFromStackKey": b.keys[must] if must >= 0 else None,
        "lpsRoundIndex": int(meta[K.M_LPS_ROUND]),
        "lpsCurrentRoundActorMask": {
            str(p): bool(meta[K.M_LPS_MASK + p]) for p in range(1, state.num_players + 1)
            if meta[K.M_LPS_MASK + p] != -1},
        "lpsExclusivePlayerForCompletedRound": opt_player(K.M_LPS_EXCL_COMPLETED),
        "lpsCurrentRoundFirstPlayer": opt_player(K.M_LPS_FIRST),
        "lpsConsecutiveExclusiveRounds": int(meta[K.M_LPS_CONSEC]),
        "lpsRoundsRequired": int(meta[K.M_LPS_REQUIRED]),
        "lpsConsecutiveExclusivePlayer": opt_player(K.M_LPS_CONSEC_PLAYER),
        "rulesOptions": {"swapRuleEnabled": bool(meta[K.M_SWAP_RULE])},
        "pendingLineRewardElimination": bool(meta[K.M_PENDING_LINE_ELIM]),
    }


def _pos_key(pos: dict, is_hex: bool) -> str:
    if is_hex:
        z = pos.get("z")
        return f"{pos['x']},{pos['y']},{-pos['x'] - pos['y'] if z is None else z}"
    return f"{pos['x']},{pos['y']}"


def _lps_from_reference(meta, extras: dict, num_players: int) -> None:
    def opt_player(name):
        v = extras.get(name)
        return 0 if v is None else _player(v, num_players, f"extras.{name}")

    meta[K.M_LPS_ROUND] = _int(extras.get("lpsRoundIndex", 0), "extras.lpsRoundIndex")
    meta[K.M_LPS_FIRST] = opt_player("lpsCurrentRoundFirstPlayer")
    meta[K.M_LPS_EXCL_COMPLETED] = opt_player("lpsExclusivePlayerForCompletedRound")
    meta[K.M_LPS_CONSEC] = _int(extras.get("lpsConsecutiveExclusiveRounds", 0),
                                "extras.lpsConsecutiveExclusiveRounds")
    meta[K.M_LPS_REQUIRED] = _int(extras.get("lpsRoundsRequired", 3), "extras.lpsRoundsRequired")
    meta[K.M_LPS_CONSEC_PLAYER] = opt_player("lpsConsecutiveExclusivePlayer")
    mask = extras.get("lpsCurrentRoundActorMask") or {}
    for p in range(1, num_players + 1):
        v = mask.get(str(p))
        meta[K.M_LPS_MASK + p] = -1 if v is None else int(bool(v))
