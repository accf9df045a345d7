"""Connecting an entry point (main job, PBT, search) to Ray: join the cluster of
``RAY_ADDRESS`` (set under ``ray job submit``) or start a local Ray, and log where the
dashboard is."""

from __future__ import annotations

import logging
import os

import ray

from ringrift_ray.config import RunSettings

log = logging.getLogger(__name__)

NAMESPACE = "ringrift"  # the Ray namespace of the jobs' named actors


def connect(run: RunSettings) -> bool:
    """``ray.init`` once (namespace `NAMESPACE`; a local Ray gets ``run.local_cpus``, which
    a joined cluster ignores, and the dashboard when ``run.dashboard``).

    Returns:
        True when the job joined a cluster it did not start (``RAY_ADDRESS`` set, or Ray
        already initialized): then resources may still appear (autoscaling).
    """
    joined = bool(os.environ.get("RAY_ADDRESS")) or ray.is_initialized()
    if not ray.is_initialized():  # Ray rejects num_cpus when joining an existing cluster
        context = ray.init(num_cpus=None if joined else run.local_cpus,
                           include_dashboard=run.dashboard, namespace=NAMESPACE)
        if context.dashboard_url:
            log.info("Ray dashboard: http://%s", context.dashboard_url)
    return joined
