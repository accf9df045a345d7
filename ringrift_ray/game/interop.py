"""Reference-JSON interop: serialized states and moves of the public RingRift engine.

``state_from_reference`` / ``state_to_reference`` read and write the contract-vector /
trace serialization (stacks list ``rings`` top ring first; keys ``"x,y"`` or ``"x,y,z"``;
``moveHistory`` = the last mover's trailing moves) plus the trace ``state_extras`` dict.

What we write is reference-complete: ``state`` + ``state_extras`` without our private
``extras["ringriftRay"]`` block give the same legal moves and the same next state (tested
over every trace step). The private block adds what only our own bookkeeping needs, so that
our round trip is lossless: the stalemate tiebreak's last actor inside a turn (RR-CANON-R173),
the turn of each permanent elimination and the player-turn counter (rank tiebreaks, R177),
the seat swap after the swapping turn (R180), the victory reason and the stack creation
stamps (only their order is in the reference format). Moves convert to and from the
canonical move text of the reference README and the reference move JSON (``moves.py``).
Malformed input raises ``ValueError`` naming the offending field.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ringrift_ray.game import constants as K
from ringrift_ray.game.geometry import board as board_geometry
from ringrift_ray.game.history import restore_turn_flags, trailing_moves
from ringrift_ray.game.json_fields import (
    INT32_MAX,
    boolean,
    cell,
    field,
    integer,
    obj,
    player,
    pos_key,
)
from ringrift_ray.game.moves import (  # noqa: F401 (re-export)
    Move,
    move_from_reference,
    move_from_text,
    move_to_reference,
    move_to_text,
)
from ringrift_ray.game.state import GameState, new_game

_STATUS_ACTIVE = "active"
_STATUS_COMPLETED = "completed"
_STATUSES = ("waiting", _STATUS_ACTIVE, "paused", "abandoned", _STATUS_COMPLETED, "finished")


def _num_players(state: dict) -> int:
    players = field(state, "players", "state", list)
    n = integer(state.get("maxPlayers", len(players)), "state.maxPlayers")
    if n not in (2, 3, 4) or len(players) != n:
        raise ValueError(
            f"state.players: expected 2-4 players, got {len(players)} (maxPlayers={n})")
    return n


def state_from_reference(state: dict, extras: dict | None = None, *,
                         missing_territory_minimum: str = "canonical") -> GameState:
    """Build a `GameState` from a reference serialized state (+ trace ``state_extras``).

    Args:
        state: the ``state`` object of a trace step or ``input.state`` of a contract vector.
        extras: the trace's ``state_extras`` (chain capture, must-move stack, pending line
            elimination, rules options, last-player-standing counters); None for defaults.
        missing_territory_minimum: the territory victory minimum of a state without
            ``territoryVictoryMinimum``: ``"canonical"`` (default) floor(cells / players) + 1,
            RR-CANON-R062; ``"legacy"`` floor(cells / 2) + 1, the legacy
            ``territoryVictoryThreshold`` that the reference engine applies when the field
            is absent (R062 keeps it for 2-player states only, where both agree). A present
            field is always used as written.

    Raises:
        ValueError: a missing or malformed field, named by its path
            (e.g. ``state.board.stacks['9,9']``), or an unknown ``missing_territory_minimum``.
    """
    extras = obj(extras, "extras")
    s = _new_state(state, extras)
    meta, b, num_players = s.meta, s.board, s.num_players
    _board_from_reference(s, state["board"])
    _players_from_reference(s, state)
    meta[K.M_CURRENT] = player(field(state, "currentPlayer", "state"), num_players,
                               "state.currentPlayer")
    phase = field(state, "currentPhase", "state", str)
    if phase not in K.PHASE_NAMES:
        raise ValueError(f"state.currentPhase: unknown phase {phase!r}")
    meta[K.M_PHASE] = K.PHASE_NAMES.index(phase)
    status = state.get("gameStatus", _STATUS_ACTIVE)
    if status not in _STATUSES:
        raise ValueError(f"state.gameStatus: unknown status {status!r}")
    meta[K.M_ACTIVE] = int(status == _STATUS_ACTIVE)
    if state.get("winner") is not None:
        meta[K.M_WINNER] = player(state["winner"], num_players, "state.winner")
    meta[K.M_TURN] = integer(state.get("turnNumber", 1), "state.turnNumber", 0)
    history = state.get("moveHistory") or []
    if not isinstance(history, list):
        raise ValueError(f"state.moveHistory: expected a list, got {type(history).__name__}")
    meta[K.M_HISTORY] = integer(state.get("historyLength", len(history)), "state.historyLength", 0)
    if "victoryThreshold" in state:
        meta[K.M_VICTORY_THRESHOLD] = integer(state["victoryThreshold"],
                                              "state.victoryThreshold", 0)
    meta[K.M_TERRITORY_MIN] = _territory_minimum(state, b, num_players,
                                                 missing_territory_minimum)
    _extras_from_reference(s, state, extras)
    restore_turn_flags(s, history)
    _own_from_reference(s, extras.get("ringriftRay"))
    return s


def _new_state(state: dict, extras: dict) -> GameState:
    """The fresh game of ``state``'s board type and player count (and swap rule)."""
    brd = field(state, "board", "state", dict)
    btype = field(brd, "type", "state.board", str)
    try:
        board_geometry(btype)
    except ValueError as e:
        raise ValueError(f"state.board.type: {e}") from None
    num_players = _num_players(state)
    rules = obj(extras.get("rulesOptions"), "extras.rulesOptions")
    swap = boolean(rules.get("swapRuleEnabled"), "extras.rulesOptions.swapRuleEnabled")
    if swap and num_players != 2:
        raise ValueError(f"extras.rulesOptions.swapRuleEnabled: the swap rule needs 2 players, "
                         f"got {num_players}")
    return new_game(btype, num_players, swap_rule=swap)


