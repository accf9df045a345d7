"""Progress bars of long commands (`ringrift_ray.cli.progress`): live redraws in a terminal,
whole lines in a log; `match`, `pretrain` and `export` draw them."""

import io

from ringrift_ray.cli.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_live_bar_with_rate_and_time_left():
    out = _Terminal()
    with progress(10, "games", "game", stream=out) as bar:
        for _ in range(10):
            bar.update()
    text = out.getvalue()
    assert "\r" in text and "10/10" in text and "game/s" in text


def test_a_log_gets_whole_lines_only():
    out = io.StringIO()
    with progress(5, "pretraining", "step", stream=out) as bar:
        bar.update(5)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and lines
    assert lines[-1].startswith("pretraining: 100%") and "5/5" in lines[-1]


def test_delay_keeps_short_work_quiet():
    out = io.StringIO()
    with progress(3, "evaluating", "game", stream=out, delay_s=60) as bar:
        bar.update(3)
    assert out.getvalue() == ""


def test_match_command_shows_progress_on_stderr(capsys):
    from ringrift_ray.cli import main

    main(["match", "random", "random", "--games", "2", "--max-moves", "30"])
    captured = capsys.readouterr()
    assert "random vs random: 100%" in captured.err and "2/2" in captured.err
    assert "win rate" in captured.out
