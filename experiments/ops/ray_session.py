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
    a joined cluster ignores, the dashboard when ``run.dashboard`` and its Prometheus
    endpoint on ``run.metrics_export_port``); logs where the dashboard and the metrics are.

    Returns:
        True when the job joined a cluster it did not start (``RAY_ADDRESS`` set, or Ray
        already initialized): then resources may still appear (autoscaling).
    """
    joined = bool(os.environ.get("RAY_ADDRESS")) or ray.is_initialized()
    if not ray.is_initialized():  # Ray rejects num_cpus when joining an existing cluster
        port = {} if joined or run.metrics_export_port is None else {
            "_metrics_export_port": run.metrics_export_port}
        context = ray.init(num_cpus=None if joined else run.local_cpus,
                           include_dashboard=run.dashboard, namespace=NAMESPACE, **port)
        if context.dashboard_url:
            log.info("Ray dashboard: http://%s", context.dashboard_url)
        _log_metrics_endpoint()
    return joined


def _log_metrics_endpoint() -> None:
    """Log this node's Prometheus endpoint (the ``ringrift_*`` metrics, `actors.metrics`)."""
    node = ray._private.worker.global_worker.node
    port = getattr(node, "metrics_export_port", None)
    if port:
        log.info("Prometheus metrics: http://%s:%d/metrics", node.node_ip_address, port)
