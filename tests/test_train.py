"""Training: schedule, losses on sparse targets, overfitting a batch, and symmetry
augmentation that matches transforming the positions themselves."""

import numpy as np
import pytest
import torch

from ringrift_ray.encoding import compact, encode, legal_actions
from ringrift_ray.game import apply_record_inplace, is_terminal, legal_move_records, new_game
from ringrift_ray.net import NetSpec, PolicyValueNet
from ringrift_ray.samples import SampleBatch
from ringrift_ray.symmetry import apply_to_obs, apply_to_policy, symmetries
from ringrift_ray.train import (
    TrainConfig,
    augment_samples,
    losses,
    lr_factor,
    make_optimizer,
    to_tensors,
    train_step,
    weight_average,
)


def _states(board_type, players, n, seed=0):
    rng = np.random.default_rng(seed)
    s, out = new_game(board_type, players), []
    while len(out) < n:
        if is_terminal(s):
            s = new_game(board_type, players)
        r = legal_move_records(s)
        if len(r) > 1:
            out.append(s.copy())
        apply_record_inplace(s, r[rng.integers(len(r))])
    return out


def _batch(board_type, players, states, rng):
    cells, scalars = compact(states)
    idx = [legal_actions(s)[0].astype(np.int32) for s in states]
    probs = [rng.dirichlet(np.ones(len(i))).astype(np.float32) for i in idx]
    values = np.zeros((len(states), 4), np.float32)
    values[:, :players] = rng.uniform(-1, 1, (len(states), players))
    n = len(states)
    return SampleBatch(board_type, players, cells, scalars,
                       np.concatenate([[0], np.cumsum([len(i) for i in idx])]).astype(np.int64),
                       np.concatenate(idx), np.concatenate(probs), values,
                       np.array([s.current_player for s in states], np.int8),
                       np.zeros(n, np.int32), np.arange(n), np.zeros(n, np.int32))


def test_lr_schedule():
    cfg = TrainConfig(lr=1.0, warmup_steps=10, total_steps=110, final_lr_fraction=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(60, cfg) == pytest.approx(0.55)
    assert lr_factor(500, cfg) == pytest.approx(0.1)


def test_policy_loss_is_cross_entropy_of_sparse_targets():
    rng = np.random.default_rng(0)
    batch = _batch("square8", 2, _states("square8", 2, 4), rng)
    net = PolicyValueNet(NetSpec("square8", 2, "tiny"))
    t = to_tensors(batch, None, augment=False)
    out = losses(net, t, 1.0)
    logits, values = net(t["obs"])
    dense = torch.zeros_like(logits)
    dense[t["pi_row"], t["pi_index"]] = t["pi_prob"]
    expected = -(dense * torch.log_softmax(logits, 1)).sum(1).mean()
    assert float(out["policy_loss"]) == pytest.approx(float(expected), rel=1e-5)
    assert float(out["value_loss"]) == pytest.approx(float(((values - t["values"]) ** 2).mean()))


def test_bce_value_loss_is_cross_entropy_of_win_probabilities():
    rng = np.random.default_rng(0)
    batch = _batch("square8", 2, _states("square8", 2, 4), rng)
    net = PolicyValueNet(NetSpec("square8", 2, "tiny"))
    t = to_tensors(batch, None, augment=False)
    out = losses(net, t, 2.0, "bce")
    _, values = net(t["obs"])
    q, p = (values + 1) / 2, (t["values"] + 1) / 2
    expected = -(p * torch.log(q) + (1 - p) * torch.log(1 - q)).mean()
    assert float(out["value_loss"]) == pytest.approx(float(expected), rel=1e-5)
    assert float(out["value_mse"]) == pytest.approx(float(((values - t["values"]) ** 2).mean()))
    assert float(out["loss"]) == pytest.approx(float(out["policy_loss"] + 2 * expected), rel=1e-5)
    with pytest.raises(ValueError, match="value_loss must be"):
        losses(net, t, 1.0, "huber")


def _fixed_batch(total_steps: int):
    """A tiny square8 net, its optimizer for ``total_steps`` and one fixed batch of 16
    positions (no augmentation): ``(net, opt, sched, cfg, tensors)``."""
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    batch = _batch("square8", 2, _states("square8", 2, 16), rng)
    net = PolicyValueNet(NetSpec("square8", 2, "tiny"))
    cfg = TrainConfig(lr=3e-3, warmup_steps=0, total_steps=total_steps, augment=False)
    opt, sched = make_optimizer(net, cfg)
    return net, opt, sched, cfg, to_tensors(batch, None, augment=False)


def test_overfits_a_fixed_batch():
    net, opt, sched, cfg, t = _fixed_batch(60)
    seen = [train_step(net, opt, sched, t, cfg)["loss"] for _ in range(60)]
    assert len(seen) == 60 and seen[-1] < 0.7 * seen[0]


def test_weight_average_is_an_exponential_moving_average_of_parameters_and_buffers():
    assert weight_average(PolicyValueNet(NetSpec("square8", 2, "tiny")), None) is None
    net, opt, sched, cfg, t = _fixed_batch(5)
    average, decay = weight_average(net, 0.9), 0.9
    expected = None
    for _ in range(5):
        train_step(net, opt, sched, t, cfg)
        average.update_parameters(net)
        now = {k: v.detach().clone().float() for k, v in net.state_dict().items()}
        expected = now if expected is None else {  # the first update copies the weights
            k: decay * expected[k] + (1 - decay) * now[k] for k in now}
    assert int(average.n_averaged) == 5
    got = average.module.state_dict()
    floats = [k for k, v in got.items() if v.is_floating_point()]
    assert any("running_mean" in k for k in floats)  # BatchNorm statistics averaged too
    for k in floats:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6)
    assert not torch.equal(got[floats[0]], net.state_dict()[floats[0]])  # not the raw net
    restored = weight_average(PolicyValueNet(NetSpec("square8", 2, "tiny")), 0.9)
    restored.load_state_dict(average.state_dict())  # what a resumed trainer loads
    assert int(restored.n_averaged) == 5
    torch.testing.assert_close(restored.module.state_dict(), got)


@pytest.mark.parametrize("board_type", ["square8", "hex8"])
def test_augmentation_matches_transformed_positions(board_type):
    rng = np.random.default_rng(2)
    states = _states(board_type, 3, 24, seed=3)
    batch = _batch(board_type, 3, states, rng)
    obs = encode(states)
    rows = np.repeat(np.arange(len(batch)), np.diff(batch.policy_offsets))
    aug_obs, aug_idx, g = augment_samples(board_type, obs, rows,
                                          batch.policy_indices.astype(np.int64), rng)
    assert (g > 0).any()
    syms = symmetries(board_type)
    for i, s in enumerate(states):
        sym = syms[g[i]]
        assert np.array_equal(aug_obs[i], apply_to_obs(sym, obs[i]))
        own = rows == i
        expected = apply_to_policy(sym, s, batch.policy_indices[own].astype(np.int64))
        assert np.array_equal(aug_idx[own], expected)
