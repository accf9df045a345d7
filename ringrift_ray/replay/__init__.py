"""Replay data along its way from selfplay to the trainer:

- `samples`: `SampleBatch`, the sample contract between selfplay, the buffer and training,
- `schema`: its Arrow schema,
- `shards`: crash-safe Parquet shards on local disk or a storage URI (with quarantine),
- `npz`: export to the reference training code's NPZ layout,
- `window`: one FIFO window of samples per (board, players) configuration,
- `buffer`: the replay buffer without Ray (windows, rates, spill and restore); the
  `ReplayBuffer` actor in ``actors/`` wraps it.
"""

from ringrift_ray.replay.buffer import AddReply, Buffer, BufferStats
from ringrift_ray.replay.npz import export_directory, export_npz
from ringrift_ray.replay.samples import SEATS, SampleBatch, concat_batches, policy_lag, take
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
    "SEATS",
    "AddReply",
    "Buffer",
    "BufferStats",
    "ConfigStats",
    "SampleBatch",
    "Window",
    "batch_to_table",
    "concat_batches",
    "export_directory",
    "export_npz",
    "list_shards",
    "policy_lag",
    "quarantine_shard",
    "read_shard",
    "read_shards",
    "shard_stem",
    "table_to_batch",
    "take",
    "write_shard",
]
