"""The public surface: in-process server, standalone command, speech, VAD and validation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import aiohttp
import numpy as np
import pytest

from azassist.simulator import LocalRealtimeServer, LoopbackOnlyError, SimulatorConfig
from azassist.simulator.protocol import Dialect
from azassist.simulator.speech import beeps, synthesize
from azassist.simulator.vad import (
    EnergyVad,
    SpeechStarted,
    SpeechStopped,
    VadSettings,
    threshold_to_dbfs,
)
from azassist.simulator.validation import check_event

pytestmark = pytest.mark.timeout(30)

SECRET = "sim-secret-do-not-print"


@pytest.mark.asyncio
async def test_async_with_binds_loopback_and_serves() -> None:
    async with LocalRealtimeServer(api_key=SECRET, responder="echo", pace=0) as server:
        assert server.endpoint == f"http://127.0.0.1:{server.port}"
        assert SECRET not in repr(server) and SECRET not in repr(server.config)
        url = server.endpoint.replace("http", "ws") + "/openai/v1/realtime?model=gpt-realtime"
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(url, headers={"api-key": SECRET}) as ws,
        ):
            assert (await ws.receive_json(timeout=5))["type"] == "session.created"
    with pytest.raises(RuntimeError):
        _ = server.endpoint  # stopped


@pytest.mark.asyncio
async def test_start_stop_without_context_manager() -> None:
    server = LocalRealtimeServer(SimulatorConfig(api_key=SECRET), pace=0)
    await server.start()
    port = server.port
    await server.stop()
    with socket_refused(port):
        async with aiohttp.ClientSession() as http:
            await http.get(f"http://127.0.0.1:{port}/")


class socket_refused:
    """Assert that connecting to ``port`` is refused (the server really let go of it)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        assert isinstance(exc, aiohttp.ClientConnectorError), f"port {self.port} still open"
        return True


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.com", "::"])
def test_only_loopback_addresses_are_accepted(host: str) -> None:
    with pytest.raises(LoopbackOnlyError, match="loopback"):
        LocalRealtimeServer(api_key=SECRET, host=host)


