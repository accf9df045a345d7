"""Population-based training (experiments/pbt.py) end to end: the smoke population runs in a
subprocess until its time budget stops it, then a second run with the same run directory
restores it. Exploit/explore are read from Tune's own results (ExperimentAnalysis): a
member's config changes mid-run and its checkpoint came from another member's trial
directory. The shared buffer holds exactly the samples of the one selfplay stream. Plus fast
checks of the PBT config and the noise guard of `StrengthPBT`."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "experiments/configs/pbt_smoke.yaml"


def _run(run_dir: Path, tmp: Path, stop_after: int, budget: float = 600,
         extra: tuple[str, ...] = ()):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    ray_tmp = tempfile.mkdtemp(prefix="rp", dir="/tmp")  # AF_UNIX paths must stay short
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=ray_tmp, TMPDIR=str(tmp))
    try:
        out = subprocess.run(
            [sys.executable, "-m", "experiments.pbt", "--config", CONFIG, "--run-dir",
             str(run_dir), "--time-budget", str(budget), "--stop-after", str(stop_after),
             *extra],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=budget + 240)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def pbt(tmp_path_factory):
    """Two invocations on one run directory: the first stopped after 8 evaluations (2
    synchronous PBT rounds of 4 members: the bottom half copied the top half after round
    1), the second restores it and stops after 8 more.
    Returns the run dir, both summaries and Tune's per-trial results."""
    import torch
    from ray.tune import ExperimentAnalysis

    from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint

    tmp = tmp_path_factory.mktemp("pbt")
    run_dir = tmp / "run"
    torch.manual_seed(11)
    save_checkpoint(PolicyValueNet(NetSpec("square8", 2, "tiny")), tmp / "warm.pt")
    warm = ("--set", f"train.init_checkpoint={tmp / 'warm.pt'}")  # new members start from it
    first = _run(run_dir, tmp, 8, extra=warm)
    rows_after_first = sum(1 for _ in _shard_rows(run_dir))
    second = _run(run_dir, tmp, 8, extra=warm)
    analysis = ExperimentAnalysis(str(run_dir / "tune" / "run"))
    frames = {t.trial_id: df for t in analysis.trials
              for path, df in analysis.trial_dataframes.items() if t.trial_id in path}
    return SimpleNamespace(run_dir=run_dir, first=first, second=second, frames=frames,
                           rows_after_first=rows_after_first)


def _shard_rows(run_dir: Path):
    from ringrift_ray.replay import shards

    batch = shards.read_shards(run_dir / "replay", "square8", 2)
    return [] if batch is None else zip(batch.game_id, batch.model_version, strict=True)


def test_exploit_and_explore_read_from_tune_results(pbt):
    """Exploit: a member's result after an exploit says it trained on from a checkpoint in
    another member's trial directory, continuing that member's step count. Explore: its
    values lie in the declared distributions, differ from the values the source ran with,
    and (for some member) differ from its own before: its config changed mid-run. (Each
    single exploit may repeat values by chance: a member can copy the same source twice,
    and a range end clips a perturbation.)"""
    from experiments.tune.config import PBTExperimentConfig
    from ringrift_ray.config import load_yaml

    mutations = load_yaml(ROOT / CONFIG, PBTExperimentConfig).pbt.mutations
    keys = [f"config/{k}" for k in mutations]
    exploits = []
    for trial_id, df in pbt.frames.items():
        df = df.sort_values(["timestamp", "training_iteration"]).reset_index(drop=True)
        for i in range(1, len(df)):
            if df.loc[i, "pbt/exploited"] == 1:
                exploits.append((trial_id, df.loc[i - 1], df.loc[i]))
    assert exploits, "no exploit in Tune's results"
    changed = explored = 0
    for trial_id, before, after in exploits:
        source_dir = Path(after["pbt/restored_checkpoint"]).parent.name
        assert trial_id not in source_dir, source_dir  # another member's checkpoint
        source = next(t for t in pbt.frames if t in source_dir)
        assert f"m{int(source.rsplit('_', 1)[1])}" == after["pbt/exploited_from"]
        src = pbt.frames[source]
        copied = src[src["pbt/step"] == after["pbt/step"] - 5]  # steps_per_iteration
        assert len(copied), "the member did not continue the source's step count"
        for key, dist in mutations.items():
            value = after[f"config/{key}"]
            assert (value in dist.values) if dist.values else dist.low <= value <= dist.high
        changed += any(before[k] != after[k] for k in keys)
        explored += all(any(row[k] != after[k] for k in keys) for _, row in copied.iterrows())
    assert changed >= 1 and explored >= 1, (changed, explored, len(exploits))
    assert pbt.first["exploits"] + pbt.second["exploits"] >= len(exploits)


def test_new_members_start_from_the_warm_start(pbt):
    """Each member's first report (a new member) says it started from
    ``train.init_checkpoint``; later ones, after a restore or an exploit, do not."""
    for trial_id, df in pbt.frames.items():
        rows = df.sort_values("training_iteration")["pbt/warm_start"].tolist()
        assert rows[0] == 1 and sum(rows[1:]) == 0, (trial_id, rows)


