"""``azassist talk`` as a user (or a benchmark) runs it: a real subprocess, real sockets.

Also where durability is proven: a talk killed with SIGKILL mid-reply leaves a conversation
file holding every completed turn; and no secret reaches the conversation files or the log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

import azassist.core.engine  # noqa: F401  (LiveKit registers its plugins on the main thread only)
from azassist.core.paths import resolve_paths
from azassist.core.talk import main as talk_main
from azassist.core.talk import read_wav
from azassist.core.transcript import read_conversation
from azassist.simulator import LocalRealtimeServer
from azassist.simulator.speech import speak_or_beep

pytestmark = [pytest.mark.timeout(90)]

KEY = "talk-test-key-" + "9" * 20
ROOT = Path(__file__).resolve().parents[2]


def _env(config_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION")}
    env.update(AZASSIST_CONFIG_DIR=str(config_dir), PYTHONPATH=str(ROOT), **extra)
    return env


async def _talk(config_dir: Path, *args: str, key: str | None = KEY, timeout: float = 60) -> tuple[int, str, str]:
    """Run ``azassist --config-dir D talk ARGS`` to the end; (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "azassist", "--config-dir", str(config_dir), "--log-level", "DEBUG", "talk", *args,
        env=_env(config_dir, **({"AZURE_OPENAI_API_KEY": key} if key else {})),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _talk_here(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, *args: str, key: str | None = KEY
) -> int:
    """The same command in this process (no interpreter start-up): on a worker thread, so
    the test's loop keeps serving the local server meanwhile."""
    if key:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", key)
    else:
        monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    return await asyncio.to_thread(talk_main, [*args, "--idle-seconds", "0.3"], resolve_paths(config_dir).ensure())


@pytest_asyncio.fixture
async def server() -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(api_key=KEY, responder="scripted", pace=0) as running:
        yield running


def _wav(path: Path, samples: np.ndarray, rate: int = 24_000) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.astype(np.int16).tobytes())
    return path


# --- usage and settings errors: exit 2, message on stderr ----------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--say", "hi"], "No endpoint and deployment are set"),
        (["--endpoint", "http://example.com", "--deployment", "x", "--say", "hi"], "must start with https://"),
        (["--push-to-talk", "--demo"], "--push-to-talk needs --input-wav"),
        (["--demo", "--input-wav", "/nonexistent/file.wav"], "could not be read"),
        (["--no-such-flag"], "unrecognized arguments"),
        (["--demo", "--voice", "two words"], "single word"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    status = talk_main(args, resolve_paths(tmp_path).ensure())
    assert status == 2
    assert words in capsys.readouterr().err


# --- conversations ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_typed_conversation_prints_the_transcript_and_saves_it(tmp_path: Path, server: LocalRealtimeServer) -> None:
    server.scripted.queue_reply("Hello from the server.")
    server.scripted.queue_reply("Two plus two is four.")
    status, out, err = await _talk(
        tmp_path, "--endpoint", server.endpoint, "--deployment", "gpt-realtime",
        "--say", "hello", "--say", "what is two plus two?",
        "--output-wav", str(tmp_path / "reply.wav"), "--pace", "0", "--transcript", str(tmp_path / "t.json"),
    )
    assert status == 0, err
    assert out.splitlines() == [
        "You: hello",
        "Assistant: Hello from the server.",
        "You: what is two plus two?",
        "Assistant: Two plus two is four.",
    ]
    assert [t["text"] for t in json.loads((tmp_path / "t.json").read_text())["turns"]][-1] == "Two plus two is four."
    [saved] = (tmp_path / "data" / "conversations").glob("*.jsonl")
    assert len(read_conversation(saved).turns) == 4
    assert len(read_wav(tmp_path / "reply.wav")) > 24_000
    # The key came from AZURE_OPENAI_API_KEY and went only into the request header.
    assert server.received.of_type("conversation.item.create")


@pytest.mark.asyncio
async def test_spoken_wav_hands_free_and_push_to_talk(
    tmp_path: Path, server: LocalRealtimeServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = _wav(tmp_path / "in.wav", np.concatenate([speak_or_beep("hello computer"), np.zeros(24_000, np.int16)]), 16_000)
    server.scripted.queue_transcript("hello computer")
    server.scripted.queue_reply("Hands-free reply.")
    target = ("--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--input-wav", str(wav), "--pace", "4")
    assert await _talk_here(tmp_path, monkeypatch, *target, "--until-idle") == 0
    assert "Assistant: Hands-free reply." in capsys.readouterr().out.splitlines()
    assert not server.received.of_type("input_audio_buffer.commit")

    server.scripted.queue_transcript("pressed words")
    server.scripted.queue_reply("Push-to-talk reply.")
    assert await _talk_here(tmp_path, monkeypatch, *target, "--push-to-talk") == 0
    assert "Assistant: Push-to-talk reply." in capsys.readouterr().out.splitlines()
    assert len(server.received.of_type("input_audio_buffer.commit")) == 1


@pytest.mark.asyncio
async def test_demo_runs_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _talk_here(tmp_path, monkeypatch, "--demo", "--say", "hello", "--pace", "0", key=None) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "You: hello"
    assert lines[1].startswith("Assistant: Hello! I'm the offline demo voice")


# --- connection errors: exit 3 ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_unknown_host_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status = await _talk_here(
        tmp_path, monkeypatch, "--endpoint", "https://azassist-talk.invalid", "--deployment", "gpt-realtime", "--say", "hi"
    )
    assert status == 3
    assert "azassist-talk.invalid was not found" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_no_keyring_and_no_key_exits_3(
    tmp_path: Path, server: LocalRealtimeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], no_session_bus: None,
) -> None:
    status = await _talk_here(
        tmp_path, monkeypatch, "--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--say", "hi", key=None
    )
    assert status == 3
    assert "keyring" in capsys.readouterr().err
    assert len(server.received) == 0


