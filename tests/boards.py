"""Hand-built square8 positions from ASCII diagrams (minigo style) for the rule tests.

Each rule test draws a position, loads it through the reference serialization and checks
the legal moves (canonical texts) or the result of ``apply_move``. Where the reference
engine departs from the written rules, the traces decide and the test says so.
"""

from __future__ import annotations

from ringrift_ray.game import apply_move, board, legal_moves, move_to_text, state_from_reference

EMPTY_ROW = ". . . . . . . ."

CAPTURE = """
    11 . 22 . . 222 . .
    . . . . . . . .
    21 . . . . . . .
"""
"""Player 1's ``11`` on 0,0 can capture 2,0 and 0,2 but not 5,0 (cap 3); used by the capture
tests and the pure-``apply_move`` test."""


def position(diagram: str, *, players: int = 2, to_move: int = 1, phase: str = "movement",
             hand: dict | None = None, credited: dict | None = None):
    """A square8 `GameState` from an ASCII diagram, row ``y = 0`` first, ``x`` across.

    Cells: ``.`` empty, ``m2`` marker of player 2, ``#1`` collapsed space of player 1, and a
    stack as its ring colours **top first** (``112``: two rings of player 1 on a ring of 2).
    Missing rows are empty. ``hand`` defaults to the rings of each colour not on the board;
    ``credited`` (rings credited as eliminated) to 0; territory counts the ``#p`` cells.
    """
    b = board("square8")
    rows = [r.split() for r in diagram.strip().splitlines()]
    rows += [EMPTY_ROW.split()] * (b.size - len(rows))
    stacks, markers, collapsed = {}, {}, {}
    on_board = dict.fromkeys(range(1, players + 1), 0)
    for y, row in enumerate(rows):
        assert len(row) == b.size, f"row {y} has {len(row)} cells"
        for x, tok in enumerate(row):
            key, pos = f"{x},{y}", {"x": x, "y": y}
            if tok.startswith("m"):
                markers[key] = {"position": pos, "player": int(tok[1:])}
            elif tok.startswith("#"):
                collapsed[key] = int(tok[1:])
            elif tok != ".":
                rings = [int(ch) for ch in tok]
                for r in rings:
                    on_board[r] += 1
                cap = next((i for i, r in enumerate(rings) if r != rings[0]), len(rings))
                stacks[key] = {"position": pos, "rings": rings, "stackHeight": len(rings),
                               "capHeight": cap, "controllingPlayer": rings[0]}
    hand, credited = hand or {}, credited or {}
    state = {
        "board": {"type": "square8", "size": b.size, "stacks": stacks, "markers": markers,
                  "collapsedSpaces": collapsed, "eliminatedRings": {}},
        "players": [{"playerNumber": p,
                     "ringsInHand": hand.get(p, b.rings_per_player - on_board[p]),
                     "eliminatedRings": credited.get(p, 0),
                     "territorySpaces": sum(v == p for v in collapsed.values())}
                    for p in range(1, players + 1)],
        "currentPlayer": to_move, "currentPhase": phase, "gameStatus": "active",
        "winner": None, "turnNumber": 10, "historyLength": 10, "moveHistory": [],
        "maxPlayers": players,
    }
    return state_from_reference(state)


def no_hands(players: int = 2) -> dict:
    return dict.fromkeys(range(1, players + 1), 0)


def texts(state) -> list[str]:
    return sorted(move_to_text(m) for m in legal_moves(state))


def at(state, key: str) -> list[int]:
    """Ring colours of the stack at ``key``, bottom -> top."""
    return state.stack(state.board.cell(key))


def marker(state, key: str) -> int:
    return int(state.marker[state.board.cell(key)])


def collapsed(state, key: str) -> int:
    return int(state.collapsed[state.board.cell(key)])


def finish_turn(state):
    """Apply the forced (single) decisions until the turn passes or the game ends."""
    player = state.current_player
    while state.is_active and state.current_player == player:
        moves = texts(state)
        assert len(moves) == 1, f"expected one forced move, got {moves}"
        state = apply_move(state, moves[0])
    return state


def finish_turn_until(state, phase: str):
    """Apply the forced (single) decisions until the game reaches ``phase``."""
    while state.phase != phase:
        moves = texts(state)
        assert len(moves) == 1, moves
        state = apply_move(state, moves[0])
    return state
