"""The floor: the least a realtime voice client can do, as a latency baseline.

One WebSocket (aiohttp), one sounddevice input stream and one output stream on the default
devices, nothing else: no echo canceller, no jitter buffer, no framework. Microphone blocks
are sent as 100 ms ``input_audio_buffer.append`` chunks (the size the LiveKit plugin sends,
so input latency compares the clients and not the chunk size); every
``response.output_audio.delta`` is written straight into the output stream's queue and played
by the next 10 ms device callback. A ``speech_started`` clears what is queued (barge-in).

    python -m bench.clients.floor --endpoint http://127.0.0.1:PORT --deployment gpt-realtime
        [--processing] [--say TEXT]

``--processing``: the fair floor of figure 3. Each 10 ms microphone block goes through the same
WebRTC processing as azassist's, with the app's default settings (``AudioProcessor``: echo
canceller fed with what the speaker plays, noise suppressor, high-pass filter, gain) in the
device callback, before it is chunked; everything else stays the floor. ``--say``: a typed
message (``conversation.item.create`` + ``response.create``) right after the session update,
for figure 16's first reply after launch.

The key comes from AZURE_OPENAI_API_KEY (never argv). Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import threading
from typing import Any

import aiohttp
import numpy as np
import sounddevice as sd

RATE = 24_000
BLOCK = RATE // 100  # 10 ms device blocks, like azassist's speaker
CHUNK = RATE // 10  # 100 ms appends, like the LiveKit plugin


class Player:
    """A byte queue the output callback drains; no prebuffering at all."""

    def __init__(self, processor: Any = None) -> None:
        self.processor = processor
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self.stream = sd.OutputStream(
            samplerate=RATE, channels=1, dtype="int16", blocksize=BLOCK, latency="low",
            callback=self._callback,
        )

    def write(self, pcm: bytes) -> None:
        with self._lock:
            self._buffer += pcm

    def clear(self) -> None:
        with self._lock:
            self._buffer.clear()

    def _callback(self, outdata: np.ndarray, frames: int, _time: object, _status: object) -> None:
        wanted = frames * 2
        with self._lock:
            taken = bytes(self._buffer[:wanted])
            del self._buffer[:wanted]
        samples = np.frombuffer(taken, dtype=np.int16)
        outdata[: len(samples), 0] = samples
        outdata[len(samples) :, 0] = 0
        if self.processor is not None:  # the echo canceller's reference
            self.processor.process_render(outdata[:, 0], RATE, silent=not len(samples))


def audio_processor() -> Any:
    """azassist's microphone processing with the app's default settings."""
    from azassist.core.audio.processing import AudioProcessor, ProcessingOptions
    from azassist.core.settings import AudioSettings

    defaults = AudioSettings()
    return AudioProcessor(ProcessingOptions(echo_cancellation=defaults.echo_cancellation,
                                            noise_suppression=defaults.noise_suppression,
                                            auto_gain=defaults.auto_gain))


def user_message(text: str) -> list[dict[str, object]]:
    return [
        {"type": "conversation.item.create",
         "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}},
        {"type": "response.create"},
    ]


def session_update(silence_ms: int) -> dict[str, object]:
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": RATE},
                    "turn_detection": {
                        "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                        "silence_duration_ms": silence_ms, "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": {"type": "audio/pcm", "rate": RATE}, "voice": "marin"},
            },
        },
    }


async def run(endpoint: str, deployment: str, silence_ms: int, *, processing: bool = False, say: str = "") -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    outgoing: asyncio.Queue[bytes] = asyncio.Queue()
    pending = bytearray()

    processor = audio_processor() if processing else None
    if processor is not None:
        from azassist.core.audio.memory import int16_frame

    def on_input(indata: np.ndarray, _frames: int, _time: object, _status: object) -> None:
        if processor is not None:
            frame = int16_frame(indata[:, 0])
            processor.process_capture(frame)
            pending.extend(bytes(frame.data))
        else:
            pending.extend(indata[:, 0].tobytes())
        while len(pending) >= CHUNK * 2:
            chunk = bytes(pending[: CHUNK * 2])
            del pending[: CHUNK * 2]
            loop.call_soon_threadsafe(outgoing.put_nowait, chunk)

    player = Player(processor)
    url = endpoint.rstrip("/").replace("http", "ws", 1) + f"/openai/v1/realtime?model={deployment}"
    headers = {"api-key": os.environ["AZURE_OPENAI_API_KEY"]}
    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
        await ws.send_str(json.dumps(session_update(silence_ms)))
        for event in user_message(say) if say else []:
            await ws.send_str(json.dumps(event))
        microphone = sd.InputStream(
            samplerate=RATE, channels=1, dtype="int16", blocksize=BLOCK, latency="low", callback=on_input
        )
        player.stream.start()
        microphone.start()

        async def send() -> None:
            while True:
                chunk = await outgoing.get()
                await ws.send_str(json.dumps(
                    {"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}
                ))

        async def receive() -> None:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                event = json.loads(message.data)
                kind = event.get("type")
                if kind == "response.output_audio.delta":
                    player.write(base64.b64decode(event["delta"]))
                elif kind == "input_audio_buffer.speech_started":
                    player.clear()

        tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in (*tasks, waiter):
            task.cancel()
        microphone.close()
        player.stream.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--deployment", default="gpt-realtime")
    parser.add_argument("--silence-ms", type=int, default=500)
    parser.add_argument("--processing", action="store_true", help="azassist's WebRTC processing (the fair floor)")
    parser.add_argument("--say", default="", help="a typed message once connected")
    args = parser.parse_args()
    asyncio.run(run(args.endpoint, args.deployment, args.silence_ms, processing=args.processing, say=args.say))


if __name__ == "__main__":
    main()
