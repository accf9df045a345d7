"""The start of an entry point (`experiments.alphazero`, `experiments.pbt`,
`experiments.search`): the config file with its ``--set`` overrides, the run directory, the
connection to Ray."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from experiments.ray_session import connect
from ringrift_ray import storage
from ringrift_ray.config import (
    AlphaZeroConfig,
    ConfigT,
    load_yaml,
    parse_overrides,
    with_overrides,
)
from ringrift_ray.net import NetSpec, load_checkpoint, weights_numpy

log = logging.getLogger(__name__)


def default_run_dir(config_path: str) -> Path:
    """``runs/<config name>`` under the current directory; under ``ray job submit`` (whose
    current directory is a temporary copy of the working dir) ``~/ringrift-runs/<config
    name>`` on the node running the driver, which outlives the job."""
    name = Path(config_path).stem
    if os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR"):
        return Path.home() / "ringrift-runs" / name
    return Path("runs") / name


def resolve_config(args: argparse.Namespace, model: type[ConfigT],
                   overrides: dict[str, Any] | None = None) -> tuple[ConfigT, Path | str]:
    """``args.config`` read as ``model`` with the ``--set`` overrides (``args.set``), then
    ``overrides`` (an entry point's own flags), applied; and the run directory
    (``args.run_dir``, default `default_run_dir`): an absolute `Path`, or a URI string.

    Raises:
        FileNotFoundError: no config file.
        ValueError: a bad config file, override key or value, or a run directory URI that
            ``pyarrow.fs`` does not understand (the message names it).
    """
    cfg = with_overrides(load_yaml(args.config, model),
                         {**parse_overrides(args.set), **(overrides or {})})
    run_dir = args.run_dir or default_run_dir(args.config)
    if storage.is_uri(run_dir):
        storage.resolve(run_dir)  # a bad URI fails here, before Ray starts
        return cfg, run_dir
    return cfg, Path(run_dir).resolve()


def launch(args: argparse.Namespace, model: type[ConfigT]) -> tuple[ConfigT, Path, bool] | None:
    """Start a Ray Tune entry point (PBT, search), whose run directory is local:
    `resolve_config`, then connect to Ray (`connect`: joins ``RAY_ADDRESS`` under ``ray job
    submit``, else starts a local Ray) and log the run directory.

    Returns:
        ``(config, run directory, joined)`` (``joined``: the job joined a cluster it did not
        start, where resources may still appear), or None for a bad config or a run
        directory URI (logged; the entry point exits with status 2).
    """
    try:
        if args.run_dir and storage.is_uri(args.run_dir):
            raise ValueError(f"--run-dir {args.run_dir}: this entry point needs a local "
                             "directory")
        cfg, run_dir = resolve_config(args, model)
    except (FileNotFoundError, ValueError) as e:
        log.error("bad config: %s", e)
        return None
    joined = connect(cfg.run)
    log.info("run directory: %s", run_dir)
    return cfg, run_dir, joined


def warm_start_weights(cfg: AlphaZeroConfig) -> dict | None:
    """The ``train.init_checkpoint`` net's weights (`net.weights_numpy` form), checked
    against the configuration's board, players and preset; None without a warm start.

    Raises:
        FileNotFoundError: the checkpoint is missing.
        ValueError: an unreadable checkpoint, or one for another board, player count or
            preset (the message names the file and the mismatch).
    """
    if not cfg.train.init_checkpoint:
        return None
    net, _ = load_checkpoint(cfg.train.init_checkpoint, expect=NetSpec.from_config(cfg.game,
                                                                                  cfg.net))
    return weights_numpy(net)
