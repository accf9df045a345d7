"""The PBT scheduler and a Tune callback of ``experiments/pbt.py``.

`StrengthPBT` is Ray Tune's `PopulationBasedTraining` with a noise guard on exploit and a
fix for synchronous PBT after ``Tuner.restore``; `make_scheduler` builds it from
``pbt.*``; `KeepTrialResults` keeps Tune's per-trial result files whole across the
restarts that exploits cause. The fixes touch Ray 2.60 internals (``_quantiles``,
``_trial_state``, ``_next_perturbation_sync``; ``trial.local_path`` / ``trial.storage``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pyarrow.fs
from ray.tune import Callback
from ray.tune.schedulers import PopulationBasedTraining

from experiments.tune.config import PBTExperimentConfig, clip_to_space


class StrengthPBT(PopulationBasedTraining):
    """PBT whose bottom quantile exploits only members at least ``min_gap`` (score units:
    Elo) below the weakest member of the top quantile: a smaller gap is within evaluation
    noise. With ``min_gap`` = 0 it is Ray's `PopulationBasedTraining`."""

    def __init__(self, *args, min_gap: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_gap = min_gap

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        """Ray's decision, then unblock synchronous PBT after a restore: the restored
        scheduler starts with ``_next_perturbation_sync`` = one interval while the members
        report their restored iteration (say 4); Ray 2.60 then sets the next sync point to 4,
        where every member already is, and runs none of them again (a deadlock). When every
        live member is at or past the next sync point, move it one interval further."""
        decision = super().on_trial_result(tune_controller, trial, result)
        if self._synch:
            times = [s.last_train_time for t, s in self._trial_state.items()
                     if not t.is_finished()]
            if times and min(times) >= self._next_perturbation_sync:
                self._next_perturbation_sync = max(times) + self._perturbation_interval
        return decision

    def _quantiles(self):
        lower, upper = super()._quantiles()
        if not upper or self.min_gap <= 0:
            return lower, upper
        floor = min(self._trial_state[t].last_score for t in upper)
        return [t for t in lower if self._trial_state[t].last_score < floor - self.min_gap], upper


class KeepTrialResults(Callback):
    """Copy a trial's ``result.json`` / ``progress.csv`` from the driver's staging directory
    to storage right before the trial (re)starts from a checkpoint. Ray Tune 2.60 restores
    those files from storage at that moment, and storage lags the staging directory by up to
    the experiment-sync period: without this, the rows a member reported since the last sync
    were lost at every PBT exploit."""

    FILES = ("result.json", "progress.csv")

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        if not trial.checkpoint:
            return
        for name in self.FILES:
            local = Path(trial.local_path, name)
            if local.exists():
                pyarrow.fs.copy_files(str(local), Path(trial.storage.trial_fs_path, name)
                                      .as_posix(),
                                      destination_filesystem=trial.storage.storage_filesystem)


def make_scheduler(cfg: PBTExperimentConfig) -> StrengthPBT:
    """The PBT scheduler: score ``pbt/elo`` (max), time in Tune iterations."""
    p = cfg.pbt
    space = {k: d.domain() if d.values is None else list(d.values)
             for k, d in p.mutations.items()}
    return StrengthPBT(
        time_attr="training_iteration", metric="pbt/elo", mode="max",
        perturbation_interval=p.perturbation_interval, burn_in_period=p.burn_in_iterations,
        hyperparam_mutations=space, quantile_fraction=p.quantile_fraction,
        resample_probability=p.resample_probability,
        perturbation_factors=tuple(p.perturbation_factors),
        custom_explore_fn=functools.partial(clip_to_space, space=p.mutations),
        synch=p.synch, min_gap=p.min_elo_gap)
