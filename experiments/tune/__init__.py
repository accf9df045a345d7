"""The Ray Tune pieces of the PBT job (``experiments/pbt.py``) and the hyperparameter
search (``experiments/tune_search.py``).

- ``config``     `PBTExperimentConfig`, `SearchExperimentConfig`: the main config plus a
  ``pbt:`` or ``tuning:`` section; `Distribution` (one searched or mutated key)
- ``member``     `pbt_member`: one PBT member, a Tune function trainable (train, evaluate,
  report with a checkpoint)
- ``scheduler``  `StrengthPBT` (PBT exploiting on Elo, with a noise guard), `make_scheduler`,
  `KeepTrialResults`
- ``trial``      `search_trial`: one search trial, a whole small AlphaZero in one process
"""

__all__ = ["config", "member", "scheduler", "trial"]
