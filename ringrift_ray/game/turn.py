"""The turn state machine: legal moves per phase and move application (RR-CANON-R070..R075,
R200..R209). Every decision, bookkeeping included, is an explicit move.

``gen_legal`` fills ``out [MAX_MOVES, MOVE_WIDTH]`` with the current player's legal move
records and returns their count; ``apply_record`` applies one record in place. Neither
validates: ``engine.py`` checks a move against ``gen_legal`` before applying it.
"""

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    CAPTURE,
    CHAIN_CAPTURE,
    CHOOSE_LINE_OPTION,
    CHOOSE_TERRITORY_OPTION,
    CONTINUE_CAPTURE_SEGMENT,
    CTX_LINE,
    CTX_RECOVERY,
    CTX_TERRITORY,
    ELIMINATE_RINGS_FROM_STACK,
    F_A,
    F_B,
    F_C,
    F_D,
    F_E,
    FORCED_ELIMINATION,
    FORCED_ELIMINATION_MOVE,
    LINE_PROCESSING,
    M_ACTIVE,
    M_CHAIN,
    M_CURRENT,
    M_HAND,
    M_HISTORY,
    M_LAST_PLAYER,
    M_LAST_TYPE,
    M_LINE_LEN,
    M_LPS_DUE,
    M_MUST_MOVE,
    M_PENDING_LINE_ELIM,
    M_PENDING_TERR_ELIM,
    M_PHASE,
    M_TURN,
    M_TURN_ACTED,
    M_TURN_RECOVERY,
    MOVE_STACK,
    MOVEMENT,
    NO_LINE_ACTION,
    NO_MOVEMENT_ACTION,
    NO_PLACEMENT_ACTION,
    NO_TERRITORY_ACTION,
    OVERTAKING_CAPTURE,
    PLACE_RING,
    PROCESS_LINE,
    RECOVERY_SLIDE,
    SKIP_CAPTURE,
    SKIP_PLACEMENT,
    SKIP_RECOVERY,
    SKIP_TERRITORY_PROCESSING,
    SWAP_SIDES,
    TERRITORY_PROCESSING,
    VICTORY_LAST_PLAYER_STANDING,
)
from ringrift_ray.game.lines import collapse_run, find_lines, gen_line_moves
from ringrift_ray.game.lps import lps_victory
from ringrift_ray.game.movement import apply_movement, emit, gen_captures, gen_simple_moves
from ringrift_ray.game.placement import any_stack_action, apply_placement, gen_placements
from ringrift_ray.game.recovery import (
    apply_recovery,
    controls_any_stack,
    gen_recovery,
    recovery_eligible,
)
from ringrift_ray.game.stacks import cap_height, eliminate_top, extract_bottommost
from ringrift_ray.game.swap import apply_swap, swap_available
from ringrift_ray.game.territory import (
    EXPLICIT_REGION,
    apply_region,
    gen_territory,
    region_cells,
)
from ringrift_ray.game.victory import check_victory, end_turn, finish, mark_permanent_eliminations


@njit
def _gen_stack_eliminations(rings, height, player, ctx, out, n):
    """One elimination move per stack whose top ring is ``player``'s."""
    for c in range(height.shape[0]):
        h = height[c]
        if h > 0 and rings[c, h - 1] == player:
            if ctx < 0:
                n = emit(out, n, FORCED_ELIMINATION_MOVE, player, -1, c, -1)
            else:
                n = emit(out, n, ELIMINATE_RINGS_FROM_STACK, player, -1, c, -1)
                out[n - 1, F_A] = ctx
    return n


@njit
def _gen_recovery_extractions(rings, height, player, out, n):
    """Territory self-elimination after a recovery: extract a buried ring (RR-CANON-R114)."""
    for c in range(height.shape[0]):
        h = height[c]
        for k in range(h - 1):
            if rings[c, k] == player:
                n = emit(out, n, ELIMINATE_RINGS_FROM_STACK, player, -1, c, -1)
                out[n - 1, F_A] = CTX_RECOVERY
                break
    return n


