"""`ringrift_ray.config`: dotted-key overrides (the main job's ``--set``, Tune's samples)."""

import pytest

from ringrift_ray.config import AlphaZeroConfig, parse_overrides, with_overrides


def test_overrides_replace_nested_fields_and_validate():
    cfg = AlphaZeroConfig()
    out = with_overrides(cfg, parse_overrides(
        ["train.lr=1e-3", "run.use_gpu=true", "eval.gate.min_vs_heuristic=null",
         "game.board=hex8", "search.num_simulations=8"]))
    assert out.train.lr == 1e-3 and out.run.use_gpu is True
    assert out.eval.gate.min_vs_heuristic is None and out.game.board == "hex8"
    assert out.search.num_simulations == 8 and out.train.batch_size == cfg.train.batch_size
    assert cfg.train.lr != 1e-3  # the input is untouched (frozen models)
    assert with_overrides(cfg, {}) == cfg


@pytest.mark.parametrize("key, message", [
    ("train.lrr", "'train.lrr': train has no field 'lrr'"),
    ("foo", "the top level has no field 'foo'"),
    ("train.lr.x", "'lr' is not a section"),
    ("eval.gate.bogus", "eval.gate has no field 'bogus'"),
])
def test_unknown_keys_are_named(key, message):
    with pytest.raises(ValueError, match=message):
        with_overrides(AlphaZeroConfig(), {key: 1})


@pytest.mark.parametrize("item, message", [
    ("train.lr=-1", "train.lr: Input should be greater than 0"),
    ("game.board=square9", "square9"),
    ("game.players=abc", "game.players"),
])
def test_bad_values_are_named(item, message):
    with pytest.raises(ValueError, match=message):
        with_overrides(AlphaZeroConfig(), parse_overrides([item]))


def test_override_items_need_key_and_equals():
    for bad in ("train.lr", "=3"):
        with pytest.raises(ValueError, match="KEY=VALUE"):
            parse_overrides([bad])
    assert parse_overrides(["run.name=my run", "net.preset=tiny"]) == {
        "run.name": "my run", "net.preset": "tiny"}


def test_every_main_job_config_loads_for_its_variant():
    from pathlib import Path

    from ringrift_ray.config import load_yaml
    configs = Path(__file__).parents[1] / "experiments" / "configs"
    named = [p for p in configs.glob("*_[234]p.yaml") if not p.name.startswith(("pbt_", "search_"))]
    assert len(named) == 12  # 4 boards x 2-4 players
    for path in named:
        cfg = load_yaml(path, AlphaZeroConfig)
        board, players = path.stem.rsplit("_", 1)
        assert (cfg.game.board, f"{cfg.game.players}p") == (board, players), path.name
