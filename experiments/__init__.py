"""The jobs: the command lines that run RingRift AlphaZero on Ray. Only this package (and
``ringrift_ray/cli``) parses a command line.

Jobs, each ``python -m experiments.<job> --config experiments/configs/<name>.yaml``:

- ``alphazero``    the main job: selfplay actors, replay buffer, Ray Train, gated evaluation
- ``pbt``          population-based training: one selfplay stream, a Ray Tune population
- ``tune_search``  hyperparameter search: Ray Tune, Optuna TPE and ASHA

Their parts, which never import a job:

- ``tune/``  the Ray Tune pieces of ``pbt`` and ``tune_search`` (configs, trainables,
  scheduler)
- ``ops/``   everything else the jobs run on: the one start-up, the Ray session, resource
  checks, the selfplay fleet, driver pumps, the Ray Train loop, TensorBoard, test clusters
  and fault injection
- ``configs/``  the YAML configs (``cluster/``: for ``cluster.yaml``)
"""