@njit
def _gen_movement(step, rings, height, marker, collapsed, order, meta, player, out, n):
    must = meta[M_MUST_MOVE]
    for c in range(height.shape[0]):
        h = height[c]
        if h == 0 or rings[c, h - 1] != player or (must >= 0 and c != must):
            continue
        n = gen_simple_moves(step, height, collapsed, c, player, MOVE_STACK, out, n)
        n = gen_captures(step, rings, height, collapsed, c, player, OVERTAKING_CAPTURE, out, n)
    if n == 0 and must < 0 and recovery_eligible(rings, height, marker, player):
        n = gen_recovery(step, rings, height, marker, collapsed, order, player, meta[M_LINE_LEN],
                         out, n)
        n = emit(out, n, SKIP_RECOVERY, player, -1, -1, -1)
    return n


@njit
def gen_legal(step, tadj, rings, height, marker, collapsed, order, meta, out):
    """Legal move records of the current player; returns the count (>= 1 while active)."""
    player = meta[M_CURRENT]
    phase = meta[M_PHASE]
    n = 0
    if phase == 0:  # ring_placement
        if swap_available(meta):
            n = emit(out, n, SWAP_SIDES, player, -1, -1, -1)
        n = gen_placements(step, rings, height, marker, collapsed, meta, player, out, n)
        if meta[M_HAND + player] > 0 and (
            any_stack_action(step, rings, height, collapsed, player)
            or recovery_eligible(rings, height, marker, player)
        ):
            n = emit(out, n, SKIP_PLACEMENT, player, -1, -1, -1)
        if n == 0:
            n = emit(out, n, NO_PLACEMENT_ACTION, player, -1, -1, -1)
    elif phase == MOVEMENT:
        n = _gen_movement(step, rings, height, marker, collapsed, order, meta, player, out, n)
        if n == 0:
            n = emit(out, n, NO_MOVEMENT_ACTION, player, -1, -1, -1)
    elif phase == CAPTURE:
        n = gen_captures(step, rings, height, collapsed, meta[M_CHAIN], player, OVERTAKING_CAPTURE,
                         out, n)
        n = emit(out, n, SKIP_CAPTURE, player, -1, -1, -1)
    elif phase == CHAIN_CAPTURE:
        n = gen_captures(step, rings, height, collapsed, meta[M_CHAIN], player,
                         CONTINUE_CAPTURE_SEGMENT, out, n)
    elif phase == LINE_PROCESSING:
        if meta[M_PENDING_LINE_ELIM]:
            n = _gen_stack_eliminations(rings, height, player, CTX_LINE, out, n)
        else:
            n = gen_line_moves(step, marker, player, meta[M_LINE_LEN], out, n)
            if n == 0:
                n = emit(out, n, NO_LINE_ACTION, player, -1, -1, -1)
    elif phase == TERRITORY_PROCESSING:
        pending = meta[M_PENDING_TERR_ELIM]
        if pending == 1:
            n = _gen_stack_eliminations(rings, height, player, CTX_TERRITORY, out, n)
        elif pending == 2:
            n = _gen_recovery_extractions(rings, height, player, out, n)
        else:
            n = gen_territory(tadj, rings, height, marker, collapsed, meta, player, out, n)
            if n > 0:
                n = emit(out, n, SKIP_TERRITORY_PROCESSING, player, -1, -1, -1)
            else:
                n = emit(out, n, NO_TERRITORY_ACTION, player, -1, -1, -1)
    elif phase == FORCED_ELIMINATION:
        n = _gen_stack_eliminations(rings, height, player, -1, out, n)
    return n


@njit
def _has_territory_decision(tadj, rings, height, marker, collapsed, meta, player, out):
    return gen_territory(tadj, rings, height, marker, collapsed, meta, player, out, 0) > 0


