"""Azure OpenAI text-to-speech (``POST /openai/deployments/{deployment}/audio/speech``).

For the "text model + separate TTS" mode. LiveKit's ``openai.TTS.with_azure`` asks for
``response_format`` (mp3 unless configured) and ``stream_format: "sse"`` for gpt-4o-mini-tts.
We answer in the format asked for: ``pcm`` raw 24 kHz s16le, ``wav`` via the standard
library, ``mp3``/``opus``/``aac``/``flac`` encoded with PyAV (already installed by LiveKit);
as server-sent ``speech.audio.delta`` events when ``stream_format`` is ``sse``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import wave
from typing import Any

import numpy as np
from aiohttp import web

from . import speech
from .vad import SAMPLE_RATE

TTS_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
    "verse", "marin", "cedar",
)  # fmt: skip
MAX_INPUT_CHARS = 4096
SPEED_RANGE = (0.25, 4.0)
CONTENT_TYPES = {
    "pcm": "audio/pcm",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
}
# PyAV container format and codec for the compressed formats.
_AV_FORMATS = {
    "mp3": ("mp3", "libmp3lame"),
    "opus": ("ogg", "libopus"),
    "aac": ("adts", "aac"),
    "flac": ("flac", "flac"),
}
_SSE_CHUNK_SAMPLES = SAMPLE_RATE // 10


class SpeechRequestError(ValueError):
    """A request the service would answer with HTTP 400."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def parse_speech_request(body: Any) -> dict[str, Any]:
    """The validated request: input, voice, response_format, speed, stream_format."""
    if not isinstance(body, dict):
        raise SpeechRequestError("The request body must be a JSON object.")
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise SpeechRequestError("Missing required parameter: 'input'.", "input")
    if len(text) > MAX_INPUT_CHARS:
        raise SpeechRequestError(
            f"'input' is too long: at most {MAX_INPUT_CHARS} characters.", "input"
        )
    voice = body.get("voice")
    if voice not in TTS_VOICES:
        raise SpeechRequestError(
            f"Invalid value: '{voice}'. Supported values are: "
            + ", ".join(f"'{v}'" for v in TTS_VOICES),
            "voice",
        )
    response_format = body.get("response_format", "mp3")
    if response_format not in CONTENT_TYPES:
        raise SpeechRequestError(f"Invalid value: '{response_format}'.", "response_format")
    speed = body.get("speed", 1.0)
    if not isinstance(speed, int | float) or not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
        raise SpeechRequestError(f"Invalid 'speed': {speed}.", "speed")
    stream_format = body.get("stream_format", "audio")
    if stream_format not in ("audio", "sse"):
        raise SpeechRequestError(f"Invalid value: '{stream_format}'.", "stream_format")
    return {
        "input": text,
        "voice": voice,
        "response_format": response_format,
        "speed": float(speed),
        "stream_format": stream_format,
    }


def encode_audio(samples: np.ndarray, response_format: str) -> bytes:
    """24 kHz mono int16 samples in the container/codec the client asked for."""
    pcm = np.ascontiguousarray(samples, dtype="<i2")
    if response_format == "pcm":
        return pcm.tobytes()
    if response_format == "wav":
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(pcm.tobytes())
        return out.getvalue()
    return _encode_with_av(pcm, *_AV_FORMATS[response_format])


def _encode_with_av(pcm: np.ndarray, container_format: str, codec: str) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=SAMPLE_RATE)
        assert isinstance(stream, av.audio.stream.AudioStream)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _synthesize(request: dict[str, Any]) -> np.ndarray:
    return speech.speak_or_beep(
        request["input"],
        SAMPLE_RATE,
        voice=request["voice"],
        words_per_minute=round(175 * request["speed"]),
    )


async def speech_response(
    request: web.Request, speech_request: dict[str, Any]
) -> web.StreamResponse:
    """Synthesise and answer, as one body or as server-sent events."""
    samples = await asyncio.to_thread(_synthesize, speech_request)
    response_format = speech_request["response_format"]
    if speech_request["stream_format"] != "sse":
        body = await asyncio.to_thread(encode_audio, samples, response_format)
        return web.Response(body=body, content_type=CONTENT_TYPES[response_format])
    stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await stream.prepare(request)
    if response_format == "pcm":
        chunks = [
            encode_audio(samples[i : i + _SSE_CHUNK_SAMPLES], "pcm")
            for i in range(0, len(samples), _SSE_CHUNK_SAMPLES)
        ]
    else:  # a compressed stream is one bitstream: cut the bytes, not the samples
        encoded = await asyncio.to_thread(encode_audio, samples, response_format)
        chunks = [encoded[i : i + 8192] for i in range(0, len(encoded), 8192)]
    for chunk in chunks:
        event = {"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()}
        await stream.write(f"data: {json.dumps(event)}\n\n".encode())
    characters = len(speech_request["input"])
    audio_tokens = round(len(samples) / SAMPLE_RATE * 20)
    done = {
        "type": "speech.audio.done",
        "usage": {
            "input_tokens": max(1, characters // 4),
            "output_tokens": audio_tokens,
            "total_tokens": max(1, characters // 4) + audio_tokens,
        },
    }
    await stream.write(f"data: {json.dumps(done)}\n\n".encode())
    await stream.write_eof()
    return stream
