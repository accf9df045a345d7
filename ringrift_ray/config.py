"""Configuration models (pydantic v2, frozen, unknown keys rejected) and YAML loading.

One model per concern; library code takes the narrow model it needs (e.g. `SearchConfig`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ringrift_ray.game.geometry import BOARD_TYPES


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GameConfig(_Frozen):
    """Which RingRift variant to play."""

    board: str = Field("square8", description=f"board type, one of {BOARD_TYPES}")
    players: int = Field(2, ge=2, le=4, description="number of players (2-4)")
    swap_rule: bool = Field(False, description="2-player pie rule (swap_sides) enabled")

    def model_post_init(self, __context) -> None:
        if self.board not in BOARD_TYPES:
            raise ValueError(f"board must be one of {BOARD_TYPES}, got {self.board!r}")
        if self.swap_rule and self.players != 2:
            raise ValueError("swap_rule needs players == 2")


class SearchConfig(_Frozen):
    """Gumbel MuZero / AlphaZero search (Danihelka et al., ICLR 2022; mctx names)."""

    num_simulations: int = Field(32, ge=1, description="simulations per searched move")
    max_num_considered_actions: int = Field(
        16, ge=1, description="k of Gumbel-top-k: root actions entering sequential halving")
    gumbel_scale: float = Field(
        1.0, ge=0.0, description="scale of the root Gumbel noise (0 = deterministic top-k)")
    c_visit: float = Field(50.0, gt=0.0, description="sigma(q) = (c_visit + max N) * c_scale * q")
    c_scale: float = Field(
        1.0, gt=0.0, description="see c_visit; 1.0 as in the paper (mctx's value_scale is 0.1)")
    rescale_values: bool = Field(
        True, description="min-max normalize completed Q-values per node to [0, 1] before sigma")


class SelfplayConfig(_Frozen):
    """Selfplay: batched games, move choice, playout-cap randomization (KataGo)."""

    games_per_batch: int = Field(32, ge=1, description="games played at once (one net call "
                                 "per search step for all of them)")
    full_search_prob: float = Field(
        0.25, ge=0.0, le=1.0, description="fraction of decisions searched with the full "
        "num_simulations and recorded as policy targets; the rest use cheap_simulations")
    cheap_simulations: int = Field(8, ge=1, description="simulations of the cheap searches")
    temperature_moves: int = Field(
        16, ge=0, description="decisions per game (from the start) whose move is sampled from "
        "the improved policy at `temperature` instead of taking the halving winner")
    temperature: float = Field(1.0, gt=0.0, description="sampling temperature of the opening")
    max_moves: int = Field(3000, ge=1, description="move cap per game (bookkeeping moves "
                           "included); capped games get value target 0 for every seat")
    policy_top_k: int = Field(32, ge=1, description="policy-target entries kept per sample "
                              "(largest probabilities, renormalized)")


class BufferConfig(_Frozen):
    """Replay buffer: FIFO window per (board, players), sampling, replay-ratio rate limit.

    Recency weighting: the sample of age ``a`` (0 = newest, ``size - 1`` = oldest of the
    ``size`` held) is drawn with probability proportional to
    ``exp(-recency_weight * a / size)``, so the newest sample is ``exp(recency_weight)``
    times as likely as the oldest; 0 is uniform.

    Rate limit (per configuration, like Reverb's ``SampleToInsertRatio``): with
    ``budget = target_replay_ratio * added - sampled`` (both counted since the buffer
    started; restored samples count as neither), `sample` is refused while
    ``budget <= 0`` (the trainer is ahead) and `add` reports ``throttle`` while
    ``budget > throttle_slack`` (selfplay is ahead). The two never hold at once.
    """

    capacity: int = Field(1_000_000, ge=1, description="samples kept per (board, players) "
                          "configuration; the oldest are dropped first (FIFO window)")
    min_samples: int = Field(10_000, ge=1, description="samples a configuration must hold "
                             "before `sample` returns anything")
    recency_weight: float = Field(
        0.0, ge=0.0, description="0 = uniform sampling; > 0 draws the sample of age a "
        "(0 = newest) with weight exp(-recency_weight * a / size)")
    target_replay_ratio: float | None = Field(
        None, gt=0.0, description="samples trained per sample generated (Reverb's "
        "samples_per_insert); None disables throttling in both directions")
    throttle_slack: int = Field(
        65_536, ge=0, description="trainer budget (target_replay_ratio * added - sampled, in "
        "samples) that may build up before `add` tells selfplay to wait")
    policy_width: int = Field(
        32, ge=1, description="policy entries per sample in the padded layout (match "
        "SelfplayConfig.policy_top_k); a wider batch widens the store, logged once")

    def model_post_init(self, __context) -> None:
        if self.min_samples > self.capacity:
            raise ValueError(f"min_samples ({self.min_samples}) exceeds capacity "
                             f"({self.capacity})")


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def load_yaml(path: str | Path, model: type[ConfigT]) -> ConfigT:
    """Load ``path`` into ``model``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable YAML or fields that fail validation (pydantic names them).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return model.model_validate(data)