def _players_from_reference(s: GameState, state: dict) -> None:
    """``state.players``: hands, credited eliminations, territory; and the rings eliminated
    per colour, which follow from conservation (hand + on board + eliminated = rings per
    player; ``board.eliminatedRings`` is keyed by the credited player in the reference)."""
    meta, num_players, rpp = s.meta, s.num_players, s.board.rings_per_player
    for i, pl in enumerate(field(state, "players", "state", list)):
        where = f"state.players[{i}]"
        p = player(field(pl, "playerNumber", where), num_players, f"{where}.playerNumber")
        meta[K.M_HAND + p] = integer(field(pl, "ringsInHand", where), f"{where}.ringsInHand",
                                     0, rpp)
        meta[K.M_ELIM + p] = integer(field(pl, "eliminatedRings", where),
                                     f"{where}.eliminatedRings", 0, rpp * num_players)
        meta[K.M_TERR + p] = integer(pl.get("territorySpaces", 0), f"{where}.territorySpaces",
                                     0, s.board.num_cells)
    for p in range(1, num_players + 1):
        on_board = int((s.rings == p).sum())
        meta[K.M_BOARD_ELIM + p] = max(0, rpp - int(meta[K.M_HAND + p]) - on_board)


def _extras_from_reference(s: GameState, state: dict, extras: dict) -> None:
    """The must-move stack, chain capture position, pending line reward and LPS counters."""
    meta, b = s.meta, s.board
    must = extras.get("mustMoveFromStackKey")
    meta[K.M_MUST_MOVE] = -1 if must is None else cell(b, must, "extras.mustMoveFromStackKey")
    chain = extras.get("chainCaptureState")
    if chain:
        pos = field(chain, "currentPosition", "extras.chainCaptureState", dict)
        where = "extras.chainCaptureState.currentPosition"
        meta[K.M_CHAIN] = cell(b, pos_key(pos, b.is_hex, where), where)
    elif isinstance(state.get("chainCapturePosition"), dict):  # contract vectors carry it here
        where = "state.chainCapturePosition"
        meta[K.M_CHAIN] = cell(b, pos_key(state["chainCapturePosition"], b.is_hex, where), where)
    meta[K.M_PENDING_LINE_ELIM] = boolean(extras.get("pendingLineRewardElimination"),
                                          "extras.pendingLineRewardElimination")
    _lps_from_reference(meta, extras, s.num_players)


def _board_from_reference(s: GameState, brd: dict) -> None:
    """Stacks, markers and collapsed spaces of ``state.board`` into ``s`` (fresh)."""
    b, num_players, meta = s.board, s.num_players, s.meta
    for key, st in field(brd, "stacks", "state.board", dict).items():
        where = f"state.board.stacks[{key!r}]"
        c = cell(b, key, where)
        rings = field(st, "rings", where, list)
        if not 0 < len(rings) <= s.rings.shape[1]:  # at most every ring of the game
            raise ValueError(f"{where}.rings: a stack holds 1..{s.rings.shape[1]} rings, "
                             f"got {len(rings)}")
        for i, r in enumerate(reversed(rings)):  # serialized top first
            s.rings[c, i] = player(r, num_players, f"{where}.rings")
        s.height[c] = len(rings)
        s.order[c] = meta[K.M_NEXT_ORDER]  # the stack map's insertion order
        meta[K.M_NEXT_ORDER] += 1
    for p in range(1, num_players + 1):
        if (on_board := int((s.rings == p).sum())) > b.rings_per_player:
            raise ValueError(f"state.board.stacks: {on_board} rings of player {p}, over the "
                             f"{b.rings_per_player} rings per player")
    for key, mk in field(brd, "markers", "state.board", dict).items():
        where = f"state.board.markers[{key!r}]"
        c = cell(b, key, where)
        if s.height[c]:
            raise ValueError(f"{where}: cell holds a stack and a marker")
        s.marker[c] = player(field(mk, "player", where), num_players, f"{where}.player")
    for key, owner in field(brd, "collapsedSpaces", "state.board", dict).items():
        where = f"state.board.collapsedSpaces[{key!r}]"
        c = cell(b, key, where)
        if s.height[c] or s.marker[c]:
            raise ValueError(f"{where}: collapsed cell also holds a stack or marker")
        s.collapsed[c] = player(owner, num_players, where)
    for key, cnt in obj(brd.get("eliminatedRings"), "state.board.eliminatedRings").items():
        integer(cnt, f"state.board.eliminatedRings[{key!r}]", 0)  # = credited totals


