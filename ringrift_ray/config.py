"""Configuration models (pydantic v2, frozen, unknown keys rejected) and YAML loading.

One model per concern; library code takes the narrow model it needs (e.g. `SearchConfig`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ringrift_ray.game import BOARD_TYPES
from ringrift_ray.safe_yaml import InvalidYAML, parse_yaml


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
    tree: Literal["compiled", "python"] = Field(
        "compiled", description="selfplay's search: compiled = all trees of a worker in one "
        "set of arrays with batched numba steps (search/batched.py); python = one Tree "
        "object per game (search/gumbel.py). Same answers for the same network and noise")
    subtree_reuse: bool = Field(
        False, description="compiled tree only (selfplay and `CHECKPOINT:SIMS:reuse` agents): "
        "the node of the position reached since a game's last search (the played move and "
        "any moves after it) becomes the next search's root with its subtree and statistics "
        "(search/reuse.py); its visits add to num_simulations new ones, and the root's "
        "sequential halving runs on fresh Gumbel noise. Off by default: no strength gain at "
        "equal simulations (square8 2p, 64 simulations: 0.47 [0.40, 0.54] in 200 games; "
        "README 'Search', benchmarks/subtree_reuse_cpu.json)")

    def model_post_init(self, __context) -> None:
        if self.subtree_reuse and self.tree != "compiled":
            raise ValueError("search.subtree_reuse needs search.tree: compiled")


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
    value_target_q_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="value target = (1 - w) * game outcome + w * root "
        "search value (w = 0: AlphaZero's outcome target; it beat w = 0.5 in the value probe "
        "on square8 2p, hex8 2p and square8 3p: README, benchmarks/probe_value.py)")
    policy_top_k: int = Field(32, ge=1, description="policy-target entries kept per sample "
                              "(largest probabilities, renormalized); also the replay "
                              "buffer's padded policy width")
    inference: Literal["auto", "torch", "onnxruntime"] = Field(
        "auto", description="network backend of selfplay search (ringrift_ray/inference.py): "
        "auto = ONNX Runtime on the CPU, eager torch on a GPU")
    weights_poll_s: float = Field(
        2.0, gt=0.0, description="seconds between checks for newer weights inside a reporting "
        "interval (weights change only between search steps)")
    pipeline: bool = Field(
        False, description="play the game slots in two halves whose search steps alternate: "
        "one half's network call runs beside the other half's tree and rules work (two calls "
        "of half the slots per step); pays off when the network runs on a GPU or a spare core")


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

    flush_every_s: float = Field(
        30.0, gt=0, description="seconds between flushes of new samples to Parquet shards "
        "(a crash of the buffer loses at most this interval's samples)")
    flush_every_samples: int = Field(
        10_000, ge=1, description="new samples that trigger a flush before flush_every_s")
    store_outage_s: float = Field(
        600.0, gt=0, description="seconds a failing flush is retried (with backoff; the "
        "samples stay held in the window) before the buffer gives up with StoreUnavailable; "
        "also how long the driver re-asks an evaluator whose store writes fail")

    def model_post_init(self, __context) -> None:
        if self.min_samples > self.capacity:
            raise ValueError(f"min_samples ({self.min_samples}) exceeds capacity "
                             f"({self.capacity})")


class TrainConfig(_Frozen):
    """Optimization of the policy/value network."""

    batch_size: int = Field(256, ge=1, description="samples per train step (per worker)")
    lr: float = Field(2e-3, gt=0, description="peak learning rate (AdamW)")
    weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(100, ge=0, description="linear warmup steps")
    total_steps: int = Field(10_000, ge=1, description="steps of the cosine schedule")
    final_lr_fraction: float = Field(0.1, ge=0, le=1, description="lr at the end / peak lr")
    value_loss_weight: float = Field(1.0, ge=0, description="weight of the value loss")
    value_loss: Literal["mse", "bce"] = Field("mse", description="mse (per-seat values' "
        "squared error) or bce (binary cross-entropy of win probabilities (v + 1) / 2)")
    augment: bool = Field(True, description="random board symmetry per sample")
    grad_clip: float = Field(5.0, gt=0, description="max global gradient norm")
    init_checkpoint: str | None = Field(None, description="warm start: a checkpoint whose "
        "weights the main job's trainer and selfplay start from at step 0 (not when resuming); "
        "same board/players/preset; readable from the driver and trainer nodes")
    ema_decay: float | None = Field(None, gt=0, lt=1, description="publish an exponential "
        "moving average of the weights (decay per step) for selfplay and the gate; None: raw")


class NetConfig(_Frozen):
    """Which network to train."""

    preset: Literal["tiny", "compact", "small", "medium"] = Field(
        "small", description="tiny (tests), compact (2-core CPU), small (CPU), medium (GPU, "
        "12x192)")


class RunSettings(_Frozen):
    """Resources and budgets of the main job (``experiments/alphazero.py``)."""

    name: str | None = Field(None, description="Ray Train run name (default: run dir name); "
                             "re-running with the same name and run dir resumes")
    time_budget_s: float = Field(600.0, gt=0, description="wall-clock budget of training")
    train_steps: int = Field(100_000, ge=1, description="stop after this many train steps")
    selfplay_workers: int = Field(1, ge=1, description="SelfplayWorker actors")
    selfplay_cpus_per_worker: float = Field(1.0, gt=0, description="CPUs per selfplay actor")
    selfplay_gpus_per_worker: float = Field(0.25, ge=0, description="GPUs per selfplay actor")
    train_workers: int = Field(1, ge=1, description="Ray Train (DDP) workers; the effective "
                               "batch is train.batch_size x train_workers")
    train_cpus_per_worker: float = Field(1.0, gt=0, description="CPUs per Ray Train worker")
    train_gpus_per_worker: float = Field(
        1.0, gt=0, le=1, description="GPU (fraction) per Ray Train worker when use_gpu; below 1 "
        "the trainer shares its GPU with selfplay actors (one-node GPU configs)")
    selfplay_resources: dict[str, float] = Field(default_factory=dict, description="custom Ray "
        "resources per selfplay actor, e.g. {selfplay_node: 1} (only nodes that offer it)")
    train_resources: dict[str, float] = Field(default_factory=dict, description="custom Ray "
        "resources per Ray Train worker, e.g. {trainer_node: 1}")
    buffer_resources: dict[str, float] = Field(default_factory=dict, description="custom Ray "
        "resources of the replay buffer actor, e.g. {buffer_node: 1}")
    eval_resources: dict[str, float] = Field(default_factory=dict, description="custom Ray "
        "resources of the evaluator actor (besides eval.cpus, eval.gpus)")
    max_train_failures: int = Field(
        3, ge=0, description="Ray Train worker-group failures to recover from (restart from "
        "the last Ray Train checkpoint) before the run fails")
    startup_timeout_s: float = Field(
        300.0, ge=0, description="on a cluster the job joined (RAY_ADDRESS set, e.g. `ray job "
        "submit`), seconds to wait for the requested resources at start (autoscaling) and for "
        "a lost node's replacement while running, before failing; a local Ray: checked once")
    shutdown_grace_s: float = Field(
        120.0, ge=0, description="seconds past time_budget_s the driver waits for the "
        "trainer's last step and checkpoint; then the job stops waiting and fails")
    use_gpu: bool = Field(False, description="train on GPUs (nccl) and run selfplay on GPUs")
    publish_every: int = Field(50, ge=1, description="train steps between weight publications")
    checkpoint_every: int = Field(200, ge=1, description="train steps between checkpoints")
    report_every: int = Field(10, ge=1, description="train steps between metric reports")
    log_every_s: float = Field(10.0, gt=0, description="seconds between console progress lines")
    seed: int = Field(0, description="base random seed")
    local_cpus: int | None = Field(None, ge=1, description="logical CPUs of the local Ray the "
                                   "job starts when it joins no cluster (None: the machine's)")
    dashboard: bool = Field(True, description="start the Ray dashboard with a local Ray (its "
                            "URL is logged at start; the State API needs it)")
    metrics_export_port: int | None = Field(
        None, ge=1024, le=65535, description="port of the local Ray's Prometheus endpoint "
        "(ringrift_* metrics at http://<host>:<port>/metrics; None: Ray picks one, logged at "
        "start); a joined cluster keeps its own (`ray start --metrics-export-port`)")


class GateConfig(_Frozen):
    """The promotion gate's sequential tests (``ringrift_ray/eval/gate.py``): a Wilson lower bound
    above a threshold against random and the heuristic, an SPRT on Elo bounds against the
    current best. ``None`` / ``False`` turns a check off (its opponent still plays one batch
    of games, for Elo). Games come in batches of ``EvalConfig.concurrency`` up to
    ``EvalConfig.games`` per opponent; a test undecided at that cap fails the candidate."""

    min_vs_random: float | None = Field(
        0.85, ge=0.0, le=1.0, description="win rate the Wilson lower bound must reach against "
        "the uniform random agent")
    min_vs_heuristic: float | None = Field(
        0.60, ge=0.0, le=1.0, description="win rate the Wilson lower bound must reach against "
        "the heuristic agent")
    z: float = Field(1.96, gt=0.0, description="standard-normal quantile of the Wilson "
                     "intervals (1.96: two-sided 95%)")
    vs_best: bool = Field(True, description="run the SPRT against the current best model "
                          "(skipped while there is no best)")
    elo0: float = Field(0.0, description="SPRT H0: the candidate is elo0 Elo stronger than the "
                        "best (accepting H0 fails the candidate)")
    elo1: float = Field(75.0, description="SPRT H1: the candidate is elo1 Elo stronger than "
                        "the best (accepting H1 promotes it); must exceed elo0")
    alpha: float = Field(0.05, gt=0.0, lt=0.5, description="SPRT false-promotion rate at "
                         "elo0")
    beta: float = Field(0.05, gt=0.0, lt=0.5, description="SPRT false-rejection rate at elo1")

    @model_validator(mode="before")
    @classmethod
    def _no_point_threshold(cls, data):
        if isinstance(data, dict) and "min_vs_best" in data:
            raise ValueError("eval.gate.min_vs_best is gone: the gate runs an SPRT against the "
                             "best (eval.gate.vs_best, elo0, elo1, alpha, beta)")
        return data

    @model_validator(mode="after")
    def _ordered_bounds(self):
        if self.elo1 <= self.elo0:
            raise ValueError(f"eval.gate: need elo0 < elo1, got {self.elo0}, {self.elo1}")
        return self


class EvalConfig(_Frozen):
    """Background evaluation and gating in the main job (``actors/evaluator.py``).

    When enabled, the trainer publishes *candidates*; the evaluator plays each new one
    against random, heuristic and the current best, refits Elo, and promotes it to selfplay
    when it passes ``gate``. The first candidate (no best yet) meets random and heuristic
    only. When disabled, selfplay follows the trainer's newest weights directly.
    """

    enabled: bool = Field(False, description="evaluate and gate candidates; selfplay follows "
                          "promoted weights only")
    games: int = Field(96, ge=1, description="games per opponent (seats rotated): the gate's "
                       "cap (its tests stop earlier once they decide); PBT plays all of them")
    num_simulations: int = Field(64, ge=1, description="search simulations per decision of "
                                 "the candidate and the best model in evaluation matches (64: "
                                 "the README's final measurement); its own setting because "
                                 "evaluation is judged at a fixed budget")
    max_moves: int = Field(3000, ge=1, description="move cap per evaluation game (a capped "
                           "game is a draw)")
    concurrency: int = Field(16, ge=1, description="evaluation games played at once; also the "
                             "gate's batch (its tests look after every batch)")
    cpus: float = Field(1.0, ge=0, description="CPUs reserved for the evaluator actor (0 "
                        "shares the selfplay/training CPUs, e.g. in tests)")
    gpus: float = Field(0.0, ge=0, description="GPU fraction reserved for the evaluator actor; "
                        "> 0 runs its networks on that GPU (bf16), 0 on the CPU")
    final_timeout_s: float = Field(600.0, ge=0, description="seconds the job waits after "
                                   "training for the newest candidate's evaluation")
    gate: GateConfig = Field(default_factory=GateConfig, description="promotion thresholds")
    baselines: tuple[str, ...] = Field((), description="`uct:N`, `minimax:D` a candidate that "
        "passes random and the heuristic also plays (one batch each, not gated) for the Elo fit")

    @field_validator("baselines")
    @classmethod
    def _baseline_specs(cls, specs: tuple[str, ...]) -> tuple[str, ...]:
        ok = all(re.fullmatch(r"(uct|minimax):[1-9][0-9]*", s) for s in specs)
        if not ok or len(set(specs)) != len(specs):
            raise ValueError(f"eval.baselines {list(specs)}: distinct uct:N or minimax:D")
        return specs


class AlphaZeroConfig(_Frozen):
    """Everything the main job needs; one YAML file per board x player count."""

    game: GameConfig = Field(default_factory=GameConfig, description="variant")
    net: NetConfig = Field(default_factory=NetConfig, description="network")
    search: SearchConfig = Field(default_factory=SearchConfig, description="Gumbel search")
    selfplay: SelfplayConfig = Field(default_factory=SelfplayConfig, description="selfplay")
    buffer: BufferConfig = Field(default_factory=lambda: BufferConfig(), description="replay")
    train: TrainConfig = Field(default_factory=TrainConfig, description="optimization")
    run: RunSettings = Field(default_factory=RunSettings, description="resources, budgets")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="evaluation and gating")


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def load_yaml(path: str | Path, model: type[ConfigT]) -> ConfigT:
    """Load ``path`` into ``model`` (`safe_yaml.parse_yaml`: the safe loader, bounded).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not UTF-8, unreadable YAML (invalid, a repeated key, too deep or too
            large), not a mapping, or fields that fail validation (pydantic names them).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text: {e}") from None
    data = parse_yaml(text, str(path))
    if data is None:  # an empty file: all defaults
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {data!r:.80}")
    return model.model_validate(data)