@njit
def _after_lines(tadj, rings, height, marker, collapsed, meta, player, scratch):
    """Leave line processing: forced elimination when the player did nothing this turn,
    still controls a stack and has no territory decision; else territory processing."""
    if (
        meta[M_TURN_ACTED] == 0
        and controls_any_stack(rings, height, player)
        and not _has_territory_decision(tadj, rings, height, marker, collapsed, meta, player,
                                        scratch)
    ):
        meta[M_PHASE] = FORCED_ELIMINATION
    else:
        meta[M_PHASE] = TERRITORY_PROCESSING


@njit
def _after_capture_landing(step, rings, height, collapsed, meta, player, landing, phase, scratch):
    """Enter ``phase`` (capture / chain_capture) if the landed stack is still the player's
    and can capture again, else line processing (RR-CANON-R093, R103)."""
    h = height[landing]
    if h > 0 and rings[landing, h - 1] == player:
        if gen_captures(step, rings, height, collapsed, landing, player, 0, scratch, 0) > 0:
            meta[M_PHASE] = phase
            meta[M_CHAIN] = landing
            return
    meta[M_CHAIN] = -1
    meta[M_PHASE] = LINE_PROCESSING


@njit
def _after_line_collapse(step, tadj, rings, height, marker, collapsed, meta, player, scratch):
    if find_lines(step, marker, player, meta[M_LINE_LEN]).shape[0] > 0:
        meta[M_PHASE] = LINE_PROCESSING
    else:
        _after_lines(tadj, rings, height, marker, collapsed, meta, player, scratch)


@njit
def apply_record(step, tadj, badj, rings, height, marker, collapsed, order, meta, mv, scratch):
    """Apply the legal move record ``mv`` for the current player, in place, then run the
    victory checks (the reference checks after every move).

    ``scratch`` is a `[MAX_MOVES, MOVE_WIDTH]` int32 buffer for look-ahead generation.
    """
    meta[M_HISTORY] += 1
    meta[M_TURN] = meta[M_HISTORY] + 1
    meta[M_LAST_TYPE] = mv[0]
    meta[M_LAST_PLAYER] = mv[1]
    _apply_effects(step, tadj, badj, rings, height, marker, collapsed, order, meta, mv, scratch)
    if meta[M_ACTIVE] and not check_victory(step, rings, height, marker, collapsed, meta):
        if meta[M_LPS_DUE]:
            w = lps_victory(step, rings, height, marker, collapsed, meta, scratch)
            if w:
                finish(meta, w, VICTORY_LAST_PLAYER_STANDING)
    meta[M_LPS_DUE] = 0
    mark_permanent_eliminations(rings, height, meta)


