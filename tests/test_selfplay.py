"""Selfplay with a tiny network: samples are well formed and targets follow the results."""

import numpy as np
import pytest
import torch

from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.encoding import expand, num_actions
from ringrift_ray.net import NetSpec, PolicyValueNet, infer
from ringrift_ray.samples import concat_batches
from ringrift_ray.search.game_fns import network_evaluate
from ringrift_ray.selfplay import new_run, play_games, play_steps


def _evaluate(board_type, players):
    torch.manual_seed(0)
    net = PolicyValueNet(NetSpec(board_type, players, "tiny")).eval()
    return network_evaluate(lambda obs: infer(net, obs))


@pytest.mark.parametrize("board_type,players", [("square8", 2), ("hex8", 3)])
def test_play_games_produces_consistent_samples(board_type, players):
    cfg = SelfplayConfig(games_per_batch=4, full_search_prob=0.5, cheap_simulations=2,
                         temperature_moves=4)
    batch, stats = play_games(
        GameConfig(board=board_type, players=players), _evaluate(board_type, players),
        SearchConfig(num_simulations=4), cfg, np.random.default_rng(0),
        model_version=7, first_game_id=100)
    assert stats.games == 4 and stats.capped_games == 0 and stats.samples == len(batch) > 0
    assert stats.searched_moves >= len(batch)
    n = len(batch)
    assert batch.cells.shape[:2] == (n, 10) and batch.cells.dtype == np.uint8
    assert batch.policy_offsets.shape == (n + 1,) and batch.policy_offsets[-1] == len(
        batch.policy_indices)
    for i in range(n):
        idx, p = batch.policy(i)
        assert 1 <= len(idx) <= cfg.policy_top_k and p.sum() == pytest.approx(1.0, abs=1e-5)
        assert idx.min() >= 0 and idx.max() < num_actions(board_type)
    # value targets: seat-relative rank values, zero for absent seats, one +1 per game
    assert np.all(batch.values[:, players:] == 0)
    assert np.allclose(batch.values[:, :players].sum(axis=1), 0.0, atol=1e-6)
    assert set(batch.game_id.tolist()) <= set(range(100, 104))
    assert np.all(batch.model_version == 7)
    assert np.all((batch.to_move >= 1) & (batch.to_move <= players))
    obs = expand(board_type, batch.cells, batch.scalars)
    assert obs.shape[0] == n and obs[:, 0].sum() > 0
    assert batch.nbytes() / n < 2000


def test_concat_rebases_policy_offsets():
    cfg = SelfplayConfig(games_per_batch=2, full_search_prob=1.0, temperature_moves=0)
    ev = _evaluate("square8", 2)
    a, _ = play_games(GameConfig(), ev, SearchConfig(num_simulations=2), cfg,
                      np.random.default_rng(1))
    b, _ = play_games(GameConfig(), ev, SearchConfig(num_simulations=2), cfg,
                      np.random.default_rng(2), first_game_id=2)
    c = concat_batches([a, b])
    assert len(c) == len(a) + len(b)
    i = len(a) + 3
    assert np.array_equal(c.policy(i)[0], b.policy(3)[0])


def test_value_target_mixes_outcome_and_root_value():
    """A net valuing every position (+0.5, -0.5) for players (1, 2): far from any terminal the
    root value is exactly that, so w = 1 targets are it (seat-relative) and w = 0.5 the mean
    with the outcome."""
    def evaluate(states):
        logits = np.zeros((len(states), num_actions("square8")), dtype=np.float32)
        return logits, np.tile(np.array([[0.5, -0.5]], dtype=np.float32), (len(states), 1))

    def run(w):
        cfg = SelfplayConfig(games_per_batch=2, full_search_prob=1.0, temperature_moves=0,
                             value_target_q_weight=w)
        batch, _ = play_games(GameConfig(), evaluate, SearchConfig(num_simulations=4), cfg,
                              np.random.default_rng(3))
        return batch

    z, q, half = run(0.0), run(1.0), run(0.5)
    assert len(z) == len(q) == len(half) and np.array_equal(z.ply, q.ply)  # same games
    assert set(np.abs(z.values[:, :2]).ravel().tolist()) == {1.0}
    early = q.ply < 8
    assert early.sum() >= 4
    sign = np.where(q.to_move[early] == 1, 1.0, -1.0)
    assert np.allclose(q.values[early, 0], 0.5 * sign) and np.allclose(q.values[early, 1],
                                                                         -0.5 * sign)
    assert np.allclose(half.values, 0.5 * z.values + 0.5 * q.values, atol=1e-6)