def test_shared_buffer_holds_the_one_selfplay_stream_only(pbt):
    """Every sample on disk comes from the one selfplay worker (game ids of worker 0) and was
    played by a network the population published to selfplay; the number of samples equals
    what that stream generated; every member trained from the buffer."""
    assert pbt.first["selfplay_workers"] == 1 and pbt.second["selfplay_workers"] == 1
    rows = list(_shard_rows(pbt.run_dir))
    assert pbt.rows_after_first == pbt.first["samples_generated"] > 0
    assert len(rows) == pbt.first["samples_generated"] + pbt.second["samples_generated"]
    assert all(0 <= game < 10**9 for game, _ in rows)  # worker 0's game ids
    table = json.loads((pbt.run_dir / "population.json").read_text())
    published = {0} | {s["version"] for s in table["selfplay"]}
    assert {int(v) for _, v in rows} <= published
    for df in pbt.frames.values():
        assert df["pbt/step"].max() >= 5 and (df["train/samples_per_s"] > 0).all()


def test_stopped_population_restores_and_continues(pbt):
    """The first run stopped (``--stop-after``, the time budget's mechanism) with members
    unfinished; the second run restored the
    same trials, which continued from their checkpoints (step counts go on, no restart from
    0), with the buffer and the population league."""
    first, second = pbt.first, pbt.second
    assert first["stopped_by"] == "8 evaluations" and not first["finished"]
    assert not first["restored"] and second["restored"]
    assert second["buffer_restored"] == first["samples_generated"]
    ids = {m["trial_id"] for m in first["members"]}
    assert ids == {m["trial_id"] for m in second["members"]} and len(ids) == 4
    continued = 0
    for df in pbt.frames.values():
        old = df[df["timestamp"] < second["fit_started_at"]]
        new = df[df["timestamp"] >= second["fit_started_at"]]
        assert len(old), "a member reported nothing before the stop"
        if len(new):
            assert new["pbt/step"].min() > 5 and new["pbt/restored_checkpoint"].iloc[0]
            assert new["training_iteration"].min() > 1
            continued += 1
    assert continued >= 3
    table = json.loads((pbt.run_dir / "population.json").read_text())
    assert second["evaluations"] == len(table["versions"]) > first["evaluations"]
    assert [v["version"] for v in table["versions"]] == list(range(len(table["versions"])))


def test_population_elo_plot(pbt, tmp_path, capsys):
    """`ringrift-ray elo RUN_DIR` on a PBT run: the member table and a PNG."""
    from ringrift_ray.cli import views

    table = views.elo(str(pbt.run_dir), str(tmp_path / "elo.png"))
    assert table.kind == "population"
    assert (tmp_path / "elo.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "population square8 2p: 4 members" in out and "exploits" in out


def test_pbt_config_rejects_bad_mutations(tmp_path):
    from experiments.tune.config import Distribution, PBTExperimentConfig, PBTSettings

    with pytest.raises(ValueError, match="only keys under train"):
        PBTExperimentConfig(pbt=PBTSettings(mutations={"search.c_visit": Distribution(
            low=1, high=2)}))
    with pytest.raises(ValueError, match="train.batch_size = 0"):
        PBTExperimentConfig(pbt=PBTSettings(mutations={"train.batch_size": Distribution(
            values=[0, 64])}))
    with pytest.raises(ValueError, match="checkpoints_to_keep"):
        PBTSettings(perturbation_interval=4, checkpoints_to_keep=4,
                    mutations={"train.lr": Distribution(low=1e-4, high=1e-2)})
    bad = tmp_path / "bad.yaml"
    bad.write_text("pbt:\n  mutations:\n    train.lrr: {low: 0.1, high: 0.2}\n")
    out = subprocess.run([sys.executable, "-m", "experiments.pbt", "--config", str(bad)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "train.lrr" in out.stderr


def test_strength_pbt_exploits_only_beyond_the_noise_gap():
    """The bottom quantile keeps only members more than min_gap Elo below the top's worst."""
    from experiments.tune.scheduler import StrengthPBT

    pbt = StrengthPBT(time_attr="training_iteration", metric="pbt/elo", mode="max",
                      hyperparam_mutations={"train.lr": [1e-3, 2e-3]}, quantile_fraction=0.5,
                      min_gap=50.0)
    class Trial:  # hashable stand-in with the two things _quantiles reads
        def __init__(self, name):
            self.name = name

        def is_finished(self):
            return False

    trials = [Trial(n) for n in "abcd"]
    for t, score in zip(trials, (0.0, 60.0, 100.0, 120.0), strict=True):
        pbt._trial_state[t] = SimpleNamespace(last_score=score)
    lower, upper = pbt._quantiles()
    assert [t.name for t in upper] == ["c", "d"] and [t.name for t in lower] == ["a"]
