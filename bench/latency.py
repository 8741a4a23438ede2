"""Figures 1-3: output, turn and input latency, azassist against LiveKit's console and the floor.

Each client runs as a subprocess on the virtual microphone and speaker, connected to the
local server in this process. Each repetition plays the same speech WAV into the microphone;
the server's VAD ends the turn and streams the same reply. Measured on this process's
monotonic clock:

  output latency  server sends the reply's first audio delta -> first non-silent sample on
                  the speaker's monitor
  turn latency    last non-silent sample of the speech passes the microphone -> first reply
                  sample on the speaker's monitor
  input latency   for every sample of the speech: it passes the microphone -> the append
                  carrying it reaches the server (the floor clients and console mode send
                  100 ms appends; azassist 20 ms ones while someone talks, see
                  azassist/core/engine/realtime_model.py)
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from azassist.core.audio.facade import processing_options
from azassist.core.audio.memory import FRAME_SAMPLES, int16_frame
from azassist.core.audio.processing import AudioProcessor, ProcessingOptions
from azassist.core.settings import AudioSettings
from azassist.simulator import LocalRealtimeServer

from .harness import (
    API_KEY,
    DEPLOYMENT,
    RATE,
    REPLY_TEXT,
    SILENCE_MS,
    BenchEnv,
    Client,
    FixedReply,
    TimedRecorder,
    active_span,
    best_alignment,
)


@dataclass
class LatencySamples:
    client: str
    output: list[float] = field(default_factory=list)
    turn: list[float] = field(default_factory=list)
    input: list[float] = field(default_factory=list)  # per speech sample, all repetitions
    input_pipeline: list[float] = field(default_factory=list)  # last sample of each chunk
    # turn latency less what no client can change: the server VAD's silence window and the
    # server's own time from speech_stopped to the first reply delta
    client_turn: list[float] = field(default_factory=list)
    # ... and that part no client can change, on its own
    server_turn: list[float] = field(default_factory=list)
    # the client share split: end of speech -> the server's speech_stopped less the silence
    # window (the way in), first reply delta -> heard (the way out)
    client_turn_in: list[float] = field(default_factory=list)
    client_turn_out: list[float] = field(default_factory=list)
    # smoothness: how much longer the reply lasted on the speaker than in the server's audio
    # (silence inserted by device underruns or a starved jitter buffer), per repetition
    gaps: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def extend(self, more: LatencySamples) -> None:
        """Add another round's samples of the same client."""
        for item in fields(self):
            if item.name != "client":
                getattr(self, item.name).extend(getattr(more, item.name))


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def connect_client(server: LocalRealtimeServer, start: Callable[[], Client], *, timeout: float = 60.0,
                         settle: float = 1.5) -> tuple[Client, str]:
    """Start a client and wait until its microphone audio flows into a new session."""
    known = {s.id for s in server.sessions}
    client = start()
    try:
        await wait_until(lambda: any(s.id not in known for s in server.sessions) or not client.alive(),
                         timeout, f"{client.name} to connect")
        if not client.alive():
            raise RuntimeError(f"{client.name} exited: {client.log_tail()}")
        session_id = next(s.id for s in server.sessions if s.id not in known)
        await server.received.wait_for(
            lambda e: e.session_id == session_id and e.type == "input_audio_buffer.append", timeout=timeout
        )
        await asyncio.sleep(settle)
    except BaseException:
        client.stop()
        raise
    return client, session_id


def _decode(event: dict[str, object]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(str(event["audio"])), dtype="<i2")


def input_latencies(server: LocalRealtimeServer, session_id: str, mic: TimedRecorder, onset_index: int,
                    speech_len: int, window: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, float]:
    """Per speech sample: passed the microphone -> its chunk reached the server.

    The chunks the server received in ``window`` are joined and the microphone recording of
    the speech is located in them by correlation (the client may have processed the audio);
    returns (per-sample latencies, per-chunk last-sample latencies, correlation score).
    """
    chunks = [e for e in server.received.of_type("input_audio_buffer.append", session_id)
              if window[0] <= e.t <= window[1] and e.event is not None]
    if not chunks:
        return np.zeros(0), np.zeros(0), 0.0
    pieces = [_decode(e.event) for e in chunks]  # type: ignore[arg-type]
    arrivals = np.array([e.t for e in chunks])
    ends = np.cumsum([len(p) for p in pieces])
    received = np.concatenate(pieces)
    needle = mic.samples()[onset_index : onset_index + speech_len]
    if len(needle) < speech_len or len(received) < len(needle):
        return np.zeros(0), np.zeros(0), 0.0
    offset, score = best_alignment(received, needle)
    positions = offset + np.arange(len(needle))  # where each speech sample sits in `received`
    chunk_of = np.searchsorted(ends, positions, side="right")
    valid = chunk_of < len(chunks)
    passed = mic.times(onset_index + np.arange(len(needle)))
    per_sample = arrivals[chunk_of[valid]] - passed[valid]
    # the last speech-carrying sample of each chunk: the chunk's pure pipeline delay
    last_in_chunk: dict[int, int] = {}
    for i, c in enumerate(chunk_of[valid]):
        last_in_chunk[int(c)] = i
    pipeline = np.array([arrivals[c] - passed[i] for c, i in last_in_chunk.items()])
    return per_sample, pipeline, score


