"""Node loss on a multi-node `ray.cluster_utils.Cluster` (`local_cluster.start_cluster`: a
head that runs no tasks, and a selfplay, trainer, buffer and evaluator node told apart by
custom resources). The main job is submitted through the Jobs SDK (token auth), and while
it runs the node hosting one part of it is killed without warning
(``remove_node(allow_graceful=False)``), then a node with the same custom resource is
added, as a cluster autoscaler would:

- (a) the selfplay node: the selfplay worker restarts on the new node;
- (b) the replay buffer's node, first with no replacement: the job waits
  ``run.startup_timeout_s``, then stops with a summary that counts the buffer's unflushed
  samples as lost; re-submitted once the node is back, it resumes, and a second loss
  (replaced at once) makes the buffer restart there and restore its shards;
- (c) the trainer's node (rank 0 and rank 1 of 2 DDP workers), replaced at once: Ray Train
  restarts the worker group there from its last registered checkpoint;
- (d) the evaluator's node: the evaluator restarts with its league and evaluates on.

Each job (but the one left without capacity) ends SUCCEEDED with its train steps, and
the victim restarted on the new node (State API). One cluster serves the module; each test
leaves every role with a live node.
"""

import json
import shlex
import sys
import time
from pathlib import Path

import pytest

from experiments.ops.local_cluster import start_cluster, submit_job

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64
PINNED = ["run.selfplay_resources={selfplay_node: 1}", "run.train_resources={trainer_node: 1}",
          "run.buffer_resources={buffer_node: 1}", "run.eval_resources={evaluator_node: 1}"]
# training paced by selfplay (replay ratio 4) and selfplay by training (at most 256 samples
# worth of steps ahead), so steps after a loss need new samples and no core plays for nothing
SMALL = ["buffer.target_replay_ratio=4", "buffer.throttle_slack=256", f"train.batch_size={BATCH}",
         "run.checkpoint_every=5", "run.report_every=5", "run.publish_every=5",
         "run.log_every_s=2", "run.startup_timeout_s=60", "run.time_budget_s=900",
         "eval.enabled=false"]


@pytest.fixture(scope="module")
def cluster():
    with start_cluster({"selfplay": 2, "trainer": 2, "buffer": 1, "evaluator": 1}) as running:
        yield running


