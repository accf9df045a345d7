"""Where a job submitted to a cluster writes its run directory by default. The multi-node
job itself (a head that runs no tasks, selfplay / trainer / buffer / evaluator nodes, the
main job through the Jobs SDK with 2 DDP workers, nodes lost under it) is tested in
``tests/test_node_loss.py``."""

import os
from pathlib import Path


def test_default_run_dir_outlives_a_submitted_job(monkeypatch):
    from experiments.ops.startup import default_run_dir

    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    assert default_run_dir("experiments/configs/smoke.yaml") == Path("runs") / "smoke"
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    assert default_run_dir("x/square8_2p.yaml") == Path.home() / "ringrift-runs" / "square8_2p"
    assert os.path.isabs(default_run_dir("x/a.yaml"))
