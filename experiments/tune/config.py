"""Configs of the Ray Tune experiments: population-based training (``experiments/pbt.py``)
and hyperparameter search (``experiments/tune_search.py``).

Each is the main job's `AlphaZeroConfig` plus one section (``pbt:`` or ``tuning:``), in one
YAML file, overridable with ``--set KEY=VALUE`` like the main job. The values Tune samples
or explores are dotted keys of the main config (``train.lr``, ``search.c_visit``); every
value a trial runs with goes through `config.with_overrides`, i.e. is validated by the same
pydantic models as the main job's config. `Distribution` turns one entry into a Tune
search domain.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ray import tune

from ringrift_ray.config import AlphaZeroConfig, with_overrides


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Distribution(_Frozen):
    """Where one hyperparameter lives: a list of ``values`` (categorical; PBT's explore
    moves to a neighbouring entry) or a range ``[low, high]`` (``log`` for a log-uniform
    draw; PBT's explore multiplies by a perturbation factor, clipped to the range)."""

    values: list[Any] | None = Field(None, min_length=1, description="categorical values")
    low: float | None = Field(None, description="lower end of a continuous range")
    high: float | None = Field(None, description="upper end of a continuous range")
    log: bool = Field(False, description="sample the range log-uniformly (low > 0)")

    @model_validator(mode="after")
    def _one_kind(self) -> Distribution:
        ranged = self.low is not None or self.high is not None
        if (self.values is None) == (not ranged):
            raise ValueError("give either values: [...] or low/high")
        if ranged and (self.low is None or self.high is None or not self.low < self.high):
            raise ValueError(f"need low < high, got low={self.low} high={self.high}")
        if ranged and self.log and self.low <= 0:
            raise ValueError(f"log range needs low > 0, got {self.low}")
        return self

    def domain(self) -> tune.search.sample.Domain:
        """The Tune search domain (``tune.choice`` / ``tune.uniform`` / ``tune.loguniform``)."""
        if self.values is not None:
            return tune.choice(self.values)
        return (tune.loguniform if self.log else tune.uniform)(self.low, self.high)

    def endpoints(self) -> list[Any]:
        """Values to validate against the config models: every value, or both ends."""
        return list(self.values) if self.values is not None else [self.low, self.high]


def validate_space(base: AlphaZeroConfig, space: dict[str, Distribution],
                   prefixes: tuple[str, ...]) -> None:
    """Check that every key of ``space`` starts with one of ``prefixes`` and that every
    value (or both ends of a range) is valid for ``base`` (`config.with_overrides`).

    Raises:
        ValueError: naming the key and the problem.
    """
    for key, dist in space.items():
        if not key.startswith(prefixes):
            raise ValueError(f"{key}: only keys under {', '.join(prefixes)} can be tuned here")
        for value in dist.endpoints():
            try:
                with_overrides(base, {key: value})
            except ValueError as e:
                raise ValueError(f"{key} = {value!r} is not a valid config value: {e}") from None


def clip_to_space(config: dict, space: dict[str, Distribution]) -> dict:
    """PBT's ``custom_explore_fn``: clip perturbed continuous values into their range (PBT
    multiplies by 0.8 / 1.2 without bounds)."""
    out = dict(config)
    for key, dist in space.items():
        if dist.values is None and key in out:
            out[key] = min(max(float(out[key]), dist.low), dist.high)
    return out


class PBTSettings(_Frozen):
    """Population-based training (Jaderberg et al. 2017) as in Wu, Wei & Wu (AAAI 2020):
    one selfplay stream and one replay buffer serve the population; each member trains its
    own network from the shared buffer; exploit/explore act on playing strength (Elo)."""

    population: int = Field(4, ge=2, description="members (Tune trials), all running at once")
    iterations: int = Field(40, ge=1, description="training iterations per member; an "
                            "iteration = steps_per_iteration train steps + one evaluation")
    steps_per_iteration: int = Field(100, ge=1, description="train steps between evaluations")
    perturbation_interval: int = Field(
        2, ge=1, description="iterations between a member's exploit/explore decisions")
    burn_in_iterations: int = Field(0, ge=0, description="iterations before the first decision")
    synch: bool = Field(
        True, description="synchronous PBT: decisions once every member reached the "
        "perturbation point (members pause and restart from their checkpoints there); False: "
        "each member is ranked against the others' latest scores when it arrives")
    quantile_fraction: float = Field(
        0.25, gt=0, le=0.5, description="bottom fraction exploits (copies) the top fraction")
    resample_probability: float = Field(
        0.25, ge=0, le=1, description="explore: chance to resample a value from its "
        "distribution instead of perturbing it")
    perturbation_factors: tuple[float, float] = Field(
        (0.8, 1.2), description="explore: factors a continuous value is multiplied by")
    min_elo_gap: float = Field(
        0.0, ge=0, description="a bottom member exploits only when its Elo is this far below "
        "the top member's (guards against exploiting on evaluation noise; README: Tuning)")
    mutations: dict[str, Distribution] = Field(
        default_factory=dict, description="train.* keys explored by PBT and where they live")
    selfplay_top_k: int = Field(
        1, ge=1, description="1: selfplay plays the best member; k > 1: each new weight "
        "publication cycles through the k highest-Elo members (a mix)")
    member_cpus: float = Field(1.0, gt=0, description="CPUs reserved per member (> 0: Tune "
                               "rejects 0); also the member's torch threads (at least 1)")
    member_gpus: float = Field(0.0, ge=0, description="GPU fraction per member (trains on "
                               "the GPU when run.use_gpu)")
    checkpoints_to_keep: int = Field(
        8, ge=2, description="checkpoints kept per member; enough that an exploit source is "
        "never deleted before it is copied (>= 2 * perturbation_interval + 2)")

    @model_validator(mode="after")
    def _check(self) -> PBTSettings:
        if not self.mutations:
            raise ValueError("pbt.mutations must name at least one train.* key")
        if self.checkpoints_to_keep < 2 * self.perturbation_interval + 2:
            raise ValueError(f"pbt.checkpoints_to_keep ({self.checkpoints_to_keep}) must be "
                             f">= 2 * perturbation_interval + 2 (an exploit source could be "
                             f"deleted before it is copied)")
        return self


class PBTExperimentConfig(AlphaZeroConfig):
    """The main job's config (shared selfplay stream, buffer, net, initial train.*) plus
    ``pbt``. Members start from ``train.*`` with the mutated keys drawn from
    ``pbt.mutations``; evaluation uses ``eval.games`` / ``eval.num_simulations`` /
    ``eval.max_moves`` / ``eval.concurrency``."""

    pbt: PBTSettings = Field(default_factory=lambda: PBTSettings(
        mutations={"train.lr": Distribution(low=1e-4, high=1e-2, log=True)}),
        description="population-based training")

    @model_validator(mode="after")
    def _mutations_valid(self) -> PBTExperimentConfig:
        validate_space(self.main_config(), self.pbt.mutations, ("train.",))
        return self

    def main_config(self) -> AlphaZeroConfig:
        """The `AlphaZeroConfig` part (what a member's values are validated against)."""
        return AlphaZeroConfig.model_validate(self.model_dump(exclude={"pbt"}))


class SearchSettings(_Frozen):
    """Hyperparameter search: Optuna's TPE sampler proposes configurations (OptunaSearch),
    ASHA (Li et al. 2018) stops the weak ones early. A trial is a whole small AlphaZero in
    one process: selfplay with its own net, training, then an evaluation per iteration."""

    samples: int = Field(16, ge=1, description="configurations tried (Tune num_samples)")
    max_concurrent: int = Field(2, ge=1, description="trials running at once")
    trial_cpus: float = Field(1.0, gt=0, description="CPUs reserved per trial")
    iterations: int = Field(8, ge=1, description="ASHA max_t: iterations of a full trial")
    grace_period: int = Field(1, ge=1, description="ASHA: iterations before any stop")
    reduction_factor: float = Field(2.0, gt=1, description="ASHA: keep 1/rf at each rung")
    games_per_iteration: int = Field(
        16, ge=1, description="selfplay games per iteration (batches of "
        "selfplay.games_per_batch)")
    max_steps_per_iteration: int = Field(
        100, ge=1, description="train steps per iteration at most (fewer when "
        "buffer.target_replay_ratio allows fewer)")
    opponent: str = Field("heuristic", pattern="^(random|heuristic)$",
                          description="the fixed opponent of the objective")
    seed: int = Field(0, description="seed of the Optuna sampler")
    space: dict[str, Distribution] = Field(
        default_factory=dict, description="dotted key -> where it lives: the configurations "
        "searched (net.*, train.*, search.*, selfplay.*, buffer.*)")


SEARCHABLE = ("net.", "train.", "search.", "selfplay.", "buffer.")


class SearchExperimentConfig(AlphaZeroConfig):
    """The main job's config plus ``tuning`` (the search). The best configuration found is
    written out as a main-job config (`main_config` with the best values)."""

    tuning: SearchSettings = Field(default_factory=SearchSettings,
                                   description="hyperparameter search")

    @model_validator(mode="after")
    def _space_valid(self) -> SearchExperimentConfig:
        if not self.tuning.space:
            raise ValueError("tuning.space must name at least one key")
        validate_space(self.main_config(), self.tuning.space, SEARCHABLE)
        searched_net = sorted(k for k in self.tuning.space if k.startswith("net."))
        if self.train.init_checkpoint and searched_net:
            raise ValueError(f"train.init_checkpoint fixes the net: tuning.space cannot "
                             f"search {', '.join(searched_net)}")
        return self

    def main_config(self) -> AlphaZeroConfig:
        """The `AlphaZeroConfig` part."""
        return AlphaZeroConfig.model_validate(self.model_dump(exclude={"tuning"}))
