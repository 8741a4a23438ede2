"""Figures 11-14 (issue 23): hands-free in a simulated room, not a digital loopback.

Every client here hears and is heard through ``tests/support/room.py``: the virtual speaker's
monitor goes through a room impulse response (pyroomacoustics), a soft-clipping loudspeaker
and a drifting clock into the virtual microphone, with background noise and the user's own
speech (espeak-ng with level variation, through the same room) mixed in. Three rooms: small
office, living room, laptop on desk. Baselines in the same run: azassist with echo
cancellation off, LiveKit's console mode, and a perfect echo path (the same room with the
speaker's way into the microphone cut: no echo at all).

  11  echo reduction (ERLE) per room, in the first second and after convergence
  12  false barge-ins: the assistant talks, nobody else does; how often the server's VAD
      (the local server's, on the real signal each client sends) hears speech
  13  true barge-ins: the user talks over the reply at set moments (several in its first
      second); detection rate, and the user's first syllable at the microphone -> the
      speaker quiet, against the perfect echo path
  14  double talk: how much of the user's speech survives the processing while the
      assistant talks, against the perfect echo path
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from azassist.simulator import LocalRealtimeServer
from azassist.simulator.wire import WireEvent
from tests.support.room import ROOMS, RoomProcess, level_variation, read_wav, simulated_room

from .harness import (
    API_KEY,
    DEPLOYMENT,
    PYTHON,
    RATE,
    ROOT,
    Client,
    FixedReply,
    TimedRecorder,
    best_alignment,
    python_env,
    speech_samples,
    start_azassist_talk,
    start_console,
    write_wav,
)
from .latency import connect_client
from .results import Figure, median, ratio_figure

if TYPE_CHECKING:
    from .figures import Run

ROOM_NAMES = tuple(ROOMS)
LONG_REPLY_TEXT = (
    "Here is the long answer you asked for. The weather will stay sunny and warm all afternoon, "
    "with a light breeze from the west. Tomorrow clouds come in from the sea, and by the evening "
    "there may be some rain along the coast. The weekend looks better again, dry and bright, "
    "though a little cooler in the mornings. If you are planning a walk, Saturday is the day. "
    "Sunday should be fine too, but take a jacket, because the wind picks up after lunch."
)
ECHO_VOICE_TEXT = (
    "I am the assistant, and I am talking to you right now. Please keep listening while I go "
    "on speaking for a little while longer, so the echo canceller has something to work on."
)
USER_TEXT = "Wait a moment, I have another question about that."
QUESTION_TEXT = "What is the weather like this afternoon?"
NO_PROCESSING = ("off", "off", "off")
DEFAULTS = ("on", "on", "on")
AEC_ALONE = ("on", "off", "off")
NO_ECHO_CANCELLER = ("off", "on", "on")
AEC_OFF_SETTINGS: dict[str, object] = {"audio": {"echo_cancellation": False}}


def _db(power_ref: float, power: float) -> float:
    return float(10 * np.log10(max(power_ref, 1e-9) / max(power, 1e-9)))


@dataclass
class Material:
    """The WAVs of one run (made once, shared by the four figures)."""

    workdir: Path
    paths: dict[str, Path] = field(default_factory=dict)

    def wav(self, name: str, text: str) -> Path:
        if name not in self.paths:
            self.paths[name] = write_wav(self.workdir / f"room-{name}.wav", speech_samples(text))
        return self.paths[name]


def _material(run: Run) -> Material:
    material = getattr(run, "_room_material", None)
    if material is None:
        material = Material(run.bench.workdir)
        run._room_material = material  # type: ignore[attr-defined]
    return material


@contextlib.contextmanager
def _room(run: Run, name: str, **switches: bool) -> Iterator[RoomProcess]:
    with simulated_room(name, run.bench.audio.env, **switches) as room:
        yield room


# --- the device probe (figures 11 and 14) ---------------------------------------------------------

@dataclass
class Captured:
    samples: np.ndarray  # what the microphone seam delivered
    times: np.ndarray  # arrival of each frame, seconds after the voice was queued
    lengths: np.ndarray
    duration: float
    underflows: int

    def power(self, start: float, end: float) -> float:
        """Mean power of the frames that arrived in [start, end] seconds after the voice began."""
        ends = np.cumsum(self.lengths)
        picked = [self.samples[e - n : e].astype(np.float64) for t, n, e in zip(self.times, self.lengths, ends, strict=True)
                  if start <= t <= end]
        return float(np.mean(np.concatenate(picked) ** 2)) if picked else 0.0


async def _probe(run: Run, wav: Path, switches: tuple[str, str, str], *, room: RoomProcess | None = None,
                 say_at: float | None = None, say: Path | None = None, clean: Path | None = None,
                 ducking: bool = True) -> Captured:
    """One probe run; if ``say_at`` is given the user speaks ``say`` into ``room`` that many
    seconds after the voice was queued (``clean``: the user's speech as it reached the mic)."""
    out = run.bench.workdir / f"captured-{time.monotonic_ns()}.npy"
    echo, noise, gain = switches
    proc = await asyncio.create_subprocess_exec(
        PYTHON, "-m", "bench.probes.room_echo", "--wav", str(wav), "--out", str(out), "--echo-cancellation", echo,
        "--noise-suppression", noise, "--auto-gain", gain, "--startup-ducking", "on" if ducking else "off",
        env=python_env(run.bench), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        started = None
        while started is None:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if not line:
                raise RuntimeError(f"the room probe failed: {(await proc.stderr.read()).decode()[-1500:]}")
            if line.startswith("playing "):
                started = float(line.split()[1])
        if say_at is not None and room is not None and say is not None:
            await asyncio.sleep(max(0.0, started + say_at - time.monotonic()))
            await asyncio.to_thread(room.say, say, 0.0, clean)
        rest, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"the room probe failed: {err.decode()[-1500:]}")
    result = json.loads(rest.decode().strip().splitlines()[-1])
    times, lengths = np.load(str(out).removesuffix(".npy") + "-times.npy")
    return Captured(np.load(out), times, lengths.astype(np.int64), float(result["duration"]), int(result["underflows"]))


# --- 11: echo reduction per room -----------------------------------------------------------------

FIRST_SECOND = (0.0, 1.0)


async def figure_11(run: Run) -> list[Figure]:
    """ERLE per room with the room's noise off (so the residual is echo, not fan): the power the
    microphone seam delivers while the voice plays, against the same room with processing off."""
    wav = _material(run).wav("echo-voice", ECHO_VOICE_TEXT)
    figures: list[Figure] = []
    for name in ROOM_NAMES:
        with _room(run, name, noise=False):
            runs: dict[str, list[Captured]] = {"off": [], "alone": [], "defaults": [], "no ducking": []}
            for _ in range(1 if run.quick else 2):
                for label, switches in (("off", NO_PROCESSING), ("alone", AEC_ALONE), ("defaults", DEFAULTS),
                                        ("no ducking", DEFAULTS)):
                    runs[label].append(await _probe(run, wav, switches, ducking=label != "no ducking"))
        duration = runs["off"][0].duration
        converged = (2.0, duration)
        ref_first = median([c.power(*FIRST_SECOND) for c in runs["off"]])
        ref_late = median([c.power(*converged) for c in runs["off"]])
        alone_late = [_db(ref_late, c.power(*converged)) for c in runs["alone"]]
        undocked_first = [_db(ref_first, c.power(*FIRST_SECOND)) for c in runs["no ducking"]]
        default_late = [_db(ref_late, c.power(*converged)) for c in runs["defaults"]]
        default_first = [_db(ref_first, c.power(*FIRST_SECOND)) for c in runs["defaults"]]
        gaps = [c.underflows for cs in runs.values() for c in cs]
        note = (f"room echo {10 * np.log10(ref_late / 32768**2):.0f} dBFS at the microphone; runs "
                + ", ".join(f"{v:.0f}" for v in alone_late) + f" dB; speaker underflows {gaps}")
        figures += [
            Figure(f"11 ERLE {name}, echo canceller alone, after 2 s", median(alone_late), "dB", None, ">= 20 dB",
                   median(alone_late) >= 20, note=note),
            Figure(f"11 echo reduction {name}, app defaults, after 2 s", median(default_late), "dB", None,
                   ">= 20 dB", median(default_late) >= 20, note="AEC + noise suppression + gain"),
            ratio_figure(f"11 echo reduction {name}, app defaults, first second", median(default_first),
                         median(undocked_first), "dB", baseline_name="without the start-up ducking",
                         note="the -30 dB start-up ducking is on in the value, off in the baseline (what the canceller "
                              "and noise suppressor remove while converging); above ~120 dB the seam delivered digital "
                              "silence"),
        ]
    return figures


# --- 14: double talk -----------------------------------------------------------------------------

def near_end_quality(captured: np.ndarray, clean: np.ndarray) -> tuple[float, float, float]:
    """(correlation, SNR in dB, level kept in dB) of the user's speech in what the seam
    delivered. The clean near-end (as it reached the microphone) goes through WebRTC's
    high-pass filter first, which every configuration runs (its phase shift near espeak's
    pitch alone costs a quarter of the correlation), and is located by correlation; SNR = the
    part of the delivered signal explained by a scaled copy of it against everything else
    (residual echo, noise, distortion); level kept = that scale, in dB."""
    from tests.core.audio.support import high_passed

    reference_all = high_passed(clean.astype(np.int16)).astype(np.float64)
    offset, score = best_alignment(captured, reference_all)
    window = captured[offset : offset + len(reference_all)].astype(np.float64)
    reference = reference_all[: len(window)]
    gain = float(np.dot(window, reference) / max(np.dot(reference, reference), 1e-9))
    residual = window - gain * reference
    snr = _db(float(np.sum((gain * reference) ** 2)), float(np.sum(residual**2)))
    return score, snr, float(20 * np.log10(max(abs(gain), 1e-6)))


DOUBLE_TALK_AT = (0.3, 2.5)  # seconds into the reply: during the canceller's first second, and converged


async def figure_14(run: Run) -> list[Figure]:
    material = _material(run)
    voice = material.wav("echo-voice", ECHO_VOICE_TEXT)
    user = material.wav("user", USER_TEXT)
    figures: list[Figure] = []
    # the perfect echo path: no echo reaches the microphone, so no canceller (it would only
    # suppress the user: WebRTC's AEC3 without an echo to converge on stays conservative)
    clients = (("azassist", DEFAULTS, True, True), ("perfect echo path", NO_ECHO_CANCELLER, False, True),
               ("echo cancellation off", NO_ECHO_CANCELLER, True, True),
               ("no start-up ducking", DEFAULTS, True, False))
    for name in ROOM_NAMES:
        results: dict[tuple[str, float], tuple[float, float, float]] = {}
        with _room(run, name) as room:
            for label, switches, echo, ducking in clients:
                room.set_echo(echo)
                for at in DOUBLE_TALK_AT if ducking else DOUBLE_TALK_AT[:1]:
                    clean_path = run.bench.workdir / f"clean-{time.monotonic_ns()}.wav"
                    captured = await _probe(run, voice, switches, room=room, say_at=at, say=user, clean=clean_path,
                                            ducking=ducking)
                    results[(label, at)] = near_end_quality(captured.samples, read_wav(clean_path))
        for at in DOUBLE_TALK_AT:
            corr, snr, kept = results[("azassist", at)]
            perfect_corr, perfect_snr, perfect_kept = results[("perfect echo path", at)]
            off_corr, off_snr, off_kept = results[("echo cancellation off", at)]
            when = "first second" if at < 1 else "converged"
            undocked = results.get(("no start-up ducking", at))
            without = (f"; without the start-up ducking: correlation {undocked[0]:.2f}, level kept {undocked[2]:+.0f} dB"
                       if undocked else "")
            figures.append(ratio_figure(
                f"14 double talk {name}, {when}: user speech kept (correlation)", corr, perfect_corr, "",
                baseline_name="perfect echo path",
                note=f"user starts {at:.1f} s into the reply; azassist defaults: level kept {kept:+.0f} dB, SNR "
                     f"{snr:.1f} dB; perfect echo path (same processing, no echo): {perfect_kept:+.0f} dB, "
                     f"{perfect_snr:.1f} dB; echo cancellation off (raw): correlation {off_corr:.2f}, "
                     f"{off_kept:+.0f} dB, SNR {off_snr:.1f} dB{without}"))
    return figures


# --- 12 and 13: clients against the local server, through the room --------------------------------

def _long_reply_server(run: Run) -> LocalRealtimeServer:
    audio = speech_samples(LONG_REPLY_TEXT)
    return LocalRealtimeServer(api_key=API_KEY, deployments=(DEPLOYMENT,), responder=FixedReply(LONG_REPLY_TEXT, audio),
                               pace=1.0, record_limit=None, strict_validation=False)


async def _next_event(server: LocalRealtimeServer, session_id: str, kind: str, after: float, *,
                      timeout: float = 10.0) -> WireEvent:
    """The first event of ``kind`` the server sent to ``session_id`` at or after ``after``."""
    return await server.sent.wait_for(
        lambda e: e.session_id == session_id and e.type == kind and e.t >= after, timeout=timeout)


def _starters(run: Run, names: tuple[str, ...]) -> dict[str, Callable[[str], Client]]:
    bench = run.bench
    every: dict[str, Callable[[str], Client]] = {
        "azassist": lambda endpoint: start_azassist_talk(bench, endpoint),
        "echo cancellation off": lambda endpoint: start_azassist_talk(bench, endpoint, settings=AEC_OFF_SETTINGS),
        "console": lambda endpoint: start_console(bench, endpoint),
        # no echo reaches its microphone (the room's echo is cut), so it needs no canceller
        "perfect echo path": lambda endpoint: start_azassist_talk(bench, endpoint, settings=AEC_OFF_SETTINGS),
    }
    return {name: every[name] for name in names}


async def figure_12(run: Run) -> list[Figure]:
    seconds = 15.0 if run.quick else 30.0
    question = _material(run).wav("question", QUESTION_TEXT)
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    problems: list[str] = []
    into: dict[tuple[str, str], list[float]] = {}  # each false start: seconds into the reply it cut
    starters = _starters(run, ("azassist", "console", "echo cancellation off"))
    async with _long_reply_server(run) as server:
        for room_name in ROOM_NAMES:
            with _room(run, room_name) as room:
                for label, start in starters.items():
                    client, sid = await connect_client(server, lambda start=start: start(server.endpoint))  # type: ignore[misc]
                    try:
                        t0 = time.monotonic()
                        await asyncio.to_thread(room.say, question)
                        try:
                            first = await _next_event(server, sid, "response.created", t0, timeout=30)
                        except TimeoutError:
                            problems.append(f"{label} in the {room_name}: the question got no reply")
                            continue
                        await asyncio.sleep(seconds)
                        end = time.monotonic()
                        starts = [e for e in server.sent.of_type("input_audio_buffer.speech_started", sid)
                                  if first.t < e.t <= end]
                        replies = [e for e in server.sent.of_type("response.created", sid) if first.t <= e.t <= end]
                        counts[(room_name, label)] = (len(starts), len(replies))
                        into[(room_name, label)] = [e.t - max(r.t for r in replies if r.t < e.t) for e in starts]
                    finally:
                        client.stop()
    figures: list[Figure] = []
    nan = (float("nan"), 0)
    for room_name in ROOM_NAMES:
        ours, started = counts.get((room_name, "azassist"), nan)
        console, _ = counts.get((room_name, "console"), nan)
        off, _ = counts.get((room_name, "echo cancellation off"), nan)
        figures.append(Figure(
            f"12 false barge-ins {room_name}, {seconds:.0f} s of the assistant talking", ours, "count", console,
            "0 (console and echo cancellation off are the baselines)", ours == 0,
            note=f"server VAD speech starts with nobody talking: azassist {ours}, LiveKit console {console}, "
                 f"azassist with echo cancellation off {off}; azassist replies started {started}; azassist's "
                 f"false starts at {', '.join(f'{t:.1f}' for t in into.get((room_name, 'azassist'), []))} s into a reply"
                 + (f"; {'; '.join(problems)}" if problems else "")))
    return figures


@dataclass
class BargeIn:
    said_at: float  # monotonic time the room was told
    clean: Path
    reply_started: float  # response.created of the reply being interrupted


BARGE_IN_OFFSETS = (0.2, 2.5, 0.5, 1.5, 0.8, 3.5, 0.35, 5.0)  # seconds after the reply's first delta


@dataclass(frozen=True)
class BargeInOutcome:
    detected: bool
    stop: float | None  # the user's first syllable at the microphone -> the speaker quiet (s)
    false_first: bool  # a false start came first
    heard: float | None = None  # the first syllable -> the server's speech_started (s)


def _barge_in_result(barge: BargeIn, mic: TimedRecorder, spk: TimedRecorder, starts: list[float]) -> BargeInOutcome:
    """What happened to one barge-in: detected, how soon the speaker went quiet, how soon the
    server heard it (the stop time's first part: the rest is the client's reaction)."""
    clean = read_wav(barge.clean).astype(np.float64)
    loud = np.flatnonzero(np.abs(clean) > 100)
    onset_in_clean = int(loud[0]) if len(loud) else 0
    lo = mic.index_at(barge.said_at - 0.3)
    window = mic.samples()[lo : lo + int(3 * RATE)]
    offset, _score = best_alignment(window, clean[: int(1.5 * RATE)])
    onset = mic.time_of(lo + offset + onset_in_clean)
    heard_at = [t for t in starts if onset - 0.2 <= t <= onset + 2.5]
    detected = bool(heard_at)
    false_first = any(barge.reply_started < t < onset - 0.2 for t in starts)
    spk_samples = spk.samples()
    index = spk.index_at(onset)
    quiet = int(0.25 * RATE)
    stop = None
    loud_spk = np.abs(spk_samples[index : index + 5 * RATE].astype(np.int32)) > 64
    if len(loud_spk) > quiet and loud_spk[: RATE // 20].any():  # the assistant was talking then
        run_length = np.convolve(loud_spk, np.ones(quiet, dtype=np.int64), mode="valid")
        silent = np.flatnonzero(run_length == 0)
        if len(silent):
            stop = spk.time_of(index + int(silent[0])) - onset
    return BargeInOutcome(detected, stop, false_first, min(heard_at) - onset if heard_at else None)


def _stop_split(label: str, outcomes: list[BargeInOutcome]) -> str:
    """The stop time in two: first syllable -> the server hears it (the echo path's share:
    what the processing did to the user's onset) and heard -> quiet (the client's reaction),
    medians, with each barge-in's stop time in the order made."""
    timed = [(o.heard, o.stop) for o in outcomes if o.detected and o.stop is not None and o.heard is not None]
    if not timed:
        return f"{label}: no timed barge-in"
    heard = median([1000 * h for h, _ in timed])
    react = median([1000 * (s - h) for h, s in timed])
    each = ", ".join("-" if o.stop is None or not o.detected else f"{1000 * o.stop:.0f}" for o in outcomes)
    return f"{label}: heard by the server {heard:.0f} ms, then quiet {react:.0f} ms later (each: {each} ms)"


async def figure_13(run: Run) -> list[Figure]:
    material = _material(run)
    question = material.wav("question", QUESTION_TEXT)
    user = material.wav("user", USER_TEXT)
    offsets = BARGE_IN_OFFSETS[: 4 if run.quick else 8]
    levels = level_variation(len(offsets))
    bench = run.bench
    mic = TimedRecorder("mic.monitor", bench.audio.env)
    spk = TimedRecorder("spk.monitor", bench.audio.env)
    outcomes: dict[tuple[str, str], list[BargeInOutcome]] = {}
    try:
        mic.wait_started()
        spk.wait_started()
        async with _long_reply_server(run) as server:
            for room_name in ROOM_NAMES:
                with _room(run, room_name) as room:
                    for label, start in _starters(run, ("azassist", "perfect echo path")).items():
                        room.set_echo(label != "perfect echo path")
                        client, sid = await connect_client(server, lambda start=start: start(server.endpoint))  # type: ignore[misc]
                        barges: list[BargeIn] = []
                        try:
                            last = time.monotonic()
                            await asyncio.to_thread(room.say, question)
                            for offset, level in zip(offsets, levels, strict=True):
                                try:
                                    created = await _next_event(server, sid, "response.created", last)
                                    delta = await _next_event(server, sid, "response.output_audio.delta", created.t)
                                    begin, reply_started = delta.t + 0.03, created.t
                                except TimeoutError:  # the last barge-in was not heard: the reply goes on
                                    begin = reply_started = time.monotonic()
                                await asyncio.sleep(max(0.0, begin + offset - time.monotonic()))
                                clean = bench.workdir / f"barge-{time.monotonic_ns()}.wav"
                                said = time.monotonic()
                                await asyncio.to_thread(room.say, user, level, clean)
                                barges.append(BargeIn(said, clean, reply_started))
                                last = said
                                await asyncio.sleep(2.0)
                            await asyncio.sleep(1.0)
                        finally:
                            client.stop()
                        starts = [e.t for e in server.sent.of_type("input_audio_buffer.speech_started", sid)]
                        outcomes[(room_name, label)] = [_barge_in_result(b, mic, spk, starts) for b in barges]
    finally:
        mic.stop()
        spk.stop()
    figures: list[Figure] = []
    for room_name in ROOM_NAMES:
        ours, perfect = outcomes[(room_name, "azassist")], outcomes[(room_name, "perfect echo path")]
        rate = sum(o.detected for o in ours) / max(1, len(ours))
        perfect_rate = sum(o.detected for o in perfect) / max(1, len(perfect))
        stops = [o.stop for o in ours if o.detected and o.stop is not None]
        perfect_stops = [o.stop for o in perfect if o.detected and o.stop is not None]
        early = [o.detected for o, at in zip(ours, offsets, strict=False) if at < 1.0]
        false_first = sum(o.false_first for o in ours)
        figures.append(Figure(
            f"13 true barge-ins detected {room_name}", 100 * rate, "%", 100 * perfect_rate, ">= 95 %", rate >= 0.95,
            note=f"{len(ours)} barge-ins at {', '.join(f'{o:g}' for o in offsets)} s into a reply, levels "
                 f"{', '.join(f'{v:+.0f}' for v in levels)} dB; in the reply's first second {sum(early)}/{len(early)}; "
                 f"baseline: the perfect echo path; false starts before the user spoke {false_first}"))
        if stops and perfect_stops:
            figures.append(ratio_figure(
                f"13 barge-in stop time {room_name} vs perfect echo path", 1000 * median(stops), 1000 * median(perfect_stops),
                "ms", at_most=1.3, baseline_name="perfect echo path",
                note="user's first syllable at the microphone -> the speaker quiet for 250 ms; "
                     f"azassist n={len(stops)}, perfect path n={len(perfect_stops)}; "
                     f"{_stop_split('azassist', ours)}; {_stop_split('perfect path', perfect)}"))
        else:
            figures.append(Figure(f"13 barge-in stop time {room_name} vs perfect echo path", float("nan"), "ms", None,
                                  "<= 1.3x perfect echo path", False, note="no barge-in both detected and timed"))
    return figures
