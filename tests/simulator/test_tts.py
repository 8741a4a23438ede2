"""The Azure TTS endpoint through LiveKit's own ``openai.TTS.with_azure``."""

from __future__ import annotations

import numpy as np
import pytest
from livekit.agents import APIStatusError
from livekit.plugins import openai

from azassist.simulator.speech import synthesize

from .conftest import API_KEY, StartSimulator

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

TEXT = "The separate voice works."
API_VERSION = "2025-03-01-preview"


async def speak(tts: openai.TTS, text: str = TEXT) -> np.ndarray:
    chunks = [event.frame async for event in tts.synthesize(text)]
    return np.concatenate([np.frombuffer(c.data, dtype=np.int16) for c in chunks])


def make_tts(
    endpoint: str, *, model: str, deployment: str | None = None, **options: object
) -> openai.TTS:
    return openai.TTS.with_azure(
        model=model,
        azure_deployment=deployment or model,
        azure_endpoint=endpoint,
        api_version=API_VERSION,
        api_key=options.pop("api_key", API_KEY),  # type: ignore[arg-type]
        voice="alloy",
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("model", "response_format"),
    [
        ("gpt-4o-mini-tts", None),  # the plugin's defaults: mp3 over server-sent events
        ("gpt-4o-mini-tts", "pcm"),
        ("tts-1", "wav"),  # tts-1 asks for a plain audio body
        ("tts-1", "mp3"),
        ("tts-1", "flac"),
    ],
)
async def test_tts_returns_audio_the_plugin_decodes(
    start_simulator: StartSimulator, model: str, response_format: str | None
) -> None:
    server = await start_simulator()
    options = {"response_format": response_format} if response_format else {}
    tts = make_tts(server.endpoint, model=model, **options)
    try:
        audio = await speak(tts)
    finally:
        await tts.aclose()
    expected = synthesize(TEXT, voice="alloy")
    # lossy codecs pad and delay a little; the length and level still match the speech
    assert abs(len(audio) - len(expected)) < 24_000 * 0.15
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 500
    if response_format in ("pcm", "wav"):  # (LiveKit's FLAC decoder drops the first ~100 ms)
        assert np.array_equal(audio[: len(expected)], expected)


@pytest.mark.parametrize(
    ("options", "status"),
    [({"api_key": "wrong"}, 401), ({"deployment": "no-such-tts"}, 404)],
    ids=["401", "404"],
)
async def test_tts_refusals(
    start_simulator: StartSimulator, options: dict[str, str], status: int
) -> None:
    server = await start_simulator()
    tts = make_tts(server.endpoint, model="tts-1", **options)
    try:
        with pytest.raises(APIStatusError) as raised:
            await speak(tts)
        assert raised.value.status_code == status
    finally:
        await tts.aclose()
