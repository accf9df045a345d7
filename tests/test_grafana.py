"""deploy/grafana/ringrift.json: an importable Grafana dashboard whose every query names a
metric the code exports (`actors.metrics.CATALOG`), and that shows every such metric.
(tests/test_alphazero.py scrapes the metrics from a running job.)"""

import json
import re
from pathlib import Path

from actors.metrics import CATALOG, exported_names

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "ringrift.json"
SERIES = re.compile(r"\bray_ringrift_[a-z0-9_]+")


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _exprs(dash: dict) -> list[str]:
    return [t["expr"] for p in dash["panels"] if p["type"] != "row" for t in p["targets"]]


def test_dashboard_is_importable_grafana_json():
    dash = _dashboard()
    assert dash["uid"] and dash["title"] and dash["schemaVersion"] >= 27
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    names = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "run", "config"} <= names
    for panel in dash["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        if panel["type"] != "row":
            assert panel["targets"] and panel["description"], panel["title"]


def test_every_query_names_an_exported_metric_and_every_metric_is_shown():
    exported = {series: name for name in CATALOG for series in exported_names(name)}
    used = set()
    for expr in _exprs(_dashboard()):
        found = SERIES.findall(expr)
        assert found, expr
        for series in found:
            assert series in exported, f"{series} in {expr!r} is not exported by the code"
            used.add(exported[series])
        assert 'run=~"$run"' in expr, expr  # every panel follows the run / config filters
    assert used == set(CATALOG), sorted(set(CATALOG) - used)


def test_exported_names_follow_ray_and_prometheus():
    assert exported_names("ringrift_selfplay_games") == ["ray_ringrift_selfplay_games_total"]
    assert exported_names("ringrift_buffer_size") == ["ray_ringrift_buffer_size"]
    assert "ray_ringrift_buffer_flush_seconds_bucket" in exported_names(
        "ringrift_buffer_flush_seconds")
    assert all(name.startswith("ringrift_") for name in CATALOG)
