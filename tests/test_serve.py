"""The move service on Ray Serve (`experiments/serve/`), end to end over HTTP: one
application (tiny square8 2p and hex8 3p models) on a free port for the whole module.

Reference trace states get legal moves that parse back through `move_from_reference`;
every bad-input case gets its status code and the replica answers the next request; the
play page (`GET /play`) plays a whole game in headless Chromium (Debian's, driven by
Playwright; skipped when missing outside CI, a failure in CI).
"""

import copy
import json
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from reference import trace_games

from ringrift_ray.game import legal_moves, move_from_reference, state_from_reference
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
MAX_PENDING = 48
HUMAN_MOVES = 6  # clicked by the scripted person before the model takes seat 1 too


@pytest.fixture(scope="module")
def url(ray_session, tmp_path_factory):
    from ray import serve

    from experiments.ops.local_cluster import free_port
    from experiments.serve.app import ServeArgs, build_app

    tmp = tmp_path_factory.mktemp("serve")
    for board, players in (("square8", 2), ("hex8", 3)):
        save_checkpoint(PolicyValueNet(NetSpec(board, players, "tiny")),
                        tmp / f"{board}_{players}p.pt")
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    args = ServeArgs(models=[f"{tmp}/square8_2p.pt:64", f"{tmp}/hex8_3p.pt:64"], cpus=0,
                     max_pending=MAX_PENDING, timeout_s=60)
    serve.run(build_app(args), name="ringrift-test", route_prefix="/")
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()


def _steps(name: str, every: int, games: int = 1) -> list[dict]:
    out = []
    for g, (_, steps, _) in enumerate(trace_games(name)):
        if g == games:
            break
        out += steps[::every]
    return out


def _body(step: dict, **kw) -> dict:
    return {"game_state": step["state"], "state_extras": step["state_extras"],
            "player_number": step["current_player"], **kw}


def _check_legal(step: dict, move_json: dict) -> None:
    state = state_from_reference(step["state"], step["state_extras"])
    assert move_from_reference(move_json) in legal_moves(state)


def test_health_ready_metrics(url):
    assert requests.get(f"{url}/ready", timeout=30).json()["ready"] is True
    health = requests.get(f"{url}/health", timeout=30).json()
    assert health["status"] == "healthy"
    assert {m["model_id"] for m in health["models"]} == {"square8_2p", "hex8_3p"}
    text = requests.get(f"{url}/metrics", timeout=30).text
    assert "# TYPE ringrift_serve_requests_total counter" in text
    assert 'ringrift_serve_requests_total{path="/ready",status="200"}' in text


@pytest.mark.parametrize("trace", ["square8_2p", "hex8_3p"])
def test_reference_states_get_legal_moves(url, trace):
    steps = _steps(trace, every=23)
    for step in steps:
        r = requests.post(f"{url}/ai/move", json=_body(step, difficulty=4), timeout=60)
        assert r.status_code == 200, r.text
        out = r.json()
        _check_legal(step, out["move"])
        assert -1 <= out["evaluation"] <= 1 and out["ai_type"] == "gumbel_mcts"
        assert out["nn_checkpoint"] == f"{trace}.pt" and out["difficulty"] == 4
    batch = {"game_states": [s["state"] for s in steps[:8]],
             "states_extras": [s["state_extras"] for s in steps[:8]],
             "player_numbers": [s["current_player"] for s in steps[:8]], "difficulty": 2}
    r = requests.post(f"{url}/ai/moves_batch", json=batch, timeout=60)
    assert r.status_code == 200, r.text
    items = r.json()["moves"]
    assert [i["game_index"] for i in items] == list(range(len(items)))
    for step, item in zip(steps[:8], items, strict=True):
        _check_legal(step, item["move"])