@pytest.mark.asyncio
async def test_localhost_and_ipv6_loopback() -> None:
    async with LocalRealtimeServer(api_key=SECRET, host="localhost") as server:
        assert server.endpoint.startswith("http://127.0.0.1:")
    try:
        server = await LocalRealtimeServer(api_key=SECRET, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert server.endpoint.startswith("http://[::1]:")
    finally:
        await server.stop()


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(api_key="")


def test_unknown_responder_names_the_choices() -> None:
    with pytest.raises(ValueError, match="echo, scripted, demo"):
        LocalRealtimeServer(api_key=SECRET, responder="oracle")


def _run_cli(*args: str, env_key: str | None = SECRET) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "AZASSIST_SIMULATOR_API_KEY"}
    if env_key is not None:
        env["AZASSIST_SIMULATOR_API_KEY"] = env_key
    return subprocess.Popen(
        [sys.executable, "-m", "azassist.simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_standalone_prints_the_endpoint_and_stops_on_ctrl_c() -> None:
    process = _run_cli("--port", "0", "--responder", "echo")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line
        endpoint = line.strip().rsplit(" ", 1)[-1]

        async def handshake() -> str:
            url = endpoint.replace("http", "ws") + "/openai/v1/realtime?model=gpt-realtime"
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(url, headers={"api-key": SECRET}) as ws,
            ):
                return str((await ws.receive_json(timeout=5))["type"])

        assert asyncio.run(handshake()) == "session.created"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "simulator stopped" in stdout
    assert SECRET not in stdout + stderr + line


@pytest.mark.parametrize(
    ("args", "env_key", "message"),
    [
        (("--host", "0.0.0.0", "--port", "0"), SECRET, "loopback"),
        (("--port", "0"), None, "no API key"),
    ],
    ids=["public-host", "no-key"],
)
def test_standalone_refuses_clearly(
    args: tuple[str, ...], env_key: str | None, message: str
) -> None:
    process = _run_cli(*args, env_key=env_key)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 2
    assert message in stderr


def test_synthesize_makes_audible_speech_at_any_rate() -> None:
    speech = synthesize("Hello there.")
    assert speech.dtype == np.int16
    assert 0.5 < len(speech) / 24_000 < 2.0
    assert np.sqrt(np.mean(speech.astype(np.float64) ** 2)) > 1000
    narrow = synthesize("Hello there.", 16_000)
    assert abs(len(narrow) / 16_000 - len(speech) / 24_000) < 0.01
    assert np.array_equal(synthesize("Hello there."), speech)  # same process, same samples


def test_beeps_are_audible_and_follow_the_text_length() -> None:
    short, long = beeps("one two"), beeps("one two three four five six")
    assert len(long) > 2 * len(short)
    assert np.abs(short).max() > 8000


def feed(vad: EnergyVad, *parts: np.ndarray) -> list[SpeechStarted | SpeechStopped]:
    events: list[SpeechStarted | SpeechStopped] = []
    for part in parts:
        for start in range(0, len(part), 2400):
            events.extend(vad.push(part[start : start + 2400]))
    return events


def test_vad_threshold_mapping_is_monotonic_and_documented() -> None:
    assert threshold_to_dbfs(0.0) == -70.0
    assert threshold_to_dbfs(0.5) == -45.0
    assert threshold_to_dbfs(1.0) == -20.0


def test_vad_turn_boundaries_on_the_audio_timeline() -> None:
    vad = EnergyVad(VadSettings(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=200))
    speech = synthesize("Testing the detector.")
    quiet = np.zeros(24_000, dtype=np.int16)
    started, stopped = feed(vad, quiet, speech, quiet)
    assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
    assert 1000 <= started.audio_start_ms <= 1060  # espeak starts with a few ms of silence
    assert stopped.audio_end_ms - started.audio_start_ms == pytest.approx(
        len(speech) / 24 + 200, abs=120
    )
    assert len(stopped.audio) / 24 == pytest.approx(
        stopped.audio_end_ms - started.audio_start_ms + 300, abs=10
    )


def test_validation_rejects_what_the_official_models_reject() -> None:
    good = '{"type": "input_audio_buffer.cleared", "event_id": "event_1"}'
    assert check_event(good, "input_audio_buffer.cleared", Dialect.GA, "sent") is None
    misspelt = '{"type": "input_audio_buffer.cleared", "event_id": "event_1", "itme_id": "x"}'
    assert "unknown field(s) itme_id" in str(
        check_event(misspelt, "input_audio_buffer.cleared", Dialect.GA, "sent")
    )
    wrong_type = json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "output_index": "0",
            "content_index": 0,
            "delta": "",
        }
    )
    assert "output_index" in str(
        check_event(wrong_type, "response.output_audio.delta", Dialect.GA, "sent")
    )
    # a GA-only name is not a preview event, and the other way round
    assert check_event(good.replace("input_audio_buffer.cleared", "conversation.item.done"),
                       "conversation.item.done", Dialect.PREVIEW, "sent") is not None  # fmt: skip
    assert (
        check_event('{"type": "response.audio.done"}', "response.audio.done", Dialect.GA, "sent")
        is not None
    )


def test_wire_timestamps_are_monotonic_time() -> None:
    before = time.monotonic()
    from azassist.simulator.wire import WireEvent

    event = WireEvent("sent", time.monotonic(), "sess", "x", {"a": 1})
    assert before <= event.t <= time.monotonic() and event["a"] == 1


def test_command_line_offers_every_responder() -> None:
    from azassist.simulator.__main__ import RESPONDER_NAMES
    from azassist.simulator.responders import RESPONDERS

    assert sorted(RESPONDERS) == sorted(RESPONDER_NAMES)