def test_continuous_slots_keep_playing_and_share_network_calls():
    """Slots live across calls: games finished in a call come back at once, new games take
    their slots (ids count up), samples carry the version of their call, and full and cheap
    searches share one network call per step (a full batch of slots)."""
    calls: list[int] = []
    net = _evaluate("square8", 2)

    def evaluate(states):
        calls.append(len(states))
        return net(states)

    cfg = SelfplayConfig(games_per_batch=4, full_search_prob=0.5, cheap_simulations=2,
                         temperature_moves=4)
    run = new_run(GameConfig(), SearchConfig(num_simulations=4), cfg, first_game_id=10)
    rng = np.random.default_rng(0)
    first, s1 = play_steps(run, evaluate, rng, model_version=1, min_games=2)
    in_flight = {s.game_id for s in run.slots if s is not None}
    second, s2 = play_steps(run, evaluate, rng, model_version=2, min_games=3)
    assert s1.games >= 2 and s2.games >= 3 and len(first) and len(second)
    assert np.all(first.model_version == 1) and set(second.model_version.tolist()) <= {1, 2}
    assert 2 in second.model_version.tolist()
    ids = set(first.game_id.tolist()) | set(second.game_id.tolist())
    assert min(ids) >= 10 and set(first.game_id.tolist()).isdisjoint(second.game_id.tolist())
    assert in_flight & set(second.game_id.tolist())  # games continued across the calls
    assert run.next_game_id >= 10 + 4 + s1.games + s2.games - 4
    assert s1.searched_moves > 0 and s1.simulations >= 2 * s1.searched_moves
    assert max(calls) == 4 and np.mean(calls) > 0.85 * 4  # slots refilled: batches stay full


def test_play_steps_time_bound_and_weights_between_steps():
    """``max_seconds`` ends a call between steps; ``between_steps`` runs before every step
    and its version is what the samples of searches finished after it record."""
    net = _evaluate("square8", 2)
    cfg = SelfplayConfig(games_per_batch=2, full_search_prob=1.0, temperature_moves=2)
    run = new_run(GameConfig(), SearchConfig(num_simulations=2), cfg)
    rng = np.random.default_rng(0)
    batch, stats = play_steps(run, net, rng, min_games=10**6, max_seconds=0.0)
    assert stats.games == 0 and len(batch) == 0 and stats.searched_moves == 0
    versions = iter(range(1, 10**6))
    steps: list[int] = []

    def between_steps() -> int:
        steps.append(next(versions))
        return steps[-1]

    batch, stats = play_steps(run, net, rng, min_games=1, between_steps=between_steps)
    assert stats.games >= 1 and len(steps) > 1
    assert set(batch.model_version.tolist()) <= set(steps) and batch.model_version.max() > 1


def test_pipelined_slots_alternate_halves_and_load_weights_between_calls():
    """With ``pipeline`` the slots play as two halves (network calls of half the slots);
    ``between_steps`` runs on the network thread, never during a network call, and the
    samples record versions it returned."""
    import threading

    net = _evaluate("square8", 2)
    calls: list[int] = []
    busy = threading.Lock()
    threads: set[str] = set()

    def evaluate(states):
        with busy:
            calls.append(len(states))
            return net(states)

    versions = iter(range(1, 10**6))
    returned: list[int] = []

    def between_steps() -> int:
        assert busy.acquire(blocking=False)  # no network call is running
        busy.release()
        threads.add(threading.current_thread().name)
        returned.append(next(versions))
        return returned[-1]

    cfg = SelfplayConfig(games_per_batch=6, full_search_prob=0.5, cheap_simulations=2,
                         temperature_moves=4, pipeline=True)
    run = new_run(GameConfig(), SearchConfig(num_simulations=4), cfg)
    batch, stats = play_steps(run, evaluate, np.random.default_rng(0), min_games=4,
                              between_steps=between_steps)
    assert stats.games >= 4 and len(batch) > 0 and max(calls) == 3
    assert np.mean(calls) > 0.85 * 3  # both halves stay full
    assert set(batch.model_version.tolist()) <= set(returned) and len(returned) > 2
    assert any(name.startswith("search-network") for name in threads)
    # no step left half done: every node but the root came with a finished simulation
    nodes = lambda search: getattr(search, "tree", search).num_nodes  # noqa: E731
    assert all(nodes(s.search) <= s.search.sim + 1 for s in run.slots
               if s is not None and s.search is not None)
    again, _ = play_steps(run, evaluate, np.random.default_rng(1), min_games=1)
    assert len(again) > 0  # the slots continue in the next call


@pytest.mark.parametrize("pipeline", [False, True])
def test_compiled_and_python_trees_play_the_same_games(pipeline):
    """``search.tree`` compiled and python: the same samples, moves and network batches for
    the same network and seeds (playout caps, opening sampling and slot refills included)."""
    ev = _evaluate("square8", 2)
    cfg = SelfplayConfig(games_per_batch=3, full_search_prob=0.5, cheap_simulations=2,
                         temperature_moves=4, max_moves=24, pipeline=pipeline)
    out = {}
    for tree in ("python", "compiled"):
        run = new_run(GameConfig(), SearchConfig(num_simulations=4, tree=tree), cfg)
        out[tree] = play_steps(run, ev, np.random.default_rng(0), min_games=4)
    (a, sa), (b, sb) = out["python"], out["compiled"]
    assert len(a) == len(b) > 0 and sa.games == sb.games
    for key in ("cells", "scalars", "policy_indices", "policy_values", "values", "ply"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key
    for key in ("moves", "searched_moves", "simulations", "net_batches", "net_positions"):
        assert getattr(sa, key) == getattr(sb, key), key
