"""Warm start: samples from shards, reference traces and heuristic games (shapes, one-hot
targets, seat-relative values), supervised steps that lower the held-out loss, the CLI's
errors and checkpoint, and the main job starting from ``train.init_checkpoint``."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from reference import TRACES

from ringrift_ray import cli
from ringrift_ray.config import AlphaZeroConfig, GameConfig, TrainConfig, with_overrides
from ringrift_ray.encoding import move_to_index
from ringrift_ray.game import state_from_reference
from ringrift_ray.net import NetSpec, PolicyValueNet, load_checkpoint, save_checkpoint
from ringrift_ray.pretrain import (
    evaluate_samples,
    heuristic_samples,
    load_source,
    parse_source,
    pretrain,
    split_by_game,
    take,
    trace_samples,
)
from ringrift_ray.replay.shards import write_shard
from ringrift_ray.search.game_fns import rank_values

GAME = GameConfig(board="square8", players=2)
CELLS = 64


@pytest.fixture(scope="module")
def heuristic_batch():
    return heuristic_samples(GAME, 12, np.random.default_rng(0), epsilon=0.1)


def _check_contract(batch, players):
    n = len(batch)
    assert n > 0 and batch.cells.shape == (n, 10, CELLS) and batch.scalars.shape == (n, 23)
    assert batch.values.shape == (n, 4) and not batch.values[:, players:].any()
    assert batch.policy_offsets.shape == (n + 1,) and batch.policy_offsets[-1] == len(
        batch.policy_indices)


def test_heuristic_samples_one_hot_and_seat_relative(heuristic_batch):
    b = heuristic_batch
    _check_contract(b, 2)
    assert np.array_equal(np.diff(b.policy_offsets), np.ones(len(b)))  # one-hot
    assert np.all(b.policy_values == 1.0)
    for g in np.unique(b.game_id):
        rows = b.game_id == g
        winner_seat0 = b.values[rows, 0]  # seat 0 = the player to move
        assert set(np.abs(winner_seat0)) == {1.0}  # decided games, 2p: +-1
        # the same player's samples carry the same value; the two players' are opposite
        for p in (1, 2):
            assert len(set(winner_seat0[b.to_move[rows] == p])) == 1
        assert winner_seat0[b.to_move[rows] == 1][0] == -winner_seat0[b.to_move[rows] == 2][0]
    firsts = {tuple(b.policy_indices[b.game_id == g][:12]) for g in np.unique(b.game_id)}
    assert len(firsts) > 1  # epsilon moves make games differ


def test_trace_samples_replay_the_played_moves(tmp_path):
    lines = []
    with gzip.open(TRACES / "square8_2p.jsonl.gz", "rt") as f:
        for line in f:
            lines.append(line)
            if '"kind":"game_end"' in line:
                break
    path = tmp_path / "one.jsonl"
    path.write_text("".join(lines))
    steps = [json.loads(x) for x in lines if '"kind":"step"' in x]
    end = json.loads(lines[-1])
    b = trace_samples(path, GAME)
    _check_contract(b, 2)
    assert len(np.unique(b.game_id)) == 1 and len(b) <= len(steps)
    first = state_from_reference(steps[0]["state"], steps[0]["state_extras"])
    assert b.policy_indices[0] == move_to_index(first, steps[0]["chosen"])
    by_player = rank_values({int(p): r for p, r in end["ranks"].items()}, 2)
    for p in (1, 2):
        assert np.all(b.values[b.to_move == p, 0] == by_player[p - 1])
    assert trace_samples(path, GameConfig(board="hex8", players=2)) is None
    with pytest.raises(ValueError, match="no hex8 2p samples"):
        load_source(f"traces:{path}", GameConfig(board="hex8", players=2))

    # a game with a move our engine cannot replay is left out whole, with a warning
    broken = [json.loads(x) for x in lines]
    step = next(x for x in broken[5:] if x.get("kind") == "step")
    step["chosen"] = "place_ring a1 x9 p1"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(x) + "\n" for x in broken))
    with pytest.raises(ValueError, match=r"no trace game could be replayed.*bad.jsonl game"):
        trace_samples(bad, GAME)
    both = tmp_path / "both"
    both.mkdir()
    (both / "a.jsonl").write_text("".join(lines))
    (both / "b.jsonl").write_text(bad.read_text())
    kept = trace_samples(both, GAME)
    assert len(np.unique(kept.game_id)) == 1 and len(kept) == len(b)


def test_shard_source_reads_our_replay_files(tmp_path, heuristic_batch):
    write_shard(heuristic_batch, tmp_path)
    b = load_source(f"shards:{tmp_path}", GAME)
    assert len(b) == len(heuristic_batch)
    assert np.array_equal(b.values, heuristic_batch.values)
    assert np.array_equal(b.policy_indices, heuristic_batch.policy_indices)


def test_split_keeps_games_apart(heuristic_batch):
    train, held = split_by_game(heuristic_batch, 0.25, np.random.default_rng(1))
    assert len(train) + len(held) == len(heuristic_batch)
    assert not set(train.game_id) & set(held.game_id) and len(set(held.game_id)) == 3
    rows = np.array([3, 0, 5])
    t = take(heuristic_batch, rows)
    assert np.array_equal(t.policy_indices, heuristic_batch.policy_indices[rows])
    with pytest.raises(ValueError, match="2 games"):
        split_by_game(take(heuristic_batch, np.flatnonzero(heuristic_batch.game_id == 0)),
                      0.5, np.random.default_rng(0))


def test_supervised_steps_lower_the_heldout_loss(heuristic_batch):
    cfg = TrainConfig(batch_size=64, lr=5e-3, warmup_steps=3, total_steps=40)
    net, m = pretrain(heuristic_batch, NetSpec("square8", 2, "tiny"), cfg, 40,
                      heldout_fraction=0.25, log_every=0)
    assert m["heldout/loss"] < m["heldout/initial_loss"] - 0.5
    assert m["heldout/policy_accuracy"] > m["heldout/initial_policy_accuracy"]
    again = evaluate_samples(net, split_by_game(heuristic_batch, 0.25,
                                                np.random.default_rng(0))[1])
    assert again["policy_loss"] == pytest.approx(m["heldout/policy_loss"], rel=1e-4)
    with pytest.raises(ValueError, match="samples are square8 2p"):
        pretrain(heuristic_batch, NetSpec("hex8", 2, "tiny"), cfg, 1)


def test_parse_source_errors():
    assert parse_source("heuristic:20") == ("heuristic", "20")
    assert parse_source("shards:s3://bucket/replay") == ("shards", "s3://bucket/replay")
    for bad in ("heuristic", "games:3", "heuristic:0", "heuristic:x", "traces:"):
        with pytest.raises(ValueError, match="bad source"):
            parse_source(bad)


def test_cli_errors_and_checkpoint(tmp_path, capsys):
    out = tmp_path / "warm.pt"
    with pytest.raises(SystemExit) as e:
        cli.main(["pretrain", "--source", "games:3", "--out", str(out)])
    assert e.value.code == 2 and "bad source" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["pretrain", "--source", f"traces:{tmp_path / 'none.jsonl'}", "--out",
                  str(out)])
    assert e.value.code == 1 and "none.jsonl" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["pretrain", "--source", f"shards:{tmp_path / 'empty'}", "--out", str(out)])
    assert e.value.code == 1 and "empty" in capsys.readouterr().err
    cli.main(["pretrain", "--source", "heuristic:4", "--preset", "tiny", "--steps", "2",
              "--batch-size", "32", "--out", str(out)])
    assert "policy accuracy" in capsys.readouterr().out
    net, extra = load_checkpoint(out, expect=NetSpec("square8", 2, "tiny"))
    assert extra["source"] == "heuristic:4" and extra["pretrain"]["steps"] == 2


def test_main_job_starts_from_init_checkpoint(tmp_path, monkeypatch):
    import ray

    from experiments.alphazero import initial_weights
    from experiments.ops import trainer
    from experiments.ops.startup import load_resume, load_warm_start

    spec = NetSpec("square8", 2, "tiny")
    torch.manual_seed(7)
    warm = PolicyValueNet(spec)
    save_checkpoint(warm, tmp_path / "warm.pt")
    cfg = with_overrides(AlphaZeroConfig.model_validate(
        {"game": {"board": "square8", "players": 2}, "net": {"preset": "tiny"}}),
        {"train.init_checkpoint": str(tmp_path / "warm.pt")})
    resume, warm_weights = load_resume(cfg, tmp_path / "run"), load_warm_start(cfg)
    version, weights = initial_weights(cfg, resume, warm_weights)  # what selfplay plays first
    assert version == 0
    for k, v in warm.state_dict().items():
        assert np.array_equal(weights[k], v.numpy()), k

    # the trainer's step-0 net (Ray Train's checkpoint lookup and DDP wrap stubbed out)
    monkeypatch.setattr(ray.train, "get_checkpoint", lambda: None)
    monkeypatch.setattr(ray.train.torch, "prepare_model", lambda m: m)
    monkeypatch.setattr(ray, "get", lambda ref: ref)
    (model, average), _, _, step = trainer._restore(spec, cfg, "cpu", weights)
    assert step == 0 and average is None  # train.ema_decay is off by default
    for k, v in warm.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k

    other = with_overrides(cfg, {"net.preset": "compact"})
    with pytest.raises(ValueError, match="preset"):
        load_warm_start(other)


def test_warm_start_is_the_first_best_of_a_new_league(tmp_path):
    from experiments.alphazero import warm_start_best
    from ringrift_ray.eval import league
    from ringrift_ray.net import load_checkpoint, weights_numpy

    spec = NetSpec("square8", 2, "tiny")
    torch.manual_seed(3)
    warm = PolicyValueNet(spec)
    save_checkpoint(warm, tmp_path / "warm.pt")
    base = AlphaZeroConfig.model_validate(
        {"game": {"board": "square8", "players": 2}, "net": {"preset": "tiny"}})
    cfg = with_overrides(base, {"train.init_checkpoint": str(tmp_path / "warm.pt"),
                                "eval.enabled": True})
    run = tmp_path / "run"
    assert not warm_start_best(base, run, weights_numpy(warm))  # no warm start: no best
    assert not warm_start_best(with_overrides(cfg, {"eval.enabled": False}), run,
                               weights_numpy(warm))
    assert warm_start_best(cfg, run, weights_numpy(warm))
    table = league.load_league(run / "league.json")
    assert table.best.name == "warm" and table.best.version == 0
    net, extra = load_checkpoint(table.best.checkpoint, expect=spec)
    assert extra["source"] == str(tmp_path / "warm.pt")
    for k, v in warm.state_dict().items():
        assert torch.equal(net.state_dict()[k], v), k
    evaluated = league.LeagueEntry(  # a resumed run with candidates evaluated keeps its league
        version=200, name="v200", step=200, time=0.0, wall_s=0.0, checkpoint="c200.pt",
        results={}, elo=0.0, elo_at_eval=0.0, promoted=False, reasons=())
    table = table.model_copy(update={"best": None, "versions": (evaluated,)})
    league.save_league(table, run / "league.json")
    assert not warm_start_best(cfg, run, weights_numpy(warm))
    assert league.load_league(run / "league.json").best is None


def test_main_job_rejects_a_mismatching_init_checkpoint_before_starting(tmp_path):
    save_checkpoint(PolicyValueNet(NetSpec("square8", 2, "compact")), tmp_path / "warm.pt")
    out = subprocess.run(
        [sys.executable, "-m", "experiments.alphazero", "--config",
         "experiments/configs/smoke.yaml", "--run-dir", str(tmp_path / "run"), "--set",
         f"train.init_checkpoint={tmp_path / 'warm.pt'}"],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "init_checkpoint" in out.stderr and "preset" in out.stderr
