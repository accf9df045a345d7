"""Hyperparameter search (experiments/tune_search.py) end to end in a subprocess with the smoke
config: OptunaSearch proposes 8 configurations, ASHA stops some early (read from Tune's own
results), and the best configuration is written as a main-job config that loads. Plus fast
checks of the search config."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "experiments/configs/search_smoke.yaml"


def test_search_runs_with_asha_stopping_trials_early(tmp_path):
    from ray.tune import ExperimentAnalysis

    from experiments.tune.config import SearchExperimentConfig
    from ringrift_ray.config import AlphaZeroConfig, load_yaml

    run_dir = tmp_path / "search"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    ray_tmp = tempfile.mkdtemp(prefix="rs", dir="/tmp")  # AF_UNIX paths must stay short
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=ray_tmp, TMPDIR=str(tmp_path))
    try:
        out = subprocess.run([sys.executable, "-m", "experiments.tune_search", "--config", CONFIG,
                              "--run-dir", str(run_dir)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=420)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    cfg = load_yaml(ROOT / CONFIG, SearchExperimentConfig)
    max_t = cfg.tuning.iterations

    analysis = ExperimentAnalysis(str(run_dir / "tune" / "search"))
    assert len(analysis.trials) == cfg.tuning.samples
    assert all(t.status == "TERMINATED" for t in analysis.trials)  # none errored
    iterations = [int(df["training_iteration"].max())
                  for df in analysis.trial_dataframes.values()]
    assert any(i < max_t for i in iterations), iterations  # ASHA stopped some early
    assert any(i == max_t for i in iterations), iterations
    configs = [t.config for t in analysis.trials]
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == len(configs)
    for c in configs:
        assert set(c) == set(cfg.tuning.space)

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_early"] == sum(i < max_t for i in iterations)
    best = load_yaml(summary["best_config"], AlphaZeroConfig)  # a ready main-job config
    for key, value in summary["best"]["values"].items():
        section, field = key.split(".")
        assert getattr(getattr(best, section), field) == value
    assert "tuning" not in Path(summary["best_config"]).read_text()


def test_search_config_validates_the_space():
    from experiments.tune.config import Distribution, SearchExperimentConfig, SearchSettings

    with pytest.raises(ValueError, match="search.num_simulations = 0"):
        SearchExperimentConfig(tuning=SearchSettings(space={
            "search.num_simulations": Distribution(values=[0, 8])}))
    with pytest.raises(ValueError, match="only keys under"):
        SearchExperimentConfig(tuning=SearchSettings(space={
            "run.seed": Distribution(values=[1, 2])}))
    with pytest.raises(ValueError, match="low < high"):
        Distribution(low=2.0, high=1.0)
    with pytest.raises(ValueError, match="either values"):
        Distribution(values=[1], low=0.0, high=1.0)
    cfg = SearchExperimentConfig(tuning=SearchSettings(space={
        "net.preset": Distribution(values=["tiny", "compact"]),
        "search.c_visit": Distribution(low=10, high=100, log=True)}))
    assert cfg.main_config().net.preset == cfg.net.preset
    with pytest.raises(ValueError, match="init_checkpoint fixes the net.*net.preset"):
        SearchExperimentConfig(train={"init_checkpoint": "warm.pt"}, tuning=SearchSettings(
            space={"net.preset": Distribution(values=["tiny", "compact"])}))


def test_search_rejects_a_warm_start_for_another_net(tmp_path):
    from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint

    save_checkpoint(PolicyValueNet(NetSpec("hex8", 2, "tiny")), tmp_path / "warm.pt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    env.update(RAY_USAGE_STATS_ENABLED="0")
    for entry, config in (("experiments.tune_search", CONFIG),
                          ("experiments.pbt", "experiments/configs/pbt_smoke.yaml")):
        out = subprocess.run([sys.executable, "-m", entry, "--config", config, "--run-dir",
                              str(tmp_path / entry), "--set",
                              f"train.init_checkpoint={tmp_path / 'warm.pt'}"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert out.returncode == 2, entry
        assert "init_checkpoint" in out.stderr and "hex8" in out.stderr, out.stderr[-2000:]


def test_best_trial_prefers_survivors():
    from experiments.tune_search import best_trial

    rows = [{"iterations": 1, "score": 0.9}, {"iterations": 3, "score": 0.5},
            {"iterations": 3, "score": 0.6}, {"iterations": 2, "score": float("nan")}]
    assert best_trial(rows, 3)["score"] == 0.6
    assert best_trial(rows[:1], 3)["score"] == 0.9
    assert best_trial([], 3) is None
