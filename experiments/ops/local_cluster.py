"""A multi-node Ray cluster on one machine (`ray.cluster_utils.Cluster`: one raylet per
node) for trying cluster configs and for the scale-out, node-loss tests and benchmark.

    with local_cluster() as (dashboard_url, node_ids):
        JobSubmissionClient(dashboard_url).submit_job(...)

    with start_cluster({"selfplay": 2, "trainer": 2, "buffer": 1}) as cluster:
        ...                                  # submit a job to cluster.dashboard
        cluster.remove("buffer")             # without warning (processes killed)
        cluster.add("buffer")                # the replacement an autoscaler would bring

The head runs no tasks (``CPU: 0``) and serves the dashboard and the Jobs API (token
auth as Ray ships it); each other node has a role (`ROLES`) and carries that role's custom
resource (``selfplay_node``, ``trainer_node``, ``buffer_node``, ``evaluator_node``), which
`run.selfplay_resources`, `run.train_resources`, `run.buffer_resources` and
`run.eval_resources` pin actors with. The head checks its nodes' health every second, so
a removed node is declared dead ~5 s later (Ray's default: ~15 s). Only this cluster is
shut down on exit.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ray.cluster_utils import Cluster
from ray.job_submission import JobSubmissionClient

if TYPE_CHECKING:
    from ray._private.node import Node


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


ROLES = {"selfplay": "selfplay_node", "trainer": "trainer_node", "buffer": "buffer_node",
         "evaluator": "evaluator_node"}  # node role -> its custom resource
UNITS = 4  # units of its role's resource on each node (an actor asks for 1)
HEALTH = {"health_check_period_ms": 1000, "health_check_failure_threshold": 5}


@dataclass
class LocalCluster:
    """A running local cluster: the `Cluster`, its dashboard URL and the node of each role.

    Args:
        cluster: the `ray.cluster_utils.Cluster` (head included).
        dashboard: the dashboard URL (Jobs SDK, State API).
        cpus: role -> logical CPUs of its node (`add` makes replacements alike).
    """

    cluster: Cluster
    dashboard: str
    cpus: dict[str, float]
    nodes: dict[str, Node] = field(default_factory=dict)  # role -> its live node

    def node_ids(self) -> dict[str, str]:
        """``{"head" | role: node id}`` of the live nodes."""
        return {"head": self.cluster.head_node.node_id,
                **{role: node.node_id for role, node in self.nodes.items()}}

    def add(self, role: str) -> str:
        """Start a node of ``role`` (a replacement, as an autoscaler brings one); returns its
        id once it has registered."""
        self.nodes[role] = self.cluster.add_node(
            num_cpus=self.cpus[role], resources={ROLES[role]: UNITS}, **_own_ports())
        self.cluster.wait_for_nodes()
        return self.nodes[role].node_id

    def remove(self, role: str) -> str:
        """Kill ``role``'s node without warning (every process of it at once); returns its
        id once the head has declared it dead."""
        node = self.nodes.pop(role)
        self.cluster.remove_node(node, allow_graceful=False)
        self.cluster.wait_for_nodes()
        return node.node_id


@contextmanager
def start_cluster(cpus: dict[str, float]) -> Iterator[LocalCluster]:
    """Start a head and one node per role of ``cpus`` (role -> logical CPUs). This process
    does not connect (it may hold a Ray of its own); talk to the cluster through the
    dashboard URL (Jobs SDK, State API).

    Yields:
        The running `LocalCluster`; shut down on exit.
    """
    tmp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # AF_UNIX paths must stay short
    _token_auth()
    # Ray records the newest cluster's address in $RAY_TMPDIR/ray (made here if missing)
    os.makedirs(os.path.join(os.environ.get("RAY_TMPDIR", "/tmp"), "ray"), exist_ok=True)
    port, cluster = free_port(), None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 0, "include_dashboard": True, "dashboard_port": port, "temp_dir": tmp,
            "_system_config": HEALTH, **_own_ports()})
        # the head's job supervisor resolves "auto" through <head temp dir>/ray_current_cluster
        # (Cluster writes the address only under $RAY_TMPDIR/ray): without this file a job
        # driver joins whichever other Ray runs on the machine
        (Path(tmp) / "ray_current_cluster").write_text(cluster.address)
        running = LocalCluster(cluster, f"http://127.0.0.1:{port}", dict(cpus))
        for role in cpus:
            running.add(role)
        yield running
    finally:
        if cluster is not None:
            cluster.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def local_cluster(selfplay_cpus: int = 2, trainer_cpus: int = 2
                  ) -> Iterator[tuple[str, dict[str, str]]]:
    """Start head + selfplay node + trainer node (`start_cluster`).

    Yields:
        ``(dashboard URL, {"head" | "selfplay" | "trainer": node id})``.
    """
    with start_cluster({"selfplay": selfplay_cpus, "trainer": trainer_cpus}) as cluster:
        yield cluster.dashboard, cluster.node_ids()


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
