"""The start shared by the Ray Tune entry points (`experiments.pbt`, `experiments.search`):
the config file with its ``--set`` overrides, the run directory, the connection to Ray."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from experiments.alphazero import default_run_dir
from experiments.ray_session import connect
from ringrift_ray.config import ConfigT, load_yaml, parse_overrides, with_overrides

log = logging.getLogger(__name__)


def resolve_config(args: argparse.Namespace, model: type[ConfigT]) -> tuple[ConfigT, Path]:
    """``args.config`` read as ``model`` with the ``--set`` overrides (``args.set``) applied,
    and the run directory (``args.run_dir``, default `default_run_dir`) as an absolute path.

    Raises:
        FileNotFoundError: no config file.
        ValueError: a bad config file, override key or value (the message names it).
    """
    cfg = with_overrides(load_yaml(args.config, model), parse_overrides(args.set))
    return cfg, Path(args.run_dir or default_run_dir(args.config)).resolve()


def launch(args: argparse.Namespace, model: type[ConfigT]) -> tuple[ConfigT, Path, bool] | None:
    """`resolve_config`, then connect to Ray (`connect`: joins ``RAY_ADDRESS`` under ``ray
    job submit``, else starts a local Ray) and log the run directory.

    Returns:
        ``(config, run directory, joined)`` (``joined``: the job joined a cluster it did not
        start, where resources may still appear), or None for a bad config (logged; the
        entry point exits with status 2).
    """
    try:
        cfg, run_dir = resolve_config(args, model)
    except (FileNotFoundError, ValueError) as e:
        log.error("bad config: %s", e)
        return None
    joined = connect(cfg.run)
    log.info("run directory: %s", run_dir)
    return cfg, run_dir, joined
