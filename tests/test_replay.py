"""Replay shards, their Arrow sample schema (`ringrift_ray.replay.schema`) and NPZ export on
real selfplay samples (one tiny-net selfplay per config).
Bad shards: ``test_replay_quarantine.py``."""

import json
import logging
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.encoding import (
    ENCODING_VERSION,
    expand,
    num_actions,
    values_to_players,
    values_to_seats,
)
from ringrift_ray.game import constants as K
from ringrift_ray.game import new_game
from ringrift_ray.net import NetSpec, PolicyValueNet, infer
from ringrift_ray.replay import schema, shards
from ringrift_ray.replay.npz import NPZ_LAYOUT, export_directory, export_npz
from ringrift_ray.replay.schema import SAMPLE_SCHEMA, batch_to_table, table_to_batch
from ringrift_ray.replay.shards import list_shards, read_shard, read_shards, write_shard
from ringrift_ray.samples import ARRAY_FIELDS, SampleBatch, concat_batches
from ringrift_ray.search.game_fns import network_evaluate
from ringrift_ray.selfplay import play_games

CLI_TIMEOUT_S = 900  # a cold numba cache compiles the kernels first


def _selfplay(board_type: str, players: int, seed: int) -> SampleBatch:
    torch.manual_seed(0)
    net = PolicyValueNet(NetSpec(board_type, players, "tiny")).eval()
    evaluate = network_evaluate(lambda obs: infer(net, obs))
    batch, _ = play_games(
        GameConfig(board=board_type, players=players), evaluate, SearchConfig(num_simulations=2),
        SelfplayConfig(games_per_batch=2, full_search_prob=1.0),
        np.random.default_rng(seed), model_version=3, first_game_id=10)
    assert len(batch) > 4
    return batch


@pytest.fixture(scope="module")
def square8() -> SampleBatch:
    return _selfplay("square8", 2, 0)


@pytest.fixture(scope="module")
def hex8() -> SampleBatch:
    return _selfplay("hex8", 3, 1)


def _rows(batch: SampleBatch, start: int, stop: int) -> SampleBatch:
    return table_to_batch(batch_to_table(batch).slice(start, stop - start))


def _assert_same(a: SampleBatch, b: SampleBatch) -> None:
    assert (a.board, a.players) == (b.board, b.players)
    for name in ARRAY_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name


@pytest.mark.parametrize("config", ["square8", "hex8"])
def test_table_round_trip_is_exact(config, request):
    batch = request.getfixturevalue(config)
    table = batch_to_table(batch)
    assert table.num_rows == len(batch)
    assert table.schema.remove_metadata().equals(SAMPLE_SCHEMA.remove_metadata())
    meta = table.schema.metadata
    assert meta[b"board"] == batch.board.encode()
    assert meta[b"players"] == str(batch.players).encode()
    assert meta[b"encoding_version"] == str(ENCODING_VERSION).encode()
    assert meta[b"format_version"] == str(schema.FORMAT_VERSION).encode()
    # one row per sample: row i holds sample i's sparse policy
    i = len(batch) // 2
    assert table.column("policy_indices")[i].as_py() == batch.policy(i)[0].tolist()
    _assert_same(table_to_batch(table), batch)


