"""A multi-node Ray cluster on one machine (`ray.cluster_utils.Cluster`: one raylet per
node) for trying cluster configs and for the scale-out tests and benchmark.

    with local_cluster() as (dashboard_url, node_ids):
        JobSubmissionClient(dashboard_url).submit_job(...)

The head runs no tasks (``CPU: 0``) and serves the dashboard and the Jobs API (token
auth as Ray ships it); a selfplay node and a trainer node carry the custom resources
``selfplay_node`` and ``trainer_node`` that `run.selfplay_resources` /
`run.train_resources` pin actors with. Only this cluster is shut down on exit.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ray.cluster_utils import Cluster
from ray.job_submission import JobSubmissionClient


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token_auth() -> None:
    """Token auth on for the cluster and every process it starts: a local ``ray.init``
    turns it on by itself, ``Cluster`` nodes and job drivers only with RAY_AUTH_MODE=token
    in the environment (read once per process), with the token in ~/.ray/auth_token
    (``ray get-auth-token --generate`` makes it when missing).

    Raises:
        RuntimeError: RAY_AUTH_MODE is not ``token`` in this process.
    """
    if os.environ.get("RAY_AUTH_MODE") != "token":
        raise RuntimeError("set RAY_AUTH_MODE=token before Ray is imported (Ray reads it once "
                           "per process); a local cluster runs with token auth")
    if not (Path.home() / ".ray" / "auth_token").exists():
        ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
        subprocess.run([ray_cli, "get-auth-token", "--generate"], check=True,
                       capture_output=True, env=os.environ)


def _own_ports() -> dict[str, int]:
    """Free ports for a node's dashboard agent and metrics exporter: the defaults (52365,
    ...) collide with any other Ray on the machine, and a node whose agent cannot bind
    leaves the Jobs API without an agent ("No available agent to submit job")."""
    return {"dashboard_agent_listen_port": free_port(), "metrics_export_port": free_port()}


@contextmanager
def local_cluster(selfplay_cpus: int = 2, trainer_cpus: int = 2
                  ) -> Iterator[tuple[str, dict[str, str]]]:
    """Start head + selfplay node + trainer node. This process does not connect (it may
    hold a Ray of its own); talk to the cluster through the dashboard URL (Jobs SDK,
    State API).

    Yields:
        ``(dashboard URL, {"head" | "selfplay" | "trainer": node id})``.
    """
    tmp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # AF_UNIX paths must stay short
    _token_auth()
    # Ray records the newest cluster's address in $RAY_TMPDIR/ray (made here if missing)
    os.makedirs(os.path.join(os.environ.get("RAY_TMPDIR", "/tmp"), "ray"), exist_ok=True)
    port, cluster = free_port(), None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 0, "include_dashboard": True, "dashboard_port": port, "temp_dir": tmp,
            **_own_ports()})
        # the head's job supervisor resolves "auto" through <head temp dir>/ray_current_cluster
        # (Cluster writes the address only under $RAY_TMPDIR/ray): without this file a job
        # driver joins whichever other Ray runs on the machine
        (Path(tmp) / "ray_current_cluster").write_text(cluster.address)
        nodes = {"head": cluster.head_node.node_id}
        nodes["selfplay"] = cluster.add_node(
            num_cpus=selfplay_cpus, resources={"selfplay_node": 4}, **_own_ports()).node_id
        nodes["trainer"] = cluster.add_node(
            num_cpus=trainer_cpus, resources={"trainer_node": 4}, **_own_ports()).node_id
        cluster.wait_for_nodes()
        yield f"http://127.0.0.1:{port}", nodes
    finally:
        if cluster is not None:
            cluster.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def submit_job(dashboard: str, entrypoint: str, runtime_env: dict, timeout_s: float = 90.0
               ) -> str:
    """Submit through the Jobs SDK, retrying while the head's job agent is still starting
    ("No available agent to submit job"). Returns the submission id.

    Raises:
        RuntimeError: the Jobs API still refuses after ``timeout_s`` seconds.
    """
    client = JobSubmissionClient(dashboard)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env)
        except RuntimeError as e:
            if "No available agent" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(1.0)
