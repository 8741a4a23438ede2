"""The benchmark harness itself: results files, figure selection, and one tiny latency run.

The tiny run is one repetition of the floor client (a few seconds); it checks that every
timestamp lands where causality says it must, never how fast anything was.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from azassist.core.audio.processing import ProcessingOptions
from bench.__main__ import parse_args
from bench.figures import FIGURES
from bench.harness import SPEECH_TEXT, BenchEnv, TimedRecorder, speech_samples, start_floor, trimmed
from bench.latency import measure_client, processing_delay, reply_server
from bench.results import Figure, ratio_figure, write_results


def test_results_are_a_json_list_with_the_issue_fields_and_a_markdown_table(tmp_path: Path) -> None:
    figures = [
        ratio_figure("1 output latency vs floor", 26.0, 20.0, "ms", at_most=1.3, baseline_name="floor"),
        Figure("9 bundle size", math.nan, "MB", None, "report", None, note="not built"),
    ]
    json_path, md_path = write_results(figures, tmp_path, "latest")
    records = json.loads(json_path.read_text())  # strict JSON: NaN became null
    assert [r["name"] for r in records] == ["1 output latency vs floor", "9 bundle size"]
    for record in records:
        assert {"name", "value", "unit", "baseline", "ratio", "target", "met"} <= set(record)
    assert records[0]["ratio"] == pytest.approx(1.3) and records[0]["met"] is True
    assert records[1]["value"] is None and records[1]["met"] is None
    table = md_path.read_text().splitlines()
    assert table[0].startswith("| figure |") and len(table) == 2 + len(figures)
    assert "| no |" not in md_path.read_text()


def test_only_a_full_run_replaces_the_committed_results() -> None:
    assert parse_args([]).stem == "latest" and parse_args([]).figures == sorted(FIGURES)
    assert parse_args(["--quick"]).stem == "partial"
    only = parse_args(["--only", "5,1,5"])
    assert only.figures == [1, 5] and only.stem == "partial"
    with pytest.raises(SystemExit):
        parse_args(["--only", "99"])  # no such figure
    # a loaded run has results of its own, beside the plain run's
    assert parse_args(["--loaded"]).stem == "latest-loaded"
    assert parse_args(["--loaded", "--only", "15"]).stem == "partial-loaded"


def test_the_processing_delay_is_webrtcs_and_nothing_without_processing() -> None:
    speech = trimmed(speech_samples(SPEECH_TEXT))
    nothing = ProcessingOptions(echo_cancellation=False, noise_suppression=False, auto_gain=False,
                                high_pass_filter=False)
    assert processing_delay(speech, nothing) == 0.0
    # AEC3's block framing and suppression filter alone hold back several milliseconds
    assert 0.004 < processing_delay(speech, ProcessingOptions(noise_suppression=False, auto_gain=False)) < 0.03
    assert processing_delay(speech) > processing_delay(speech, ProcessingOptions(auto_gain=False))


@pytest.mark.audio
@pytest.mark.timeout(120)
@pytest.mark.asyncio
@pytest.mark.parametrize("extra", [[], ["--processing"]], ids=["floor", "fair floor"])
async def test_one_floor_repetition_gives_causal_timestamps(extra: list[str]) -> None:
    bench = BenchEnv.start()
    mic = TimedRecorder("mic.monitor", bench.audio.env)
    spk = TimedRecorder("spk.monitor", bench.audio.env)
    try:
        mic.wait_started()
        spk.wait_started()
        async with reply_server(bench) as server:
            result = await measure_client(
                bench, server, lambda: start_floor(bench, server.endpoint, extra=extra), "floor", 1, mic, spk
            )
    finally:
        mic.stop()
        spk.stop()
        bench.stop()
    assert result.problems == []
    assert len(result.output) == len(result.turn) == 1
    # heard after it was sent; the reply comes after the speech ended; every input sample
    # reached the server after it passed the microphone
    assert result.output[0] > 0
    assert result.turn[0] > result.output[0]
    assert result.input and min(result.input) > 0


def test_a_full_run_puts_its_table_in_the_readme_between_the_markers(tmp_path: Path) -> None:
    from bench.results import update_readme

    readme = tmp_path / "README.md"
    readme.write_text("# P\n\n<!-- results: auto -->\nold\n<!-- /results -->\n\nafter\n")
    figure = ratio_figure("5 start-up", 0.6, 0.4, "s", at_most=1.5, baseline_name="bare")
    assert update_readme([figure], "today", readme)
    text = readme.read_text()
    assert "old" not in text and "| 5 start-up | 0.6 | s | 0.4 | 1.5 |" in text
    assert text.endswith("<!-- /results -->\n\nafter\n")
    assert not update_readme([figure], "today", tmp_path / "missing.md")


def test_a_loaded_run_has_its_own_table_in_the_readme(tmp_path: Path) -> None:
    from bench.results import update_readme

    readme = tmp_path / "README.md"
    readme.write_text("<!-- results: a -->\nplain\n<!-- /results -->\n<!-- results-loaded: b -->\nold\n<!-- /results-loaded -->\n")
    figure = ratio_figure("5 start-up", 0.6, 0.4, "s", at_most=1.5, baseline_name="bare")
    assert update_readme([figure], "today", readme, marker="results-loaded")
    text = readme.read_text()
    assert "plain" in text and "old" not in text and text.count("| 5 start-up |") == 1


def test_the_loaded_mode_keeps_one_process_busy_and_stops_it() -> None:
    from bench.harness import CpuLoad

    load = CpuLoad()
    try:
        assert load._proc.poll() is None and load.share() >= 0.0
    finally:
        load.stop()
    assert load._proc.poll() is not None