def _submit(cluster, run_dir: Path, tmp: Path, *sets: str) -> str:
    """Submit the smoke job with ``sets`` through the Jobs SDK. The job runs this checkout
    (``cd`` + ``PYTHONPATH``) rather than a ``working_dir`` package: every job then shares
    the suite's compiled-kernel cache (numba keys it by source path; a package is unpacked
    elsewhere and compiles again, ~90 s), and a re-submitted job cannot meet its
    predecessor's package being cleaned up."""
    args = [sys.executable, "-m", "experiments.alphazero", "--config",
            "experiments/configs/smoke.yaml", "--run-dir", str(run_dir)]
    for s in (*PINNED, *SMALL, *sets):
        args += ["--set", s]
    return submit_job(
        cluster.dashboard, f"cd {shlex.quote(str(ROOT))} && {shlex.join(args)}",
        runtime_env={"env_vars": {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
                                  "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}})


def _finish(cluster, job: str, tmp: Path, timeout: float = 300) -> tuple[object, str]:
    """The job's final status and its logs (all of them also in ``tmp/<job>.log``)."""
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(cluster.dashboard)
    deadline = time.monotonic() + timeout
    status = client.get_job_status(job)
    while not status.is_terminal() and time.monotonic() < deadline:
        time.sleep(1)
        status = client.get_job_status(job)
    if not status.is_terminal():
        client.stop_job(job)
    logs = client.get_job_logs(job)
    (tmp / f"{job}.log").write_text(logs)
    return status, logs


def _wait_for(predicate, what: str, cluster, job: str, tmp: Path, timeout: float = 240):
    """Poll ``predicate`` until it holds; on a timeout or the job's end, stop the job and
    show its logs."""
    from ray.job_submission import JobSubmissionClient

    client, deadline = JobSubmissionClient(cluster.dashboard), time.monotonic() + timeout
    while time.monotonic() < deadline and not client.get_job_status(job).is_terminal():
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"no {what} (timed out or the job ended)\n"
                         f"{_finish(cluster, job, tmp, timeout=0)[1][-4000:]}")


def _checkpoint_step(run_dir: Path) -> int:
    """The step of the newest checkpoint Ray Train has registered (0 before one): what a
    restarted worker group or a re-run restores. A checkpoint folder written but not yet
    registered when its node dies is not restored."""
    steps = []
    for path in run_dir.glob("ray_train/*/checkpoint_manager_snapshot.json"):
        try:
            latest = json.loads(path.read_text())["latest_checkpoint_result"]
        except (json.JSONDecodeError, KeyError):  # being rewritten
            continue
        steps.append(latest["metrics"]["step"] if latest else 0)
    return max(steps, default=0)


def _summary(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    samples = summary["samples"]  # the ledger (README "Reliability"): nothing lost
    assert samples["acknowledged_lost"] == 0 and samples["lost"] == 0, samples
    return summary


def _actors(cluster, job: str, **filters: str) -> list:
    """The State API's records of one job's actors matching ``filters`` (a restarted actor
    keeps its record; its node is the latest)."""
    from ray.job_submission import JobSubmissionClient
    from ray.util.state import list_actors

    job_id = JobSubmissionClient(cluster.dashboard).get_job_info(job).job_id
    return list_actors(address=cluster.dashboard, detail=True, raise_on_missing_output=False,
                       filters=[("job_id", "=", job_id), *((k, "=", v) for k, v in
                                                            filters.items())])


def _actor(cluster, job: str, name: str):
    """The record of one job's actor named ``name``."""
    found = _actors(cluster, job, name=name)
    assert len(found) == 1, found
    return found[0]


def _scalars(run_dir: Path, tag: str) -> list[float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = []
    for f in sorted((run_dir / "tensorboard").glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(f))
        acc.Reload()
        if tag in acc.Tags()["scalars"]:
            out += [e.value for e in acc.Scalars(tag)]
    return out


def _rows_on_disk(run_dir: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(p).num_rows for p in (run_dir / "replay").glob("*.parquet"))


def _lose(cluster, role: str) -> tuple[str, str]:
    """Kill ``role``'s node and add its replacement: ``(lost id, new id)``."""
    return cluster.remove(role), cluster.add(role)


def _survived(cluster, job: str, tmp: Path, steps: int, victim: str, lost: str, new: str,
              victim_restarted: bool = True) -> dict:
    """The job SUCCEEDED with its steps, nothing lost (`_summary`), and the actor named
    ``victim`` restarted on the ``new`` node (``victim_restarted``; else it stayed alive
    where it was); returns the summary."""
    from ray.job_submission import JobStatus

    status, logs = _finish(cluster, job, tmp)
    assert status == JobStatus.SUCCEEDED, logs[-4000:]
    summary = _summary(tmp / victim.split(":")[0])
    assert summary["error"] is None and summary["train_step"] == steps
    actor = _actor(cluster, job, victim)
    if victim_restarted:
        assert actor.node_id == new != lost and actor.num_restarts >= 1
    else:
        assert actor.node_id not in (lost, new) and actor.num_restarts == 0
    return summary


def test_selfplay_node_lost_selfplay_restarts_on_the_new_node(cluster, tmp_path):
    run_dir, steps = tmp_path / "lose_selfplay", 25
    job = _submit(cluster, run_dir, tmp_path, f"run.train_steps={steps}",
                  "buffer.flush_every_samples=1")  # every acknowledged sample is on disk
    _wait_for(lambda: _checkpoint_step(run_dir) >= 5, "a checkpoint", cluster, job, tmp_path)
    lost = cluster.remove("selfplay")
    before = _rows_on_disk(run_dir)  # all the lost worker's acknowledged samples
    new = cluster.add("selfplay")
    _survived(cluster, job, tmp_path, steps, "lose_selfplay:selfplay_0", lost, new)
    assert _rows_on_disk(run_dir) > before  # the restarted worker's games
    for name in ("weights", "budget"):  # beside the driver: they share only its fate
        assert _actor(cluster, job, f"lose_selfplay:{name}").node_id == cluster.node_ids()["head"]


def test_buffer_node_lost_waits_stops_then_the_buffer_restores_its_shards(cluster, tmp_path):
    from ray.job_submission import JobStatus

    run_dir, steps = tmp_path / "lose_buffer", 20
    sets = (f"run.train_steps={steps}", "buffer.flush_every_samples=32",
            "run.startup_timeout_s=10", "run.shutdown_grace_s=5")
    first = _submit(cluster, run_dir, tmp_path, *sets)
    _wait_for(lambda: _checkpoint_step(run_dir) >= 5 and _rows_on_disk(run_dir) > 2 * BATCH,
              "a checkpoint and flushed shards", cluster, first, tmp_path)
    cluster.remove("buffer")  # no replacement: the job waits, then stops with a summary
    status, logs = _finish(cluster, first, tmp_path)
    assert status == JobStatus.FAILED, logs[-4000:]
    assert "capacity lost for" in logs and "replay buffer" in logs, logs[-4000:]
    stopped = json.loads((run_dir / "summary.json").read_text())
    assert "ResourcesUnavailable" in stopped["error"] and stopped["buffer"] is None, stopped
    samples = stopped["samples"]  # the unflushed window died with the node: counted as lost
    assert samples["acknowledged_lost"] == 0 and samples["written"] > 0, samples
    assert samples["generated"] == samples["written"] + samples["lost"], samples
    saved = _checkpoint_step(run_dir)

    cluster.add("buffer")  # capacity is back: the same command resumes the run
    again = _submit(cluster, run_dir, tmp_path, *sets)
    _wait_for(lambda: _checkpoint_step(run_dir) > saved, "a new checkpoint", cluster, again,
              tmp_path)
    lost, new = _lose(cluster, "buffer")  # replaced at once: the buffer restarts there
    on_disk = _rows_on_disk(run_dir)  # the restarted buffer reads at least these
    summary = _survived(cluster, again, tmp_path, steps, "lose_buffer:replay_buffer", lost,
                        new)
    window = summary["buffer"]["configs"]["square8/2p"]
    # the restarted process counts only what was added to it: the rest it restored
    assert window["size"] - window["added"] >= on_disk, (window, on_disk)


def test_trainer_node_lost_ray_train_restarts_the_worker_group(cluster, tmp_path):
    run_dir, steps, workers = tmp_path / "lose_trainer", 25, 2
    job = _submit(cluster, run_dir, tmp_path, f"run.train_steps={steps}",
                  f"run.train_workers={workers}")
    _wait_for(lambda: _checkpoint_step(run_dir) >= 5, "a checkpoint", cluster, job, tmp_path)
    saved = _checkpoint_step(run_dir)
    lost, new = _lose(cluster, "trainer")  # replaced at once: Ray Train restarts the group
    summary = _survived(cluster, job, tmp_path, steps, "lose_trainer:selfplay_0", lost, new,
                        victim_restarted=False)
    resumed = _scalars(run_dir, "train/resumed_at_step")
    assert any(v >= saved for v in resumed), (saved, resumed)  # from a registered checkpoint
    window = summary["buffer"]["configs"]["square8/2p"]
    assert window["sampled"] % (BATCH * workers) == 0  # one reservation per DDP step
    nodes = sorted(a.node_id for a in _actors(cluster, job, class_name="RayTrainWorker"))
    assert nodes == sorted([lost] * workers + [new] * workers), (nodes, lost, new)


def test_evaluator_node_lost_the_evaluator_restarts_and_evaluates_on(cluster, tmp_path):
    run_dir, steps = tmp_path / "lose_evaluator", 20
    job = _submit(cluster, run_dir, tmp_path, f"run.train_steps={steps}", "eval.enabled=true")
    league = run_dir / "league.json"
    _wait_for(lambda: league.exists() and json.loads(league.read_text())["versions"],
              "a first evaluation", cluster, job, tmp_path)
    before = max(v["version"] for v in json.loads(league.read_text())["versions"])
    lost, new = _lose(cluster, "evaluator")
    summary = _survived(cluster, job, tmp_path, steps, "lose_evaluator:evaluator", lost, new)
    assert summary["eval_error"] is None
    after = [v["version"] for v in json.loads(league.read_text())["versions"]]
    assert after[-1] == steps and after[-1] > before, (before, after)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
