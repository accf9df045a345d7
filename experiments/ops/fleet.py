"""The selfplay fleet that the main job and PBT share: the names of a job's actors, where
its bookkeeping actors live (`on_driver_node`) and the `SelfplayWorker` actors themselves
(one selfplay stream per job)."""

from __future__ import annotations

from pathlib import Path

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.naming import ActorName
from actors.replay_buffer import ReplayBuffer
from actors.selfplay_worker import SelfplayWorker
from experiments.ops.ray_session import NAMESPACE
from ringrift_ray import storage
from ringrift_ray.config import AlphaZeroConfig


def run_name(cfg: AlphaZeroConfig, run_dir: Path | str) -> str:
    """The run's name: ``run.name``, else the run directory's last part."""
    return cfg.run.name or storage.basename(run_dir)


def actor_name(cfg: AlphaZeroConfig, run_dir: Path | str, what: str) -> ActorName:
    """The name ``<run name>:<what>`` in namespace `NAMESPACE` of one of the job's actors.

    Operators and fault tests find it with ``ray.get_actor(name, namespace="ringrift")``;
    actors find each other by it (`naming.ActorName`).

    Args:
        cfg: the job's config (``run.name``, else the run directory's last part, names it).
        run_dir: the run directory (a path or a URI).
        what: the actor's role, e.g. ``replay_buffer`` or ``selfplay_0``.
    """
    return ActorName(f"{run_name(cfg, run_dir)}:{what}", NAMESPACE)


def named(cfg: AlphaZeroConfig, run_dir: Path | str, what: str) -> dict:
    """Actor options naming an actor ``<run name>:<what>`` in namespace `NAMESPACE`
    (`actor_name`).

    Operators and fault tests find it with ``ray.get_actor(name, namespace="ringrift")``.

    Args:
        cfg: the job's config (``run.name``, else the run directory's last part, names it).
        run_dir: the run directory (a path or a URI).
        what: the actor's role, e.g. ``replay_buffer`` or ``selfplay_0``.

    Returns:
        ``{"name": ..., "namespace": ...}`` for ``Actor.options(**...)``.
    """
    return actor_name(cfg, run_dir, what).options()


def on_driver_node() -> dict:
    """Actor options that place a small bookkeeping actor (a `WeightsStore`, the `Budget`)
    on the driver's node with no CPU reserved: its fate is the driver's.

    A node lost without warning takes its actors with it, and these restart empty (the
    store without its weights, whose object dies with its owner; the budget without a
    stop). Beside the driver they are lost only when the driver is, and that ends the job
    anyway (a head node's loss; README "Reliability"). They need no CPU: on a head that runs
    no tasks (``num_cpus: 0``) an actor with the default CPU request would not fit.

    Returns:
        ``{"num_cpus": 0, "scheduling_strategy": ...}`` for ``Actor.options(**...)``.
    """
    node = ray.get_runtime_context().get_node_id()
    return {"num_cpus": 0, "scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=False)}


def start_buffer(cfg: AlphaZeroConfig, run_dir: Path | str) -> ray.actor.ActorHandle:
    """Start the job's named `ReplayBuffer` (``replay_buffer``): it restores the shards of
    ``<run_dir>/replay`` and flushes new ones there, so a restarted one (another node's, when
    its own is lost) resumes the window. Placed with ``run.buffer_resources``.

    Returns:
        The buffer's handle.
    """
    return ReplayBuffer.options(**named(cfg, run_dir, "replay_buffer"),
                                resources=dict(cfg.run.buffer_resources)).remote(
        cfg.buffer, spill_dir=str(storage.join(run_dir, "replay")),
        policy_width=cfg.selfplay.policy_top_k, run=run_name(cfg, run_dir))


def start_selfplay(cfg: AlphaZeroConfig, run_dir: Path | str) -> list:
    """Start ``run.selfplay_workers`` named `SelfplayWorker` actors (``selfplay_<i>``) that
    add their games to the job's ``replay_buffer`` and play the ``weights`` store's newest
    weights (both named actors must exist; the workers look them up by name).

    Args:
        cfg: the main-job config (PBT passes ``cfg.main_config()``): ``run.selfplay_*``
            resources, ``run.use_gpu``, ``run.seed`` (worker ``i`` seeds ``seed*1000 + i``).
        run_dir: the run directory (names the actors, `actor_name`).

    Returns:
        The worker handles, in index order.
    """
    gpu = cfg.run.selfplay_gpus_per_worker if cfg.run.use_gpu else 0
    return [SelfplayWorker.options(**named(cfg, run_dir, f"selfplay_{i}"),
                                   num_cpus=cfg.run.selfplay_cpus_per_worker, num_gpus=gpu,
                                   resources=dict(cfg.run.selfplay_resources))
            .remote(i, cfg, actor_name(cfg, run_dir, "replay_buffer"),
                    actor_name(cfg, run_dir, "weights"), cfg.run.seed * 1000 + i)
            for i in range(cfg.run.selfplay_workers)]