def _territory_minimum(state: dict, b, num_players: int, missing: str) -> int:
    if missing not in ("canonical", "legacy"):
        raise ValueError(f"missing_territory_minimum: expected 'canonical' or 'legacy', "
                         f"got {missing!r}")
    if "territoryVictoryMinimum" in state:
        return integer(state["territoryVictoryMinimum"], "state.territoryVictoryMinimum", 0)
    if missing == "canonical":
        return b.territory_minimum(num_players)
    return b.num_cells // 2 + 1


def _own_from_reference(s: GameState, own: Any) -> None:
    """Apply ``extras["ringriftRay"]``: ``meta`` holds ``{NAME: int}`` for scalar fields and
    ``{NAME: [v1, .., vP]}`` for per-player blocks (offset ``NAME`` + player); ``order``
    (optional) the nonzero stack creation stamps, ``{key: stamp}``. Only the fields
    `state_to_reference` writes are accepted, each within the values it can take (several
    index cells, players or name tables)."""
    own = obj(own, "extras.ringriftRay")
    if not own:
        return
    meta = s.meta
    if "order" in own:
        s.order[:] = 0
        for key, v in field(own, "order", "extras.ringriftRay", dict).items():
            where = f"extras.ringriftRay.order[{key!r}]"
            s.order[cell(s.board, key, where)] = integer(v, where, 0)
    fields = field(own, "meta", "extras.ringriftRay", dict)
    for name, v in fields.items():
        where = f"extras.ringriftRay.meta.{name}"
        lo, hi = _own_bounds(s, name)
        off = getattr(K, name)
        if name in _OWN_PER_PLAYER:
            if not isinstance(v, list) or len(v) != s.num_players:
                raise ValueError(f"{where}: expected one value per player, got {v!r}")
            for i, x in enumerate(v):
                meta[off + 1 + i] = integer(x, where, lo, hi)
        else:
            meta[off] = integer(v, where, lo, hi)


def _own_bounds(s: GameState, name: Any) -> tuple[int, int]:
    """The values private meta field ``name`` may hold.

    Raises:
        ValueError: a name `state_to_reference` does not write.
    """
    if name not in _OWN_SCALARS + _OWN_PER_PLAYER:
        raise ValueError(f"extras.ringriftRay.meta.{name}: unknown meta field")
    players = s.num_players
    return {"M_CHAIN": (-1, s.board.num_cells - 1), "M_PENDING_TERR_ELIM": (0, 2),
            "M_TURN_ACTED": (0, 1), "M_TURN_RECOVERY": (0, 1), "M_SWAPPED": (0, 1),
            "M_LPS_DUE": (0, 1), "M_VICTORY_REASON": (0, len(K.VICTORY_REASON_NAMES) - 1),
            "M_LAST_ACTOR": (0, players), "M_LAST_PLAYER": (0, players),
            "M_LAST_TYPE": (-1, len(K.MOVE_TYPE_NAMES) - 1),
            "M_BOARD_ELIM": (0, s.board.rings_per_player)}.get(name, (0, INT32_MAX))


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
    ``moveHistory`` holds the last mover's trailing moves as far as legality depends on them
    (`history.trailing_moves`; ``historyLength`` keeps the full count); the extras are those
    the trace format names. Read back without ``extras["ringriftRay"]`` they give the same
    legal moves and next state. That block carries the meta fields the reference lacks
    (``meta``) and the creation stamps (``order``), so ``state_from_reference(*
    state_to_reference(s))`` reproduces every array of ``s``.

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
        "moveHistory": trailing_moves(state),
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


def _lps_from_reference(meta, extras: dict, num_players: int) -> None:
    def opt_player(name):
        v = extras.get(name)
        return 0 if v is None else player(v, num_players, f"extras.{name}")

    meta[K.M_LPS_ROUND] = integer(extras.get("lpsRoundIndex", 0), "extras.lpsRoundIndex", 0)
    meta[K.M_LPS_FIRST] = opt_player("lpsCurrentRoundFirstPlayer")
    meta[K.M_LPS_EXCL_COMPLETED] = opt_player("lpsExclusivePlayerForCompletedRound")
    meta[K.M_LPS_CONSEC] = integer(extras.get("lpsConsecutiveExclusiveRounds", 0),
                                "extras.lpsConsecutiveExclusiveRounds", 0)
    meta[K.M_LPS_REQUIRED] = integer(extras.get("lpsRoundsRequired", 3), "extras.lpsRoundsRequired",
                                  0)
    meta[K.M_LPS_CONSEC_PLAYER] = opt_player("lpsConsecutiveExclusivePlayer")
    mask = obj(extras.get("lpsCurrentRoundActorMask"), "extras.lpsCurrentRoundActorMask")
    for p in range(1, num_players + 1):
        v = mask.get(str(p))
        where = f"extras.lpsCurrentRoundActorMask['{p}']"
        meta[K.M_LPS_MASK + p] = -1 if v is None else int(boolean(v, where))
