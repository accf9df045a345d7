"""Batched Gumbel search (Danihelka et al. 2022, "Policy improvement by planning with
Gumbel"), split as mctx splits it:

- `gumbel`: the policy (`gumbel_search`, pipelined `begin_step` / `end_step`) and the
  interfaces it takes (`GameFns`, `EvaluateFn`),
- `tree`: one search tree's arrays,
- `selection`: the sequential-halving schedule, completed Q-values, root and interior rules,
- `game_fns`: the adapter that plugs the RingRift rules and a network into those interfaces,
- `batched` / `batched_kernels`: the compiled batched search (every tree of a worker in one
  `Forest`, numba steps; the same answers as `gumbel`), and `game_kernels`, RingRift as its
  `CompiledGame` (selfplay's default: ``SearchConfig.tree = "compiled"``),
- `reuse`: subtree reuse on the compiled tree (``SearchConfig.subtree_reuse``).

`gumbel`, `tree`, `selection`, `batched`, `batched_kernels` and `reuse` never import the rules
(`ringrift_ray.game`) or the network (`ringrift_ray.net`); a test can hand them a bandit with
known values.
"""

from ringrift_ray.search.batched import (
    CompiledGame,
    Forest,
    LeafEvaluateFn,
    TreeSearch,
    batched_search,
    begin_forest_step,
    end_forest_step,
    new_forest,
    start_root,
    tree_result,
)
from ringrift_ray.search.game_fns import (
    forced_record,
    game_fns,
    network_evaluate,
    rank_values,
    terminal_values,
)
from ringrift_ray.search.game_kernels import compiled_game, leaf_evaluate
from ringrift_ray.search.gumbel import (
    EvaluateFn,
    GameFns,
    RootSearch,
    SearchResult,
    StepInFlight,
    begin_step,
    end_step,
    gumbel_search,
    network_thread,
    search_step,
    start_search,
)
from ringrift_ray.search.reuse import restart_root, reuse_root
from ringrift_ray.search.selection import completed_qvalues, visit_schedule

__all__ = [
    "CompiledGame",
    "EvaluateFn",
    "Forest",
    "LeafEvaluateFn",
    "TreeSearch",
    "batched_search",
    "begin_forest_step",
    "compiled_game",
    "end_forest_step",
    "leaf_evaluate",
    "new_forest",
    "start_root",
    "tree_result",
    "GameFns",
    "RootSearch",
    "SearchResult",
    "StepInFlight",
    "begin_step",
    "completed_qvalues",
    "end_step",
    "forced_record",
    "game_fns",
    "gumbel_search",
    "network_evaluate",
    "network_thread",
    "rank_values",
    "restart_root",
    "reuse_root",
    "search_step",
    "start_search",
    "terminal_values",
    "visit_schedule",
]
