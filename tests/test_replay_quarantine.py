"""Bad replay shards (truncated, not Parquet, a foreign schema, samples of another
configuration, flipped bits): named in the error, or with ``on_error="skip"`` skipped and
moved into ``quarantine/`` (never deleted, never overwritten) while the other shards still
load, also through `Buffer.restore`."""

import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sample_data import make_batch

from ringrift_ray.config import BufferConfig
from ringrift_ray.replay import shards
from ringrift_ray.replay.buffer import Buffer
from ringrift_ray.replay.schema import batch_to_table
from ringrift_ray.replay.shards import list_shards, read_shard, read_shards, write_shard
from ringrift_ray.samples import ARRAY_FIELDS, SampleBatch, concat_batches

HALVES = [make_batch(20, seed=1), make_batch(20, first_id=20, seed=2)]
SQUARE8 = concat_batches(HALVES)
HEX8 = make_batch(15, "hex8", 3, first_id=100, seed=3)


def _assert_same(a: SampleBatch, b: SampleBatch) -> None:
    assert (a.board, a.players) == (b.board, b.players)
    for name in ARRAY_FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def _bad_shards(tmp_path):
    """Shards in ``tmp_path``: two good square8 ones and four bad ones (truncated, not
    Parquet at all, a foreign Parquet schema, hex8 samples under a square8 name)."""
    good = [write_shard(half, tmp_path, stem=stem) for half, stem in zip(HALVES, "af", strict=True)]
    truncated = write_shard(SQUARE8, tmp_path, stem="b")
    truncated.write_bytes(truncated.read_bytes()[:-200])
    garbage = tmp_path / "square8_2p_c.parquet"
    garbage.write_bytes(b"PAR1 not really")
    foreign = tmp_path / "square8_2p_d.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), foreign)
    mislabeled = tmp_path / "square8_2p_e.parquet"
    write_shard(HEX8, tmp_path, stem="e").rename(tmp_path / "tmp.bin")
    (tmp_path / "tmp.bin").rename(mislabeled)
    return good, [truncated, garbage, foreign, mislabeled]


def test_bad_shards_are_named_then_moved_aside(tmp_path, caplog):
    good, bad = _bad_shards(tmp_path)
    contents = {p.name: p.read_bytes() for p in bad}
    for path in reversed(bad):  # newest (by name) first
        with pytest.raises(ValueError, match=path.name):
            read_shards(tmp_path, "square8", 2, on_error="raise")
        path.rename(path.with_suffix(".hold"))  # the next read meets the next bad shard
    for path in bad:
        path.with_suffix(".hold").rename(path)
    with caplog.at_level(logging.WARNING, logger="ringrift_ray.replay.shards"):
        kept = read_shards(tmp_path, "square8", 2, on_error="skip")
    _assert_same(kept, SQUARE8)  # the two good shards are the whole batch
    quarantine = tmp_path / shards.QUARANTINE_DIR
    assert list_shards(tmp_path) == good and not any(p.exists() for p in bad)
    for path in bad:  # moved, byte for byte, and logged with the new path
        assert (quarantine / path.name).read_bytes() == contents[path.name]
        assert any(str(path) in r.getMessage() and str(quarantine / path.name) in r.getMessage()
                   for r in caplog.records)


def test_quarantine_never_overwrites(tmp_path):
    for k in range(3):
        bad = tmp_path / "square8_2p_x.parquet"
        bad.write_bytes(f"bad {k}".encode())
        assert read_shards(tmp_path, "square8", 2, on_error="skip") is None
    names = sorted(p.name for p in (tmp_path / shards.QUARANTINE_DIR).iterdir())
    assert names == ["square8_2p_x.parquet", "square8_2p_x_1.parquet", "square8_2p_x_2.parquet"]
    texts = {(tmp_path / shards.QUARANTINE_DIR / n).read_text() for n in names}
    assert texts == {"bad 0", "bad 1", "bad 2"}


def test_shard_that_cannot_be_moved_is_still_skipped(tmp_path, caplog, monkeypatch):
    write_shard(SQUARE8, tmp_path, stem="a")
    (tmp_path / "square8_2p_b.parquet").write_bytes(b"junk")

    def refuse(path):
        raise PermissionError(f"read-only: {path}")

    monkeypatch.setattr(shards, "quarantine_shard", refuse)
    with caplog.at_level(logging.WARNING, logger="ringrift_ray.replay.shards"):
        _assert_same(read_shards(tmp_path, "square8", 2, on_error="skip"), SQUARE8)
    assert "could not move it aside" in caplog.text
    assert (tmp_path / "square8_2p_b.parquet").exists()


def test_buffer_restore_survives_bad_shards(tmp_path, caplog):
    good, bad = _bad_shards(tmp_path)
    cfg = BufferConfig(capacity=10_000, min_samples=1)
    with caplog.at_level(logging.WARNING, logger="ringrift_ray.replay.shards"):
        store = Buffer(cfg, spill_dir=tmp_path, seed=0)  # restores the shards
    assert store.stats().size == len(SQUARE8)
    assert sorted(p.name for p in (tmp_path / shards.QUARANTINE_DIR).iterdir()) == sorted(
        p.name for p in bad)
    assert all(p.name in caplog.text for p in bad)
    assert Buffer(cfg, spill_dir=tmp_path, seed=0).stats().size == len(SQUARE8)


def test_flipped_bits_never_change_samples_silently(tmp_path):
    path = write_shard(SQUARE8, tmp_path, stem="a")
    raw = path.read_bytes()
    rng = np.random.default_rng(0)
    errors = 0
    for _ in range(300):
        flipped = bytearray(raw)
        flipped[rng.integers(len(raw))] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        try:
            batch = read_shards(tmp_path, on_error="raise")  # the name is checked too
        except ValueError as e:
            assert str(path) in str(e)
            errors += 1
            continue
        _assert_same(batch, SQUARE8)  # the flip hit bytes no sample depends on
    assert errors > 200
    path.unlink()
    plain = tmp_path / "square8_2p_plain.parquet"  # written before page checksums
    pq.write_table(batch_to_table(SQUARE8), plain, compression="zstd")
    _assert_same(read_shard(plain), SQUARE8)
