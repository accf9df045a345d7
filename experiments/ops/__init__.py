"""Everything the jobs (``experiments/alphazero.py``, ``pbt.py``, ``tune_search.py``) run
on, other than Ray Tune.

- ``startup``         the one start-up of every job: config, run directory, checkpoints
  loaded once, Ray connected, resources checked (`start` -> `Startup`)
- ``ray_session``     join ``RAY_ADDRESS`` or start a local Ray (`connect`, `NAMESPACE`)
- ``resources``       what a job asks the cluster for and whether it fits
  (`wait_for_resources`, `shortfall`)
- ``fleet``           the selfplay fleet of the main job and PBT (`start_selfplay`, `named`)
- ``pumps``           driver loops keeping selfplay and evaluation calls in flight
- ``trainer``         the Ray Train per-worker loop of the main job (`train_worker`)
- ``tensorboard``     TensorBoard writers for a local or object-store run directory
- ``local_cluster``   a multi-node Ray cluster on one machine (tests, benchmarks)
- ``fault_injector``  kill a running job's actors and time the recovery (tests, benchmarks)
"""

__all__ = ["fault_injector", "fleet", "local_cluster", "pumps", "ray_session", "resources",
           "startup", "tensorboard", "trainer"]