def test_concurrent_requests_share_batches_and_answer_as_one_by_one(url):
    """Seeded requests sent together (gathered into shared calls and searches) get the
    moves and values they get one by one."""
    steps = [s for s in _steps("square8_2p", every=7) if len(s["legal_moves"]) > 4][:16]
    bodies = [_body(s, difficulty=5 + i % 2, seed=11 + i) for i, s in enumerate(steps)]

    def ask(body: dict) -> dict:
        r = requests.post(f"{url}/ai/move", json=body, timeout=60)
        assert r.status_code == 200, r.text
        return {k: r.json()[k] for k in ("move", "evaluation", "simulations")}

    def same(a: dict, b: dict) -> bool:  # the network's batched sums may differ in last bits
        return (a["move"], a["simulations"]) == (b["move"], b["simulations"]) and \
            a["evaluation"] == pytest.approx(b["evaluation"], abs=1e-6)

    one_by_one = [ask(b) for b in bodies]
    assert same(ask(bodies[0]), one_by_one[0])
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(ask, bodies))
    assert all(same(a, b) for a, b in zip(together, one_by_one, strict=True))
    text = requests.get(f"{url}/metrics", timeout=30).text
    count = _metric(text, 'ringrift_serve_batch_size_count{model="square8_2p"}')
    total = _metric(text, 'ringrift_serve_batch_size_sum{model="square8_2p"}')
    assert total > count  # some positions were searched in a batch with others


def _metric(text: str, name: str) -> float:
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name)))


def _bad_requests(step: dict, final: dict) -> list[tuple[str, object, int, str]]:
    """(case, body, status, text the answer must contain)."""
    good = _body(step)

    def edit(fn):
        body = copy.deepcopy(good)
        fn(body)
        return body

    no_model = _steps("square19_2p", every=1000)[0]
    return [
        ("malformed JSON", b'{"game_state": ', 422, "json"),
        ("no game_state", {"player_number": 1}, 422, "game_state"),
        ("unknown board", edit(lambda b: b["game_state"]["board"].update(type="square9")),
         422, "type"),
        ("empty stack", edit(lambda b: b["game_state"]["board"]["stacks"].update(
            {"0,0": {"rings": []}})), 422, "rings"),
        ("difficulty 11", edit(lambda b: b.update(difficulty=11)), 422, "difficulty"),
        ("player 5", edit(lambda b: b.update(player_number=5)), 422, "player_number"),
        ("counts", edit(lambda b: b["game_state"]["players"][0].update(ringsInHand=18)),
         400, "exceed"),
        ("off board", edit(lambda b: b["game_state"]["board"]["stacks"].update(
            {"9,9": {"rings": [1]}})), 400, "9,9"),
        ("finished", {"game_state": final["final_state"], "player_number": 1,
                      "state_extras": final["final_state_extras"]}, 400, "game is over"),
        ("not to move", edit(lambda b: b.update(player_number=3 - step["current_player"])),
         400, "not to move"),
        ("no model", _body(no_model), 400, "no model for square19 2p"),
        ("deadline", edit(lambda b: b.update(difficulty=10, timeout_ms=1)), 504, "deadline"),
    ]


def test_bad_input_gets_its_status_and_the_replica_keeps_serving(url):
    _, steps, final = next(trace_games("square8_2p"))
    step = next(s for s in steps if len(s["legal_moves"]) > 20 and any(
        1 in st["rings"] for st in s["state"]["board"]["stacks"].values()))
    for case, body, status, text in _bad_requests(step, final):
        kw = {"data": body, "headers": {"Content-Type": "application/json"}} \
            if isinstance(body, bytes) else {"json": body}
        r = requests.post(f"{url}/ai/move", timeout=60, **kw)
        assert r.status_code == status, (case, r.text)
        assert text.lower() in json.dumps(r.json()).lower(), (case, r.text)
        ok = requests.post(f"{url}/ai/move", json=_body(step, difficulty=1), timeout=60)
        assert ok.status_code == 200, (case, ok.text)


