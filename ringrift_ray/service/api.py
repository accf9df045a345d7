"""The move service's HTTP contract: the reference AI service's ``/ai/move`` and
``/ai/moves_batch`` bodies, plus the difficulty table.

The request and response fields are those of the reference ``ai-service`` (FastAPI):
``MoveRequest {game_state, player_number, difficulty 1-10, ai_type?, seed?}`` ->
``MoveResponse {move, evaluation, thinking_time_ms, ai_type, difficulty, nn_checkpoint, ...}``
and ``BatchMoveRequest {game_states [1..64], player_numbers, difficulty, ...}`` ->
``BatchMoveResponse {moves [{move, evaluation, game_index}], ...}``. Unknown request fields
are ignored, as the reference does; our additions are optional (``state_extras``,
``timeout_ms``) or extra response fields (``move_text``, ``simulations``, ``nn_model_id``).

``game_state`` is the reference serialization (``game.state_from_reference``). Its shape is
checked here (a missing or mistyped field is a 422 naming it, e.g.
``game_state.board.stacks.3,3.rings``); what the rules think of it (counts that do not add
up, a finished game, a player that is not to move) is checked by ``positions.py`` (a 400).

Difficulty -> Gumbel search simulations per move (``DIFFICULTY_SIMULATIONS``; a server
started with ``CHECKPOINT:SIMS`` caps every budget at SIMS):

| difficulty  | 1 | 2 | 3 | 4 | 5  | 6  | 7  | 8   | 9   | 10  |
|-------------|---|---|---|---|----|----|----|-----|-----|-----|
| simulations | 1 | 2 | 4 | 8 | 16 | 32 | 64 | 128 | 256 | 512 |

One simulation plays a Gumbel-top-1 sample of the network's policy (a sample from it);
more simulations search more with sequential halving. A decision with one legal move is
answered without search.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ringrift_ray.game import BOARD_TYPES
from ringrift_ray.game import constants as K

DIFFICULTY_SIMULATIONS = {1: 1, 2: 2, 3: 4, 4: 8, 5: 16, 6: 32, 7: 64, 8: 128, 9: 256, 10: 512}
AI_TYPE = "gumbel_mcts"  # what ``ai_type`` answers: every move is a Gumbel search
MAX_BATCH = 64  # states per /ai/moves_batch request (the reference's bound)
SEED_MAX = 0x7FFFFFFF


def simulations_for(difficulty: int, cap: int | None = None) -> int:
    """Search simulations of ``difficulty`` (table above), at most ``cap``.

    Raises:
        ValueError: a difficulty outside 1..10.
    """
    if difficulty not in DIFFICULTY_SIMULATIONS:
        raise ValueError(f"difficulty must be 1..10, got {difficulty}")
    sims = DIFFICULTY_SIMULATIONS[difficulty]
    return sims if cap is None else max(1, min(sims, cap))


class _Lenient(BaseModel):
    """A reference JSON object: named fields are checked, others pass through."""

    model_config = ConfigDict(extra="allow")


class StackJSON(_Lenient):
    rings: list[int] = Field(min_length=1, description="ring owners, top ring first")


class MarkerJSON(_Lenient):
    player: int


class BoardJSON(_Lenient):
    type: Literal[BOARD_TYPES] = Field(description="square8, square19, hex8 or hexagonal")
    stacks: dict[str, StackJSON] = Field(default_factory=dict, description='by "x,y[,z]"')
    markers: dict[str, MarkerJSON] = Field(default_factory=dict)
    collapsedSpaces: dict[str, int] = Field(default_factory=dict, description="owner by key")
    eliminatedRings: dict[str, int] = Field(default_factory=dict)


class PlayerJSON(_Lenient):
    playerNumber: int
    ringsInHand: int
    eliminatedRings: int
    territorySpaces: int = 0


class GameStateJSON(_Lenient):
    """The fields of the reference serialized state that the rules read."""

    board: BoardJSON
    players: list[PlayerJSON] = Field(min_length=2, max_length=4)
    currentPlayer: int
    currentPhase: Literal[K.PHASE_NAMES]
    gameStatus: str = "active"
    moveHistory: list[dict[str, Any]] = Field(default_factory=list)
    turnNumber: int = 1


class MoveRequest(BaseModel):
    """``POST /ai/move``."""

    game_state: GameStateJSON = Field(description="reference serialized state")
    player_number: int = Field(ge=1, le=4, description="the player to move (1-based)")
    difficulty: int = Field(5, ge=1, le=10, description="1-10: search budget (table)")
    ai_type: str | None = Field(None, description="accepted and ignored: always Gumbel MCTS")
    seed: int | None = Field(None, ge=0, le=SEED_MAX,
                             description="same seed + same state = same answer")
    state_extras: dict[str, Any] | None = Field(
        None, description="ours: the trace's state_extras (chain capture, LPS counters, "
        "rules options); default: those keys read from game_state itself")
    timeout_ms: int | None = Field(None, ge=1, le=600_000,
                                   description="ours: deadline (504 past it)")

    @model_validator(mode="after")
    def _player_in_game(self) -> MoveRequest:
        if self.player_number > len(self.game_state.players):
            raise ValueError(f"player_number {self.player_number} exceeds the number of "
                             f"players ({len(self.game_state.players)})")
        return self


class MoveResponse(BaseModel):
    """The answer to ``POST /ai/move``."""

    move: dict[str, Any] | None = Field(description="reference Move JSON")
    evaluation: float = Field(description="search value for player_number, in [-1, 1]")
    thinking_time_ms: int
    ai_type: str = AI_TYPE
    difficulty: int
    heuristic_profile_id: str | None = None
    use_neural_net: bool = True
    nn_model_id: str | None = Field(None, description="ours: <board>_<P>p of the model")
    nn_checkpoint: str | None = Field(None, description="file name of the checkpoint")
    nnue_checkpoint: str | None = None
    move_text: str | None = Field(None, description="ours: canonical move text")
    simulations: int = Field(0, description="ours: search simulations run (0: forced move)")


class BatchMoveRequest(BaseModel):
    """``POST /ai/moves_batch``: 1..64 states, one player number each."""

    game_states: list[GameStateJSON] = Field(min_length=1, max_length=MAX_BATCH)
    player_numbers: list[int] = Field(min_length=1, max_length=MAX_BATCH)
    difficulty: int = Field(8, ge=1, le=10)
    mode: str = Field("batch", description="accepted and echoed (one batched search)")
    device: str = Field("auto", description="accepted and ignored (the server's device)")
    simulation_budget: int | None = Field(
        None, ge=1, le=1000, description="simulations per move; default: the difficulty's")
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="ours: state i uses seed+i")
    states_extras: list[dict[str, Any] | None] | None = Field(
        None, description="ours: state_extras per state")
    timeout_ms: int | None = Field(None, ge=1, le=600_000)

    @model_validator(mode="after")
    def _lengths(self) -> BatchMoveRequest:
        n = len(self.game_states)
        if len(self.player_numbers) != n:
            raise ValueError(f"game_states ({n}) and player_numbers "
                             f"({len(self.player_numbers)}) must have the same length")
        if self.states_extras is not None and len(self.states_extras) != n:
            raise ValueError(f"states_extras must have {n} entries")
        for i, (gs, p) in enumerate(zip(self.game_states, self.player_numbers, strict=True)):
            if not 1 <= p <= len(gs.players):
                raise ValueError(f"player_numbers[{i}] = {p} is not a player of game_states"
                                 f"[{i}] ({len(gs.players)} players)")
        return self


class BatchMoveItem(BaseModel):
    move: dict[str, Any] | None
    evaluation: float
    game_index: int
    move_text: str | None = None


class BatchMoveResponse(BaseModel):
    moves: list[BatchMoveItem]
    total_thinking_time_ms: int
    games_processed: int
    mode: str
    throughput_games_per_sec: float
