"""The run's metrics through Ray (`ray.util.metrics`), for the Ray dashboard's Metrics view,
Prometheus and Grafana (``deploy/grafana/ringrift.json``). TensorBoard keeps its own copy.

Every metric is named ``ringrift_<part>_<what>`` and tagged with ``run`` (the run name) and
``config`` (``square8/2p``), plus the tags `CATALOG` lists for it (``worker``: a selfplay
worker's index or a PBT member; ``loss``; ``opponent``). Each node's Ray metrics agent serves
them at ``http://<node>:<metrics export port>/metrics`` in Prometheus text; Ray puts ``ray_``
in front of every name and Prometheus adds ``_total`` to counters and ``_bucket`` /
``_sum`` / ``_count`` to histograms (`exported_names`). A process reports to its agent
every ``metrics_report_interval_ms`` (Ray's default 10 s; ``RAY_metrics_report_interval_ms``
changes it).

Where each part is recorded: ``selfplay`` and ``eval`` on the driver (from the workers' and
the evaluator's answers), ``buffer`` in the `ReplayBuffer` actor, ``train`` on Ray Train's
rank 0 (and in each PBT member), ``pbt`` in the PBT members.
"""

from __future__ import annotations

from functools import cache

from ray.util.metrics import Counter, Gauge, Histogram

BASE_TAGS = ("run", "config")
SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0]

# name: (kind, description with unit, extra tag keys)
CATALOG: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "ringrift_selfplay_games": (Counter, "selfplay games finished", ("worker",)),
    "ringrift_selfplay_moves": (Counter, "moves applied in finished selfplay games "
                                "(bookkeeping moves included)", ("worker",)),
    "ringrift_selfplay_samples": (Counter, "samples the buffer acknowledged", ("worker",)),
    "ringrift_selfplay_searched_moves": (Counter, "searched decisions played", ("worker",)),
    "ringrift_selfplay_simulations": (Counter, "search simulations run", ("worker",)),
    "ringrift_selfplay_capped_games": (Counter, "games stopped by the move cap", ("worker",)),
    "ringrift_selfplay_failures": (Counter, "selfplay batches lost to a crashed worker", ()),
    "ringrift_selfplay_nn_batch_fill": (Gauge, "mean positions per network call / game slots "
                                        "(0-1) of the last interval", ("worker",)),
    "ringrift_selfplay_model_lag": (Gauge, "versions the last pushed samples are behind the "
                                    "newest weights", ("worker",)),
    "ringrift_selfplay_model_version": (Gauge, "weights version the worker plays",
                                        ("worker",)),
    "ringrift_selfplay_game_length": (Gauge, "mean moves per game finished in the last "
                                      "interval", ("worker",)),
    "ringrift_buffer_size": (Gauge, "samples held", ()),
    "ringrift_buffer_replay_ratio": (Gauge, "samples drawn / samples added", ()),
    "ringrift_buffer_samples_added": (Counter, "samples added", ()),
    "ringrift_buffer_samples_lost": (Counter, "samples that left the window before a flush "
                                     "wrote them (never on disk)", ()),
    "ringrift_buffer_flush_seconds": (Histogram, "seconds per flush to Parquet shards", ()),
    "ringrift_train_steps": (Counter, "optimizer steps", ("worker",)),
    "ringrift_train_samples_per_s": (Gauge, "samples trained per second (rank 0)",
                                     ("worker",)),
    "ringrift_train_loss": (Gauge, "train loss by part (policy, value, total)",
                            ("worker", "loss")),
    "ringrift_train_policy_lag": (Gauge, "published version minus the batch's mean model "
                                  "version", ("worker",)),
    "ringrift_train_wait_seconds": (Counter, "seconds the trainer waited for samples",
                                    ("worker",)),
    "ringrift_eval_candidates": (Counter, "candidates evaluated", ()),
    "ringrift_eval_promotions": (Counter, "candidates promoted", ()),
    "ringrift_eval_best_elo": (Gauge, "Elo of the promoted model (league scale)", ()),
    "ringrift_eval_candidate_elo": (Gauge, "Elo of the last candidate", ()),
    "ringrift_eval_win_rate": (Gauge, "last candidate's score against an opponent",
                               ("opponent",)),
    "ringrift_eval_decision_seconds": (Histogram, "seconds from asking for an evaluation to "
                                       "its decision", ()),
    "ringrift_pbt_member_elo": (Gauge, "a PBT member's Elo", ("worker",)),
    "ringrift_pbt_exploits": (Counter, "PBT exploits (a member restarted from another's "
                              "checkpoint)", ("worker",)),
}


def exported_names(name: str) -> list[str]:
    """The Prometheus series names a catalog metric appears under (``ray_`` prefix; counters
    ``_total``; histograms ``_bucket``, ``_sum``, ``_count``).

    Raises:
        KeyError: ``name`` is not in `CATALOG`.
    """
    kind = CATALOG[name][0]
    base = f"ray_{name}"
    if kind is Counter:
        return [f"{base}_total"]
    if kind is Histogram:
        return [f"{base}_bucket", f"{base}_sum", f"{base}_count"]
    return [base]


def run_tags(run: str, board: str, players: int) -> dict[str, str]:
    """The base tags of one run: ``{"run": run, "config": "square8/2p"}``."""
    return {"run": run, "config": f"{board}/{players}p"}


@cache
def _metric(name: str):
    kind, description, keys = CATALOG[name]
    extra = {"boundaries": SECONDS} if kind is Histogram else {}
    return kind(name, description=description, tag_keys=BASE_TAGS + keys, **extra)


class Recorder:
    """Records catalog metrics with one run's base tags (`run_tags`); the metric objects are
    made once per process. A name outside `CATALOG` is a ``KeyError``; a missing extra tag
    is Ray's ``ValueError``."""

    def __init__(self, tags: dict[str, str]) -> None:
        self.tags = dict(tags)

    def inc(self, name: str, value: float = 1.0, **tags: str) -> None:
        """Add ``value`` (>= 0; 0 is skipped) to a counter."""
        if value > 0:
            _metric(name).inc(float(value), tags={**self.tags, **tags})

    def set(self, name: str, value: float, **tags: str) -> None:
        """Set a gauge."""
        _metric(name).set(float(value), tags={**self.tags, **tags})

    def observe(self, name: str, value: float, **tags: str) -> None:
        """Add one observation to a histogram."""
        _metric(name).observe(float(value), tags={**self.tags, **tags})
