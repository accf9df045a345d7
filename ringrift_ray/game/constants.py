"""Integer codes shared by the compiled rules kernels: phases, move types, array layouts.

The state of one game is six arrays (see ``state.py``):

| array       | dtype | shape     | meaning                                              |
|-------------|-------|-----------|------------------------------------------------------|
| `rings`     | int8  | `[N, R]`  | ring colours (player 1..P) bottom -> top, R = all rings |
| `height`    | int16 | `[N]`     | stack height, 0 = no stack                           |
| `marker`    | int8  | `[N]`     | marker owner, 0 = none                               |
| `collapsed` | int8  | `[N]`     | collapsed-space owner, 0 = not collapsed             |
| `order`     | int32 | `[N]`     | stack creation stamp (the reference's stack-map order) |
| `meta`      | int32 | `[META]`  | scalars and per-player counters, offsets below       |

A move is an int32 record of ``MOVE_WIDTH`` fields (offsets ``F_*``).
"""

# ---- phases (GamePhase) -------------------------------------------------------------------
RING_PLACEMENT = 0
MOVEMENT = 1
CAPTURE = 2
CHAIN_CAPTURE = 3
LINE_PROCESSING = 4
TERRITORY_PROCESSING = 5
FORCED_ELIMINATION = 6
GAME_OVER = 7
PHASE_NAMES = (
    "ring_placement",
    "movement",
    "capture",
    "chain_capture",
    "line_processing",
    "territory_processing",
    "forced_elimination",
    "game_over",
)

# ---- move types -----------------------------------------------------------------------------
PLACE_RING = 0
SKIP_PLACEMENT = 1
NO_PLACEMENT_ACTION = 2
MOVE_STACK = 3
OVERTAKING_CAPTURE = 4
CONTINUE_CAPTURE_SEGMENT = 5
SKIP_CAPTURE = 6
NO_MOVEMENT_ACTION = 7
PROCESS_LINE = 8
CHOOSE_LINE_OPTION = 9
NO_LINE_ACTION = 10
CHOOSE_TERRITORY_OPTION = 11
SKIP_TERRITORY_PROCESSING = 12
NO_TERRITORY_ACTION = 13
ELIMINATE_RINGS_FROM_STACK = 14
FORCED_ELIMINATION_MOVE = 15
RECOVERY_SLIDE = 16
SKIP_RECOVERY = 17
SWAP_SIDES = 18
MOVE_TYPE_NAMES = (
    "place_ring",
    "skip_placement",
    "no_placement_action",
    "move_stack",
    "overtaking_capture",
    "continue_capture_segment",
    "skip_capture",
    "no_movement_action",
    "process_line",
    "choose_line_option",
    "no_line_action",
    "choose_territory_option",
    "skip_territory_processing",
    "no_territory_action",
    "eliminate_rings_from_stack",
    "forced_elimination",
    "recovery_slide",
    "skip_recovery",
    "swap_sides",
)

# eliminate_rings_from_stack contexts
CTX_LINE = 0
CTX_TERRITORY = 1
CTX_FORCED = 2
CTX_RECOVERY = 3
CTX_NAMES = ("line", "territory", "forced", "recovery")

# recovery modes
MODE_LINE = 0
MODE_FALLBACK = 1
MODE_STACK_STRIKE = 2
MODE_NAMES = ("line", "fallback", "stack_strike")

# ---- move record fields -------------------------------------------------------------------
F_TYPE = 0
F_PLAYER = 1
F_FROM = 2  # cell or -1
F_TO = 3  # cell or -1 (placement / landing / elimination target)
F_CAP = 4  # captured stack cell (captures)
F_A = 5  # n (place_ring) | ctx (eliminate) | mode (recovery) | line start (lines) | region cell
F_B = 6  # line direction | recovery option (0 = none, 1, 2) | region size
F_C = 7  # line length | recovery line start
F_D = 8  # collapse start cell (line option / recovery) | recovery line direction
F_E = 9  # collapse length (line option) | recovery line length
F_X = 10  # recovery extraction stack cell or -1 | recovery collapse start cell
MOVE_WIDTH = 11

# ---- meta layout ------------------------------------------------------------------------------
M_NUM_PLAYERS = 0
M_CURRENT = 1
M_PHASE = 2
M_ACTIVE = 3  # 1 while the game is active, 0 once finished
M_WINNER = 4  # 0 = none
M_MUST_MOVE = 5  # cell the placed stack must move from, -1 none
M_CHAIN = 6  # chain capture position, -1 none
M_PENDING_LINE_ELIM = 7  # 1 after a line collapse that requires eliminate_rings_from_stack
M_PENDING_TERR_ELIM = 8  # 0 none, 1 territory ctx, 2 recovery ctx (region processed, cost due)
M_TURN = 9  # turnNumber of the serialized state
M_HISTORY = 10  # moves applied (historyLength)
M_LINE_LEN = 11
M_VICTORY_THRESHOLD = 12
M_TERRITORY_MIN = 13
M_RINGS_PER_PLAYER = 14
M_SWAP_RULE = 15  # pie rule enabled
M_TURN_ACTED = 16  # the current player changed the board this turn
M_TURN_RECOVERY = 17  # the current player's movement this turn was a recovery_slide
M_VICTORY_REASON = 18
M_LAST_ACTOR = 19  # last player to complete a turn action (stalemate tiebreak)
M_LPS_ROUND = 20
M_LPS_FIRST = 21  # lpsCurrentRoundFirstPlayer, 0 = none
M_LPS_EXCL_COMPLETED = 22  # lpsExclusivePlayerForCompletedRound, 0 = none
M_LPS_CONSEC = 23  # lpsConsecutiveExclusiveRounds
M_LPS_REQUIRED = 24  # lpsRoundsRequired
M_LPS_CONSEC_PLAYER = 25  # lpsConsecutiveExclusivePlayer, 0 = none
M_TURN_LEN = 26  # trailing moves of the current mover (moveHistory length kept)
M_SWAPPED = 27  # swap_sides already used
M_LAST_TYPE = 28  # type of the last applied move, -1 none
M_LAST_PLAYER = 29  # player of the last applied move
M_TURNS_COMPLETED = 30  # turns completed in the game (for the pie rule)
M_PLAYER_TURN = 31  # 1 + number of changes of the player to move (trace `turn`)
# per-player blocks: offset + player (players numbered 1..4, index 0 unused)
M_HAND = 32
M_ELIM = 37  # rings credited to the player (players[].eliminatedRings)
M_TERR = 42  # territorySpaces
M_BOARD_ELIM = 47  # rings of the player's colour eliminated (board.eliminatedRings)
M_ELIM_TURN = 52  # turn the player was permanently eliminated, 0 = never
M_LPS_MASK = 57  # lpsCurrentRoundActorMask: -1 absent, 0 false, 1 true
M_LPS_DUE = 62  # a turn just started: the LPS victory test runs after the move's checks
M_NEXT_ORDER = 63  # next stack creation stamp (see `order`)
META_SIZE = 64

VICTORY_NONE = 0
VICTORY_RING_ELIMINATION = 1
VICTORY_TERRITORY = 2
VICTORY_LAST_PLAYER_STANDING = 3
VICTORY_STRUCTURAL = 4
VICTORY_REASON_NAMES = ("", "ring_elimination", "territory", "last_player_standing", "structural")

MAX_MOVES = 8192  # capacity of the legal-move buffer