@njit
def _apply_effects(step, tadj, badj, rings, height, marker, collapsed, order, meta, mv, scratch):
    t = mv[0]
    player = mv[1]
    if t != NO_PLACEMENT_ACTION and t != NO_MOVEMENT_ACTION and t != NO_LINE_ACTION \
            and t != NO_TERRITORY_ACTION and t != SKIP_PLACEMENT and t != SWAP_SIDES \
            and t != SKIP_TERRITORY_PROCESSING:
        meta[M_TURN_ACTED] = 1
    if t == PLACE_RING:
        apply_placement(rings, height, order, meta, player, mv[3], mv[F_A])
        meta[M_MUST_MOVE] = mv[3]
        meta[M_PHASE] = MOVEMENT
    elif t == SKIP_PLACEMENT or t == NO_PLACEMENT_ACTION:
        meta[M_PHASE] = MOVEMENT
    elif t == SWAP_SIDES:
        apply_swap(meta)
    elif t == MOVE_STACK:
        apply_movement(step, rings, height, marker, collapsed, order, meta, player, mv[2], mv[3],
                       -1)
        meta[M_MUST_MOVE] = -1
        _after_capture_landing(step, rings, height, collapsed, meta, player, mv[3], CAPTURE,
                               scratch)
    elif t == OVERTAKING_CAPTURE or t == CONTINUE_CAPTURE_SEGMENT:
        apply_movement(step, rings, height, marker, collapsed, order, meta, player, mv[2], mv[3],
                       mv[4])
        meta[M_MUST_MOVE] = -1
        _after_capture_landing(step, rings, height, collapsed, meta, player, mv[3],
                               CHAIN_CAPTURE, scratch)
    elif t == SKIP_CAPTURE or t == NO_MOVEMENT_ACTION or t == SKIP_RECOVERY:
        meta[M_CHAIN] = -1
        meta[M_PHASE] = LINE_PROCESSING
    elif t == RECOVERY_SLIDE:
        apply_recovery(step, rings, height, marker, collapsed, order, meta, mv)
        meta[M_TURN_RECOVERY] = 1
        meta[M_PHASE] = LINE_PROCESSING
    elif t == PROCESS_LINE or t == CHOOSE_LINE_OPTION:
        if t == PROCESS_LINE:
            collapse_run(step, marker, collapsed, meta, mv[F_A], mv[F_B], mv[F_C], player)
            whole = True
        else:
            collapse_run(step, marker, collapsed, meta, mv[F_D], mv[F_B], mv[F_E], player)
            whole = mv[F_E] == mv[F_C]
        if whole and controls_any_stack(rings, height, player):
            meta[M_PENDING_LINE_ELIM] = 1
        else:
            _after_line_collapse(step, tadj, rings, height, marker, collapsed, meta, player,
                                 scratch)
    elif t == NO_LINE_ACTION:
        _after_lines(tadj, rings, height, marker, collapsed, meta, player, scratch)
    elif t == CHOOSE_TERRITORY_OPTION:
        if mv[F_B] == EXPLICIT_REGION:
            cells = scratch[: mv[F_C], 0].copy()
        else:
            cells = region_cells(tadj, marker, collapsed, mv[F_A], mv[F_B])
        apply_region(tadj, badj, rings, height, marker, collapsed, meta, player, cells)
        meta[M_PENDING_TERR_ELIM] = 2 if meta[M_TURN_RECOVERY] else 1
    elif t == ELIMINATE_RINGS_FROM_STACK:
        ctx = mv[F_A]
        if ctx == CTX_LINE:
            eliminate_top(rings, height, meta, mv[3], player, 1)
            meta[M_PENDING_LINE_ELIM] = 0
        elif ctx == CTX_RECOVERY:
            extract_bottommost(rings, height, meta, mv[3], player)
            meta[M_PENDING_TERR_ELIM] = 0
            if check_victory(step, rings, height, marker, collapsed, meta):
                return
            _after_region(step, tadj, rings, height, marker, collapsed, meta, player, scratch)
        else:
            eliminate_top(rings, height, meta, mv[3], player, cap_height(rings, height, mv[3]))
            meta[M_PENDING_TERR_ELIM] = 0
            if check_victory(step, rings, height, marker, collapsed, meta):
                return
            _after_region(step, tadj, rings, height, marker, collapsed, meta, player, scratch)
    elif t == SKIP_TERRITORY_PROCESSING or t == NO_TERRITORY_ACTION:
        _territory_complete(step, tadj, rings, height, marker, collapsed, meta, player, scratch)
    elif t == FORCED_ELIMINATION_MOVE:
        eliminate_top(rings, height, meta, mv[3], player, cap_height(rings, height, mv[3]))
        end_turn(step, rings, height, marker, collapsed, meta, scratch)


@njit
def _territory_complete(step, tadj, rings, height, marker, collapsed, meta, player, scratch):
    """Forced elimination if the player did nothing this turn but controls a stack, else
    end of turn (RR-CANON-R073, R204)."""
    if meta[M_TURN_ACTED] == 0 and controls_any_stack(rings, height, player):
        meta[M_PHASE] = FORCED_ELIMINATION
    else:
        end_turn(step, rings, height, marker, collapsed, meta, scratch)


@njit
def _after_region(step, tadj, rings, height, marker, collapsed, meta, player, scratch):
    """After a region's self-elimination: offer the remaining regions, or finish."""
    if _has_territory_decision(tadj, rings, height, marker, collapsed, meta, player, scratch):
        meta[M_PHASE] = TERRITORY_PROCESSING
    else:
        _territory_complete(step, tadj, rings, height, marker, collapsed, meta, player, scratch)
