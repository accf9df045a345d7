"""The one start-up of the three jobs (`experiments.alphazero`, `experiments.pbt`,
`experiments.tune_search`): every check a job makes before it starts its actors, done once,
in this order; a failure is a `StartupError` with a message and an exit status.

1. The config file, ``--set`` and the job's own flags, validated by the job's pydantic model
   (`resolve_config`). Failure: ``bad config: ...``, exit 2.
2. The run directory: a local path for the Tune jobs; writable (created). Failure: the
   directory named, exit 2.
3. Main job: the run's ``checkpoints/latest.pt`` and ``promoted.pt``, loaded and checked
   against the config (`load_resume`). Failure: ``cannot resume <run dir>: ...``, exit 2.
4. ``train.init_checkpoint``, loaded and checked (`load_warm_start`). Failure: ``bad
   train.init_checkpoint: ...``, exit 2.
5. Connect to Ray (`ray_session.connect`: join ``RAY_ADDRESS``, else a local Ray).
6. Main job and PBT: the cluster can hold the job (`resources.wait_for_resources`).
   Failure: the request and the cluster named, also in ``summary.json``, exit 1.

The weights loaded in steps 3 and 4 travel on in the returned `Startup` (``{name: numpy
array}``, `net.weights_numpy` form): no job reads those checkpoint files again.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.ops.ray_session import connect
from experiments.ops.resources import ResourcesUnavailable, wait_for_resources
from ringrift_ray import storage
from ringrift_ray.config import AlphaZeroConfig, load_yaml, parse_overrides, with_overrides
from ringrift_ray.net import NetSpec, load_checkpoint, weights_numpy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """What the start-up needs to know about a job."""

    name: str  # the module under experiments/: "alphazero", "pbt", "tune_search"
    model: type[AlphaZeroConfig]  # the config model (AlphaZeroConfig or a Tune experiment's)
    local_run_dir: bool = False  # the run directory must be a local path (the Tune jobs)
    resumes: bool = False  # continues from the run's checkpoints/{promoted,latest}.pt
    checks_resources: bool = True  # waits until the cluster can hold `resources.bundles`


@dataclass(frozen=True)
class Resume:
    """The run's own checkpoint that the main job continues from."""

    path: str  # checkpoints/promoted.pt or checkpoints/latest.pt of the run directory
    step: int  # the trainer step it was saved at
    weights: dict  # {name: numpy array}


@dataclass(frozen=True)
class Startup:
    """A started job: its checked config and run directory, Ray connected, weights loaded."""

    cfg: AlphaZeroConfig  # validated, an instance of `Job.model`
    run_dir: Path | str  # an absolute Path, or a URI string (main job only)
    joined: bool  # joined a cluster it did not start (resources may still appear)
    resume: Resume | None  # main job: the checkpoint to continue from; None: a new run
    warm_start: dict | None  # train.init_checkpoint's weights {name: numpy array}, or None