def test_sliced_and_chunked_tables_convert(square8):
    n = len(square8)
    head, tail = _rows(square8, 0, n // 3), _rows(square8, n // 3, n)
    assert head.policy_offsets[0] == 0 and tail.policy_offsets[0] == 0
    _assert_same(concat_batches([head, tail]), square8)
    chunked = pa.concat_tables([batch_to_table(head), batch_to_table(tail)])
    assert chunked.column("cells").num_chunks == 2
    _assert_same(table_to_batch(chunked), square8)
    empty = table_to_batch(batch_to_table(square8).slice(0, 0))
    assert len(empty) == 0 and empty.cells.shape == (0, 10, 64)
    assert empty.policy_offsets.tolist() == [0]


def test_shard_round_trip_is_exact(square8, hex8, tmp_path):
    for batch in (square8, hex8):
        path = write_shard(batch, tmp_path / "shards")
        assert path.name.startswith(f"{batch.board}_{batch.players}p_")
        assert path.suffix == ".parquet"
        col = pq.ParquetFile(path).metadata.row_group(0).column(0)
        assert col.compression == "ZSTD"
        _assert_same(read_shard(path), batch)
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == sorted(
        p.name for p in list_shards(tmp_path / "shards"))  # no temporary file left behind


def test_write_shard_never_overwrites(square8, tmp_path):
    first = write_shard(_rows(square8, 0, 2), tmp_path, stem="w0")
    second = write_shard(_rows(square8, 2, 5), tmp_path, stem="w0")
    assert first.name == "square8_2p_w0.parquet" and second.name == "square8_2p_w0_1.parquet"
    assert len(read_shard(first)) == 2 and len(read_shard(second)) == 3
    names = {write_shard(square8, tmp_path).name for _ in range(5)}
    assert len(names) == 5


def test_failed_write_leaves_no_file(square8, tmp_path, monkeypatch):
    def broken(table, where, **kwargs):
        where.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(shards.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_shard(square8, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_read_shards_concatenates_and_filters(square8, hex8, tmp_path):
    n = len(square8)
    write_shard(_rows(square8, 0, n // 2), tmp_path, stem="a")
    write_shard(_rows(square8, n // 2, n), tmp_path, stem="b")
    write_shard(hex8, tmp_path, stem="c")
    assert [p.name for p in list_shards(tmp_path, "square8", 2)] == [
        "square8_2p_a.parquet", "square8_2p_b.parquet"]
    assert [p.name for p in list_shards(tmp_path, players=3)] == ["hex8_3p_c.parquet"]
    assert list_shards(tmp_path, "square8", 4) == []
    _assert_same(read_shards(tmp_path, "square8", 2), square8)
    _assert_same(read_shards(tmp_path, "hex8"), hex8)
    assert read_shards(tmp_path, "hexagonal", 2) is None
    with pytest.raises(ValueError, match="cannot mix"):
        read_shards(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_shards(tmp_path / "missing")


def test_corrupt_shard_raises_or_is_skipped(square8, tmp_path, caplog):
    n = len(square8)
    good_a = write_shard(_rows(square8, 0, n // 2), tmp_path, stem="a")
    bad = write_shard(square8, tmp_path, stem="b")
    good_c = write_shard(_rows(square8, n // 2, n), tmp_path, stem="c")
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ValueError, match=bad.name):
        read_shard(bad)
    with pytest.raises(ValueError, match=bad.name):
        read_shards(tmp_path, "square8", 2, on_error="raise")
    with caplog.at_level(logging.WARNING, logger="ringrift_ray.replay.shards"):
        kept = read_shards(tmp_path, "square8", 2, on_error="skip")
    _assert_same(kept, square8)  # a and c together are the whole batch
    assert any(bad.name in r.getMessage() for r in caplog.records)
    assert not any(p.name in r.getMessage() for r in caplog.records for p in (good_a, good_c))
    with pytest.raises(ValueError, match="on_error"):
        read_shards(tmp_path, on_error="ignore")


def test_foreign_schema_and_encoding_version_are_rejected(square8, tmp_path):
    foreign = tmp_path / "square8_2p_foreign.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), foreign)
    with pytest.raises(ValueError, match="square8_2p_foreign.parquet.*foreign schema"):
        read_shard(foreign)

    retyped = batch_to_table(square8)
    retyped = retyped.set_column(6, "ply", retyped.column("ply").cast(pa.int64()))
    wrong_type = tmp_path / "square8_2p_retyped.parquet"
    pq.write_table(retyped, wrong_type)
    with pytest.raises(ValueError, match="retyped.*column ply"):
        read_shard(wrong_type)

    table = batch_to_table(square8)
    old = table.replace_schema_metadata(
        {**table.schema.metadata, b"encoding_version": str(ENCODING_VERSION + 1).encode()})
    stale = tmp_path / "square8_2p_stale.parquet"
    pq.write_table(old, stale)
    with pytest.raises(ValueError, match="stale.*encoding version"):
        read_shard(stale)

    mislabeled = tmp_path / "hex8_3p_mislabeled.parquet"
    pq.write_table(table, mislabeled)
    with pytest.raises(ValueError, match="mislabeled"):
        read_shards(tmp_path, "hex8", 3)


@pytest.mark.parametrize("config", ["square8", "hex8"])
def test_export_npz_reference_layout(config, request, tmp_path):
    batch = request.getfixturevalue(config)
    path = tmp_path / "samples.bin"
    export_npz(batch, path, chunk=7)  # chunks of 7 samples exercise the assembly
    assert path.exists()  # written at the exact path, no ".npz" appended
    with np.load(path, allow_pickle=True) as npz:
        data = {k: npz[k] for k in npz.files}
    n = len(batch)
    obs = expand(batch.board, batch.cells, batch.scalars)
    g = obs.shape[-1]
    assert set(data) == set(NPZ_LAYOUT) == {
        "features", "globals", "values", "values_mp", "num_players", "move_numbers",
        "to_move", "policy_indices", "policy_values", "metadata"}
    assert data["features"].shape == (n, 20, g, g) and data["features"].dtype == np.float32
    assert np.array_equal(data["features"], obs[:, :20])
    assert data["globals"].shape == (n, 23) and data["globals"].dtype == np.float32
    valid = obs[:, 0] > 0  # the broadcast planes hold the globals on every valid cell
    assert np.array_equal(obs[:, 20:].transpose(0, 2, 3, 1)[valid],
                          np.repeat(data["globals"], valid.sum(axis=(1, 2)), axis=0))
    assert data["values"].shape == (n,) and data["values"].dtype == np.float32
    assert np.array_equal(data["values"], batch.values[:, 0])
    for key in ("policy_indices", "policy_values"):
        assert data[key].shape == (n,) and data[key].dtype == object
    for i in (0, n // 2, n - 1):
        idx, val = batch.policy(i)
        assert data["policy_indices"][i].dtype == np.int32
        assert np.array_equal(data["policy_indices"][i], idx)
        assert np.array_equal(data["policy_values"][i], val)
    with pytest.raises(ValueError, match="allow_pickle"):
        np.load(path)["policy_indices"]
    with np.load(path) as npz:  # everything but the policies loads without pickle
        meta = json.loads(str(npz["metadata"]))
        assert npz["values_mp"].shape == (n, 4) and npz["values_mp"].dtype == np.float32
        assert np.array_equal(npz["num_players"], np.full(n, batch.players, dtype=np.int32))
        assert np.array_equal(npz["move_numbers"], batch.ply)
        assert np.array_equal(npz["to_move"], batch.to_move)
    assert (meta["board"], meta["players"], meta["format"]) == (
        batch.board, batch.players, "ringrift-ray-npz")
    assert meta["arrays"] == NPZ_LAYOUT
    assert meta["policy_encoding"] == {"name": "ringrift-ray", "version": ENCODING_VERSION,
                                       "size": num_actions(batch.board),
                                       "doc": meta["policy_encoding"]["doc"]}


def test_export_npz_three_player_values(hex8, tmp_path):
    # values: the player to move's target; values_mp: player p's in column p - 1, zero-padded
    path = tmp_path / "hex8_3p.npz"
    export_npz(hex8, path)
    with np.load(path) as npz:
        values, values_mp, to_move = npz["values"], npz["values_mp"], npz["to_move"]
        assert set(npz["num_players"]) == {3}
    assert hex8.players == 3 and set(to_move) == {1, 2, 3}  # every seat to move somewhere
    assert not values_mp[:, 3].any()
    assert np.array_equal(values, values_mp[np.arange(len(hex8)), to_move - 1])
    state = new_game("hex8", 3)
    for i in range(len(hex8)):
        state.meta[K.M_CURRENT] = to_move[i]
        assert np.array_equal(values_mp[i, :3], values_to_players(state, hex8.values[i, :3]))
        assert np.array_equal(values_to_seats(state, values_mp[i, :3]), hex8.values[i, :3])


def test_export_directory(square8, hex8, tmp_path):
    shards, out = tmp_path / "shards", tmp_path / "out.npz"
    write_shard(square8, shards)
    write_shard(hex8, shards)
    assert export_directory(shards, out, "square8", 2) == len(square8)
    with np.load(out, allow_pickle=True) as npz:
        assert len(npz["values"]) == len(square8)
    with pytest.raises(ValueError, match="no readable square8_4p"):
        export_directory(shards, out, "square8", 4)
    with pytest.raises(FileNotFoundError):
        export_directory(tmp_path / "missing", out, "square8", 2)


def _cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ringrift_ray.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S)


def test_cli_export_end_to_end(square8, hex8, tmp_path):
    shards, out = tmp_path / "shards", tmp_path / "hex.npz"
    n = len(square8)
    write_shard(_rows(square8, 0, n // 2), shards)
    write_shard(_rows(square8, n // 2, n), shards)
    write_shard(hex8, shards)
    proc = _cli("export", shards, "--out", out, "--board", "hex8", "--players", "3",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"exported {len(hex8)} hex8 3p samples" in proc.stdout
    with np.load(out, allow_pickle=True) as npz:
        assert npz["features"].shape[:2] == (len(hex8), 20)

    default = tmp_path / "square8.npz"  # --board square8 --players 2 by default
    assert _cli("export", shards, "--out", default, cwd=tmp_path).returncode == 0
    with np.load(default, allow_pickle=True) as npz:
        assert np.array_equal(npz["values"], square8.values[:, 0])

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _cli("export", empty, "--out", tmp_path / "none.npz", cwd=tmp_path)
    assert proc.returncode == 1
    assert "no readable square8_2p" in proc.stderr and str(empty) in proc.stderr
    assert not (tmp_path / "none.npz").exists()

    proc = _cli("export", tmp_path / "missing", "--out", tmp_path / "none.npz", cwd=tmp_path)
    assert proc.returncode == 1 and "no shard directory" in proc.stderr