def with_overrides(cfg: ConfigT, overrides: Mapping[str, Any]) -> ConfigT:
    """``cfg`` with dotted-key fields replaced, validated by the same models.

    ``with_overrides(cfg, {"train.lr": 1e-3, "run.train_workers": 2})``. Values may be
    strings (``"1e-3"``, ``"true"``, ``"null"``): pydantic converts them as it does YAML
    scalars. Used by the main job's ``--set KEY=VALUE`` and by Ray Tune's sampled configs.

    Raises:
        ValueError: a key that is not a string, an unknown key (naming it and the fields
            that exist there) or a value that fails validation (naming the key).
    """
    data = cfg.model_dump()
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ValueError(f"config key {key!r}: expected a dotted string like 'train.lr'")
        node, model, parts = data, type(cfg), key.split(".")
        for depth, part in enumerate(parts):
            is_section = isinstance(model, type) and issubclass(model, BaseModel)
            fields = model.model_fields if is_section else {}
            if part not in fields:
                where = ".".join(parts[:depth]) or "the top level"
                raise ValueError(f"unknown config key {key!r}: {where} has no field {part!r} "
                                 f"(fields: {', '.join(fields) or 'none'})")
            if depth == len(parts) - 1:
                node[part] = value
            else:
                model = fields[part].annotation
                if not isinstance(node.get(part), dict):
                    raise ValueError(f"unknown config key {key!r}: {part!r} is not a section")
                node = node[part]
    try:
        return type(cfg).model_validate(data)
    except ValidationError as e:
        errors = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
                           for err in e.errors())
        raise ValueError(f"bad config override {dict(overrides)}: {errors}") from None


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["train.lr=1e-3", "run.use_gpu=true"]`` -> ``{"train.lr": 1e-3, ...}``: each value
    is read as a YAML scalar (safe loader), so numbers, booleans and ``null`` work.

    Raises:
        ValueError: an item that is not a string, without ``=`` or with an empty key, or a
            value nested too deeply or too large (`safe_yaml.parse_yaml`).
    """
    out = {}
    for item in items:
        key, sep, text = item.partition("=") if isinstance(item, str) else ("", "", "")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE with a dotted key, got {item!r}")
        try:
            out[key.strip()] = parse_yaml(text, f"--set {key.strip()}") if text.strip() else text
        except InvalidYAML:  # e.g. "a: b": the text itself
            out[key.strip()] = text
    return out