class StartupError(Exception):
    """A job cannot start; the message says why, ``exit_code`` is the process's status."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def default_run_dir(config_path: str) -> Path:
    """The run directory when ``--run-dir`` is not given.

    Args:
        config_path: the ``--config`` file; its stem names the run.

    Returns:
        ``runs/<config name>`` under the current directory; under ``ray job submit`` (whose
        current directory is a temporary copy of the working dir) ``~/ringrift-runs/<config
        name>`` on the node running the driver, which outlives the job.
    """
    name = Path(config_path).stem
    if os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR"):
        return Path.home() / "ringrift-runs" / name
    return Path("runs") / name


def resolve_config(args: argparse.Namespace, job: Job,
                   overrides: dict[str, Any] | None = None) -> tuple[AlphaZeroConfig, Path | str]:
    """Read the config and name the run directory (steps 1 and 2, before any write).

    Args:
        args: the job's parsed flags: ``config``, ``set`` (``KEY=VALUE`` strings), ``run_dir``.
        job: the job (its config model; whether a URI run directory is allowed).
        overrides: the job's own flags as dotted keys, applied after ``--set``.

    Returns:
        ``(config, run directory)``: an absolute `Path`, or a URI string.

    Raises:
        FileNotFoundError: no config file.
        ValueError: a bad config file, override key or value, or a run directory URI that
            ``pyarrow.fs`` does not understand or this job cannot use (the message names it).
    """
    if args.run_dir and storage.is_uri(args.run_dir) and job.local_run_dir:
        raise ValueError(f"--run-dir {args.run_dir}: this entry point needs a local directory")
    cfg = with_overrides(load_yaml(args.config, job.model),
                         {**parse_overrides(args.set), **(overrides or {})})
    run_dir = args.run_dir or default_run_dir(args.config)
    if storage.is_uri(run_dir):
        storage.resolve(run_dir)  # a bad URI fails here, before Ray starts
        return cfg, run_dir
    return cfg, Path(run_dir).resolve()


def load_resume(cfg: AlphaZeroConfig, run_dir: Path | str) -> Resume | None:
    """Load the run's own checkpoints once: ``checkpoints/latest.pt`` and ``promoted.pt``
    (each that exists, checked against the config's board, players and preset).

    Args:
        cfg: the main job's config (``eval.enabled``: selfplay follows promoted weights).
        run_dir: the run directory (a path or a URI).

    Returns:
        With evaluation on, ``promoted.pt``; else (or when none) ``latest.pt``; None for a
        new run.

    Raises:
        ValueError: an unreadable or mismatching checkpoint (the message names the file).
    """
    spec = NetSpec.from_config(cfg.game, cfg.net)
    found = {}  # both are checked; only the one handed on becomes numpy weights
    for name in ("latest.pt", "promoted.pt"):
        path = storage.join(run_dir, "checkpoints", name)
        if storage.exists(path):
            found[name] = (str(path), *load_checkpoint(path, expect=spec))
    order = (["promoted.pt"] if cfg.eval.enabled else []) + ["latest.pt"]
    chosen = next((found[name] for name in order if name in found), None)
    if chosen is None:
        return None
    path, net, extra = chosen
    return Resume(path, int(extra.get("step", 0)), weights_numpy(net))


def load_warm_start(cfg: AlphaZeroConfig) -> dict | None:
    """Load the ``train.init_checkpoint`` net once, checked against the configuration.

    Args:
        cfg: the job's config (``train.init_checkpoint``; board, players and preset).

    Returns:
        Its weights (`net.weights_numpy` form), or None without a warm start.

    Raises:
        FileNotFoundError: the checkpoint is missing.
        ValueError: an unreadable checkpoint, or one for another board, player count or
            preset (the message names the file and the mismatch).
    """
    if not cfg.train.init_checkpoint:
        return None
    net, _ = load_checkpoint(cfg.train.init_checkpoint,
                             expect=NetSpec.from_config(cfg.game, cfg.net))
    return weights_numpy(net)


def start(job: Job, args: argparse.Namespace,
          overrides: dict[str, Any] | None = None) -> Startup:
    """Start ``job``: the six steps of the module docstring, each once.

    Args:
        job: the job starting.
        args: its parsed flags (``config``, ``set``, ``run_dir``).
        overrides: its own flags as dotted config keys (e.g. ``run.time_budget_s``).

    Returns:
        The `Startup`, with Ray connected and the checkpoints loaded.

    Raises:
        StartupError: a step failed (logged by the caller; ``exit_code`` 2 before Ray
            starts, 1 when the cluster cannot hold the job).
    """
    try:
        cfg, run_dir = resolve_config(args, job, overrides)
    except (FileNotFoundError, ValueError) as e:
        raise StartupError(f"bad config: {e}") from e
    try:
        storage.check_writable(run_dir)
    except OSError as e:
        raise StartupError(str(e)) from e
    try:  # a run directory to resume must hold readable checkpoints for this configuration
        resume = load_resume(cfg, run_dir) if job.resumes else None
    except (FileNotFoundError, ValueError) as e:
        raise StartupError(f"cannot resume {run_dir}: {e}") from e
    try:  # a warm start must exist and fit this configuration
        warm = load_warm_start(cfg)
    except (FileNotFoundError, ValueError) as e:
        raise StartupError(f"bad train.init_checkpoint: {e}") from e
    joined = connect(cfg.run)
    log.info("run directory: %s", run_dir)
    if job.checks_resources:
        try:
            wait_for_resources(cfg, cfg.run.startup_timeout_s if joined else 0.0)
        except ResourcesUnavailable as e:
            storage.write_text(storage.join(run_dir, "summary.json"),
                               json.dumps({"error": str(e)}, indent=2))
            raise StartupError(str(e), exit_code=1) from e
    return Startup(cfg=cfg, run_dir=run_dir, joined=joined, resume=resume, warm_start=warm)