def test_batch_bad_input(url):
    step = _steps("square8_2p", every=1000)[0]
    other = _steps("square19_2p", every=1000)[0]
    cases = [
        ({"game_states": [step["state"]] * 65, "player_numbers": [1] * 65}, 422,
         "game_states"),
        ({"game_states": [step["state"]] * 2, "player_numbers": [1]}, 422, "same length"),
        ({"game_states": [step["state"], other["state"]], "player_numbers": [1, 1]}, 400,
         "no model for square19 2p"),
        ({"game_states": [step["state"]], "player_numbers": [2]}, 400,
         "game_states[0]: player 2 is not to move"),
    ]
    for body, status, text in cases:
        r = requests.post(f"{url}/ai/moves_batch", json=body, timeout=60)
        assert r.status_code == status and text in r.text, r.text[:300]


def test_overload_gets_503_with_retry_after(url):
    steps = [s for s in _steps("square8_2p", every=2, games=4) if len(s["legal_moves"]) > 8]
    batch = {"game_states": [s["state"] for s in steps[:40]],
             "states_extras": [s["state_extras"] for s in steps[:40]],
             "player_numbers": [s["current_player"] for s in steps[:40]], "difficulty": 10}
    assert len(batch["game_states"]) == 40 and 40 < MAX_PENDING < 80
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: requests.post(
            f"{url}/ai/moves_batch", json=batch, timeout=120), range(2)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 503], [a.text[:200] for a in answers]
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.headers["Retry-After"] == "1" and "overloaded" in refused.text
    ok = requests.post(f"{url}/ai/move", json=_body(steps[0]), timeout=60)
    assert ok.status_code == 200


def _chromium():
    """Playwright's sync API and Debian's chromium, or a skip (a failure in CI)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or shutil.which(CHROMIUM) is None:
        reason = "the play-page test needs playwright (pip) and /usr/bin/chromium (apt)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright


def test_play_page_plays_a_whole_game(url, tmp_path):
    """A scripted person clicks listed legal moves for seat 1 against the model in seat 2,
    then hands seat 1 to the model too, and the page plays the game to its end."""
    sync_playwright = _chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    rng, settled = random.Random(0), ("body[data-state=human], body[data-state=over], "
                                      "body[data-state=error]")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=flags)
        page = context.new_page()
        page.goto(f"{url}/play")
        page.wait_for_function("document.getElementById('models').textContent.includes("
                               "'square8_2p')")
        for select, value in (("#board", "square8"), ("#players", "2"), ("#seat-1", "human"),
                              ("#seat-2", "model"), ("#difficulty", "1")):
            page.select_option(select, value)
        page.click("#new-game")
        for _ in range(HUMAN_MOVES):
            page.wait_for_selector(settled, timeout=60_000)
            assert page.get_attribute("body", "data-state") == "human"
            buttons = page.locator("#moves button")
            buttons.nth(rng.randrange(buttons.count())).click()
        page.wait_for_selector(settled, timeout=60_000)
        page.select_option("#seat-1", "model")  # the model takes over the person's seat
        page.wait_for_selector("body[data-state=over], body[data-state=error]",
                               timeout=240_000)
        state = page.get_attribute("body", "data-state")
        status, error = page.text_content("#status"), page.text_content("#error")
        log = page.text_content("#log")
        context.close()
    assert state == "over", error
    assert status.startswith("game over: ranks")
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines[0].startswith("place_ring p1") or lines[0].startswith("skip_placement p1")
    assert "(model: eval" in log and len(lines) > 2 * HUMAN_MOVES


@pytest.mark.parametrize("name", ["cluster.yaml", "local.yaml"])
def test_serve_config_files_build(name):
    import yaml
    from ray.serve.schema import ServeDeploySchema

    from experiments.serve.app import ServeArgs, build_app

    cfg = ServeDeploySchema(**yaml.safe_load(
        (ROOT / "experiments" / "configs" / "serve" / name).read_text()))
    for application in cfg.applications:
        assert application.import_path == "experiments.serve.app:build_app"
        ServeArgs(**application.args)
        assert build_app(application.args) is not None


def test_cli_runs_the_launcher(tmp_path):
    missing = tmp_path / "missing.pt"
    r = subprocess.run([sys.executable, "-m", "ringrift_ray.cli", "serve", f"{missing}:64"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and f"checkpoint not found: {missing}" in r.stderr