def processing_delay(speech: np.ndarray, options: ProcessingOptions | None = None, repeats: int = 5) -> float:
    """Seconds by which azassist's microphone processing (``options``, else the app's
    defaults) delays the signal.

    WebRTC's own algorithmic delay (the echo canceller's block framing and suppression
    filter, the noise suppressor's overlap, the gain module's resampling at 24 kHz): a
    floor client with the same processing would pay it too, so figure 3 reports it beside
    the ratio. Measured offline, deterministic: the speech runs ``repeats`` times through a
    fresh processor with the speaker silent (the first runs let the suppressor and the gain
    settle) and the last run is located in the output by correlation.
    """
    processor = AudioProcessor(options or processing_options(AudioSettings()))
    signal = np.concatenate([*[speech] * repeats, np.zeros(RATE // 10, dtype=np.int16)])
    silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    processed = []
    for start in range(0, len(signal) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        processor.process_render(silence, RATE)
        frame = int16_frame(signal[start : start + FRAME_SAMPLES].copy())
        processor.process_capture(frame)
        processed.append(np.frombuffer(frame.data, dtype=np.int16))
    last_run = (repeats - 1) * len(speech)
    delay, _score = best_alignment(np.concatenate(processed)[last_run:], speech)
    return delay / RATE


def playback_gap(recorded: np.ndarray, reply: np.ndarray) -> float:
    """Seconds of silence the client inserted into the reply (0 for a seamless playback)."""
    start, end = active_span(reply)
    length = end - start
    _, played_end = active_span(recorded[: length + RATE])
    return (played_end - length) / RATE


async def measure_client(bench: BenchEnv, server: LocalRealtimeServer, start: Callable[[], Client], name: str,
                         reps: int, mic: TimedRecorder, spk: TimedRecorder, *,
                         silence_s: float = SILENCE_MS / 1000) -> LatencySamples:
    result = LatencySamples(name)
    speech_start, speech_end = active_span(bench.speech)
    reply_seconds = len(bench.reply) / RATE
    client, session_id = await connect_client(server, start)
    try:
        for rep in range(reps):
            if not client.alive():
                result.problems.append(f"{name} exited: {client.log_tail(500)}")
                break
            t_play = time.monotonic()
            player = bench.play_into_microphone(bench.speech_wav)
            try:
                done = await server.sent.wait_for(
                    lambda e, t=t_play: e.session_id == session_id and e.type == "response.done" and e.t > t,  # type: ignore[misc]
                    timeout=30,
                )
            except TimeoutError:
                result.problems.append(f"rep {rep}: no reply")
                player.wait(timeout=10)
                continue
            # let the reply play out (clients buffer up to a few hundred ms) and the line go quiet
            await asyncio.sleep(max(0.0, reply_seconds - (time.monotonic() - done.t) + 0.2) + 1.0)
            player.wait(timeout=10)

            onset = mic.first_loud(t_play)
            deltas = [e for e in server.sent.of_type("response.output_audio.delta", session_id) if e.t > t_play]
            if onset is None or not deltas:
                result.problems.append(f"rep {rep}: speech or reply audio missing")
                continue
            first_delta = deltas[0].t
            heard_index = spk.first_loud_index(first_delta - 0.05)
            if heard_index is None:
                result.problems.append(f"rep {rep}: the reply was never heard")
                continue
            heard = spk.time_of(heard_index)
            result.gaps.append(playback_gap(spk.samples()[heard_index:], bench.reply))
            onset_index = mic.index_at(onset)
            # refine: the exact sample index of the onset near that time
            samples = mic.samples()
            lo = max(0, onset_index - RATE // 10)
            loud = np.flatnonzero(np.abs(samples[lo : lo + RATE].astype(np.int32)) > 64)
            onset_index = lo + int(loud[0]) if len(loud) else onset_index
            end_of_speech = mic.time_of(onset_index + (speech_end - speech_start))
            result.output.append(heard - first_delta)
            result.turn.append(heard - end_of_speech)
            stopped = [e for e in server.sent.of_type("input_audio_buffer.speech_stopped", session_id) if e.t > t_play]
            if stopped:
                server_side = silence_s + (first_delta - stopped[0].t)
                result.server_turn.append(server_side)
                result.client_turn.append(heard - end_of_speech - server_side)
                result.client_turn_in.append(stopped[0].t - end_of_speech - silence_s)
                result.client_turn_out.append(heard - first_delta)
            per_sample, pipeline, score = input_latencies(
                server, session_id, mic, onset_index, speech_end - speech_start, (t_play, done.t + 1.0)
            )
            if score < 0.5:
                result.problems.append(f"rep {rep}: microphone audio not found at the server (corr {score:.2f})")
            else:
                result.input.extend(per_sample.tolist())
                result.input_pipeline.extend(pipeline.tolist())
    finally:
        client.stop()
    return result


def reply_server(bench: BenchEnv) -> LocalRealtimeServer:
    return LocalRealtimeServer(
        api_key=API_KEY, deployments=(DEPLOYMENT,), responder=FixedReply(REPLY_TEXT, bench.reply),
        pace=1.0, record_limit=None, strict_validation=False,
    )
