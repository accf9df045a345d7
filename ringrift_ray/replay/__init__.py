"""Replay data along its way from selfplay to the trainer:

- `schema`: the Arrow schema of `ringrift_ray.samples.SampleBatch` (the sample contract
  lives one level down, in ``ringrift_ray/samples.py``, because selfplay writes it and
  selfplay sits below replay),
- `shards`: crash-safe Parquet shards on local disk or a storage URI (with quarantine),
- `npz`: export to the reference training code's NPZ layout,
- `window`: one FIFO window of samples per (board, players) configuration,
- `buffer`: the replay buffer without Ray (windows, rates, spill and restore); the
  `ReplayBuffer` actor in ``actors/`` wraps it.
"""

from ringrift_ray.replay.buffer import AddReply, Buffer, BufferStats
from ringrift_ray.replay.npz import export_directory, export_npz
from ringrift_ray.replay.schema import SAMPLE_SCHEMA, batch_to_table, table_to_batch
from ringrift_ray.replay.shards import (
    QUARANTINE_DIR,
    list_shards,
    quarantine_shard,
    read_shard,
    read_shards,
    shard_stem,
    write_shard,
)
from ringrift_ray.replay.window import ConfigStats, Window

__all__ = [
    "QUARANTINE_DIR",
    "SAMPLE_SCHEMA",
    "AddReply",
    "Buffer",
    "BufferStats",
    "ConfigStats",
    "Window",
    "batch_to_table",
    "export_directory",
    "export_npz",
    "list_shards",
    "quarantine_shard",
    "read_shard",
    "read_shards",
    "shard_stem",
    "table_to_batch",
    "write_shard",
]