# --- durability and secrets --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sigkill_mid_reply_keeps_every_completed_turn(tmp_path: Path) -> None:
    long_reply = " ".join(["This reply is long enough to be cut off while it is being spoken."] * 4)
    async with LocalRealtimeServer(api_key=KEY, responder="scripted", pace=1) as server:
        server.scripted.queue_reply("First answer, short.")
        server.scripted.queue_reply(long_reply)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "azassist", "--config-dir", str(tmp_path), "talk",
            "--endpoint", server.endpoint, "--deployment", "gpt-realtime",
            "--say", "first question", "--say", "second question", "--output-wav", str(tmp_path / "o.wav"),
            env=_env(tmp_path, AZURE_OPENAI_API_KEY=KEY),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        conversations = tmp_path / "data" / "conversations"

        def turns() -> list[str]:
            files = list(conversations.glob("*.jsonl"))
            return [t.text for t in read_conversation(files[0]).turns] if files else []

        try:
            deadline = asyncio.get_running_loop().time() + 40
            while turns()[-1:] != ["second question"]:
                assert asyncio.get_running_loop().time() < deadline, turns()
                await asyncio.sleep(0.05)
            # The long reply is being generated and played right now.
            await server.sent.wait_for(lambda e: e.type == "response.output_audio.delta"
                                       and len(server.sent.of_type("response.created")) >= 2, timeout=20)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == -signal.SIGKILL
    [path] = conversations.glob("*.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line) for line in lines)  # no torn line: each was written whole
    assert turns() == ["first question", "First answer, short.", "second question"]


@pytest.mark.asyncio
async def test_wrong_key_exits_3_and_no_secret_reaches_files_or_logs(
    tmp_path: Path, server: LocalRealtimeServer
) -> None:
    server.scripted.queue_reply("Nothing secret here.")
    status, out, err = await _talk(
        tmp_path, "--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--say", "hello", "--pace", "0",
        "--transcript", str(tmp_path / "t.md"),
    )
    assert status == 0, err
    wrong = "bad-" + KEY
    status, out2, err2 = await _talk(
        tmp_path, "--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--say", "hi", key=wrong,
    )
    assert status == 3
    assert "rejected your API key" in err2
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".wav"]
    assert any(p.suffix == ".jsonl" for p in written) and any(p.name.startswith("azassist.log") for p in written)
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert "9" * 20 not in text, path  # neither the good key nor the wrong one
    for text in (out, err, out2, err2):
        assert "9" * 20 not in text


@pytest.mark.asyncio
@pytest.mark.audio
async def test_replies_play_on_the_speaker(
    tmp_path: Path, server: LocalRealtimeServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], virtual_audio: object,
) -> None:
    from tests.core.audio.support import MonitorRecorder

    server.scripted.queue_reply("You can hear this on the speaker.")
    recorder = MonitorRecorder()
    try:
        status = await _talk_here(
            tmp_path, monkeypatch, "--endpoint", server.endpoint, "--deployment", "gpt-realtime",
            "--say", "play it", "--speaker",
        )
    finally:
        heard = recorder.stop()
    assert status == 0, capsys.readouterr().err
    assert "Assistant: You can hear this on the speaker." in capsys.readouterr().out
    assert np.abs(heard).max() > 3000


@pytest.mark.asyncio
async def test_entra_id_token_from_the_environment(
    tmp_path: Path, server: LocalRealtimeServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ("--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--entra-id", "--say", "hi")
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "not-the-token-000")
    assert await _talk_here(tmp_path, monkeypatch, *target, key=None) == 3
    assert "rejected your sign-in token" in capsys.readouterr().err
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", KEY)  # the simulator accepts its key as a bearer token
    assert await _talk_here(tmp_path, monkeypatch, *target, key=None) == 0
    assert "Assistant: OK." in capsys.readouterr().out


@pytest.mark.asyncio
@pytest.mark.audio
async def test_the_talk_microphone_batches_when_the_engine_asks(virtual_audio: object) -> None:
    """``talk --mic`` wraps the devices in an AudioPair: the engine's batching must reach
    the microphone through it (hands-free wakes the loop once per 100 ms append)."""
    import argparse

    from azassist.core.settings import Settings
    from azassist.core.talk import _audio_factory

    args = argparse.Namespace(mic=True, speaker=False, input_wav=None, output_wav=None, pace=1.0)
    audio = await _audio_factory(args, [], lambda event: None)(Settings())
    try:
        audio.batch_input(2400)
        frames = [await asyncio.wait_for(audio.input.__anext__(), 5) for _ in range(3)]
    finally:
        await audio.aclose()
    assert [f.samples_per_channel for f in frames[1:]] == [2400, 2400]
