"""The one start-up of the jobs (`experiments.ops.startup`): each failure is an exit status
and a message, before Ray starts; each checkpoint is read once and its weights are handed
on. Ray itself is stubbed out (`connect`, `wait_for_resources`)."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments.ops import startup
from experiments.ops.resources import ResourcesUnavailable
from experiments.ops.startup import Job, StartupError, start
from ringrift_ray.config import AlphaZeroConfig
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "experiments" / "configs" / "smoke.yaml")
MAIN = Job(name="alphazero", model=AlphaZeroConfig, resumes=True)
SPEC = NetSpec("square8", 2, "tiny")  # smoke.yaml's net


def _args(run_dir, *sets: str, config: str = SMOKE) -> argparse.Namespace:
    return argparse.Namespace(config=config, run_dir=str(run_dir), set=list(sets))


@pytest.fixture
def no_ray(monkeypatch):
    """`start` without Ray: ``connect`` returns "started locally", resources always fit."""
    monkeypatch.setattr(startup, "connect", lambda run: False)
    monkeypatch.setattr(startup, "wait_for_resources", lambda cfg, timeout_s: None)


@pytest.fixture
def loads(monkeypatch):
    """The paths `startup` loads checkpoints from, in order."""
    seen = []
    real = startup.load_checkpoint

    def counting(path, **kw):
        seen.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(startup, "load_checkpoint", counting)
    return seen


def _net(seed: int) -> PolicyValueNet:
    torch.manual_seed(seed)
    return PolicyValueNet(SPEC)


def test_each_checkpoint_is_loaded_once_and_handed_on(tmp_path, no_ray, loads):
    run = tmp_path / "run"
    latest, promoted, warm = _net(1), _net(2), _net(3)
    save_checkpoint(latest, run / "checkpoints" / "latest.pt", step=20)
    save_checkpoint(promoted, run / "checkpoints" / "promoted.pt", step=10)
    save_checkpoint(warm, tmp_path / "warm.pt")
    started = start(MAIN, _args(run, "eval.enabled=true",
                                f"train.init_checkpoint={tmp_path / 'warm.pt'}"),
                    {"run.train_steps": 7})
    assert sorted(loads) == sorted([str(run / "checkpoints" / "latest.pt"),
                                    str(run / "checkpoints" / "promoted.pt"),
                                    str(tmp_path / "warm.pt")])
    assert started.cfg.run.train_steps == 7 and started.run_dir == run.resolve()
    assert started.resume.path.endswith("promoted.pt") and started.resume.step == 10
    for k, v in promoted.state_dict().items():
        assert np.array_equal(started.resume.weights[k], v.numpy()), k
    for k, v in warm.state_dict().items():
        assert np.array_equal(started.warm_start[k], v.numpy()), k
    without_eval = start(MAIN, _args(run, "eval.enabled=false"))
    assert without_eval.resume.step == 20 and without_eval.warm_start is None


def test_a_new_run_of_a_tune_job_loads_no_run_checkpoint(tmp_path, no_ray, loads):
    job = Job(name="tune_search", model=AlphaZeroConfig, local_run_dir=True,
              checks_resources=False)
    save_checkpoint(_net(1), tmp_path / "run" / "checkpoints" / "latest.pt", step=20)
    started = start(job, _args(tmp_path / "run"))
    assert started.resume is None and started.warm_start is None and loads == []


@pytest.mark.parametrize("sets, message", [
    (["train.lrr=1"], "bad config: "),
    (["game.board=square9"], "square9"),
    (["train.init_checkpoint=/nowhere/warm.pt"], "bad train.init_checkpoint: "),
])
def test_bad_input_exits_2_before_ray_and_writes_nothing(tmp_path, monkeypatch, sets, message):
    monkeypatch.setattr(startup, "connect", lambda run: pytest.fail("Ray started"))
    with pytest.raises(StartupError, match=message) as error:
        start(MAIN, _args(tmp_path / "run", *sets))
    assert error.value.exit_code == 2
    if message != "bad train.init_checkpoint: ":  # the config fails before the run dir
        assert not (tmp_path / "run").exists()


def test_unreadable_or_mismatching_run_checkpoint_exits_2(tmp_path, monkeypatch):
    monkeypatch.setattr(startup, "connect", lambda run: pytest.fail("Ray started"))
    ckpt = tmp_path / "run" / "checkpoints" / "latest.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(StartupError, match="cannot resume .*latest.pt") as error:
        start(MAIN, _args(tmp_path / "run"))
    assert error.value.exit_code == 2 and ckpt.read_bytes() == b"not a checkpoint"
    save_checkpoint(PolicyValueNet(NetSpec("hex8", 2, "tiny")), ckpt)
    with pytest.raises(StartupError, match="hex8"):
        start(MAIN, _args(tmp_path / "run"))


def test_a_tune_job_needs_a_local_run_dir(tmp_path):
    job = Job(name="pbt", model=AlphaZeroConfig, local_run_dir=True)
    with pytest.raises(StartupError, match="needs a local directory") as error:
        start(job, _args("s3://bucket/run"))
    assert error.value.exit_code == 2


def test_a_cluster_too_small_exits_1_with_a_summary(tmp_path, monkeypatch):
    def short(cfg, timeout_s):
        raise ResourcesUnavailable("the cluster cannot run this job (CPU: needs 9)")

    monkeypatch.setattr(startup, "connect", lambda run: False)
    monkeypatch.setattr(startup, "wait_for_resources", short)
    with pytest.raises(StartupError, match="CPU: needs 9") as error:
        start(MAIN, _args(tmp_path / "run"))
    assert error.value.exit_code == 1
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "cannot run this job" in summary["error"]
