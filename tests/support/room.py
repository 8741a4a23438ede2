"""A simulated room between the virtual speaker and the virtual microphone (issue 23).

A digital loopback (PulseAudio's module-loopback) flatters any echo canceller: the echo is
an exact, delayed copy of what was played. A laptop in a room adds reverberation (a room
impulse response), a loudspeaker that distorts at high volume, background noise, and a
playback clock that is not the capture clock. This module puts all of that on the path:

    spk.monitor --parec--> soft clip -> drifting delay -> room impulse response --+
    near-end user speech -> (user's own impulse response, level variation) -------+--> + noise
                                                                                  --pacat--> mic

It runs as its own process (``python -m tests.support.room --room "small office"``), so the
clients under test and the bench's recorders never share its interpreter lock, and both the
bench and ``make test`` drive the same code. Commands on stdin, one per line:

    say WAV GAIN_DB [OUT.wav]   mix the WAV in as the user speaking (through the room), at the
                                utterance's nominal level + GAIN_DB; OUT.wav receives the
                                user's speech as it reaches the microphone (room, level), alone
    echo on|off                 the speaker's way into the microphone (off: a perfect echo path)
    noise on|off                the background noise

and it answers on stdout: ``ready`` once audio flows, ``said INDEX`` when an utterance starts
(INDEX counts samples written to the microphone since start).

Everything random is seeded: the same room gives the same impulse responses, noise and
level variations in every run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import queue
import subprocess
import sys
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

RATE = 24_000
BLOCK = 240  # 10 ms, what the sound server hands over at a time
FULL_SCALE = 32768.0
USER_LEVEL_DBFS = -26.0  # the user's speech at the microphone, nominally (espeak at arm's length)
SEED = 23
# What pacat keeps queued for the microphone: a stall of this process (two busy cores) shorter
# than this is absorbed; a longer one would cut a gap into the echo path, which no real room
# does (a constant delay is fine: sound takes its time through a room too)
PLAYBACK_BUFFER_MS = 60


@dataclass(frozen=True)
class RoomSpec:
    """One room: geometry for the impulse responses, and how the hardware in it behaves."""

    name: str
    dimensions: tuple[float, float, float]  # metres
    rt60: float  # seconds of reverberation (to -60 dB)
    speaker: tuple[float, float, float]
    microphone: tuple[float, float, float]
    user: tuple[float, float, float]
    echo_coupling_db: float  # echo power at the microphone against what was played
    drive: float  # loudspeaker soft clipping: tanh(drive * x) / drive (x full scale 1); higher distorts more
    noise: str  # "fan" or "babble"
    snr_db: float  # user speech (nominal level) against the background noise
    drift_ppm: float  # the speaker's clock against the microphone's


ROOMS: dict[str, RoomSpec] = {
    spec.name: spec
    for spec in (
        # desktop speakers half a metre from a desk microphone, a quiet PC fan
        RoomSpec("small office", (4.0, 3.5, 2.7), 0.35, (1.5, 1.2, 1.0), (2.0, 1.3, 1.05), (2.5, 1.4, 1.25),
                 echo_coupling_db=-6.0, drive=1.5, noise="fan", snr_db=30.0, drift_ppm=40.0),
        # a TV sound bar across a reverberant room, people talking in the background
        RoomSpec("living room", (6.0, 5.0, 2.7), 0.6, (3.0, 0.4, 0.8), (3.0, 3.0, 0.75), (3.1, 3.8, 1.1),
                 echo_coupling_db=-12.0, drive=1.2, noise="babble", snr_db=30.0, drift_ppm=80.0),
        # the laptop's own speakers a few centimetres from its microphones, loud, its fan on
        RoomSpec("laptop on desk", (3.5, 3.0, 2.6), 0.3, (1.75, 1.5, 0.76), (1.75, 1.62, 0.78), (1.8, 2.2, 1.2),
                 echo_coupling_db=0.0, drive=3.0, noise="fan", snr_db=25.0, drift_ppm=100.0),
    )
}


# --- impulse responses and noise (offline, cached, seeded) ---------------------------------------

@functools.lru_cache(maxsize=16)
def impulse_response(room: str, source: str) -> np.ndarray:
    """The room's impulse response from the speaker (``source="speaker"``) or the user's mouth
    (``"user"``) to the microphone, by pyroomacoustics' image-source method (deterministic).
    Scaled to unit energy: levels are set separately."""
    import pyroomacoustics as pra

    spec = ROOMS[room]
    absorption, max_order = pra.inverse_sabine(spec.rt60, list(spec.dimensions))
    shoebox = pra.ShoeBox(list(spec.dimensions), fs=RATE, materials=pra.Material(absorption),
                          max_order=min(max_order, 24), use_rand_ism=False)
    shoebox.add_source(list(spec.speaker if source == "speaker" else spec.user))
    shoebox.add_microphone(list(spec.microphone))
    shoebox.compute_rir()
    rir = np.asarray(shoebox.rir[0][0], dtype=np.float64)
    rir = rir[: int(0.5 * RATE)]  # past half a second the tail is below the noise floor
    rir.flags.writeable = False
    return rir / np.sqrt(np.sum(rir**2))


def _one_pole_lowpass(signal: np.ndarray, cutoff_hz: float) -> np.ndarray:
    from scipy.signal import lfilter

    a = np.exp(-2 * np.pi * cutoff_hz / RATE)
    return np.asarray(lfilter([1 - a], [1, -a], signal))


@functools.lru_cache(maxsize=4)
def background_noise(kind: str, seconds: float = 12.0) -> np.ndarray:
    """A loop of unit-RMS background noise: a fan (low-passed noise with a blade hum) or
    babble (several espeak talkers at once, blurred by a living room)."""
    rng = np.random.default_rng(SEED)
    n = int(seconds * RATE)
    if kind == "fan":
        t = np.arange(n) / RATE
        noise = _one_pole_lowpass(rng.standard_normal(n), 400.0) + 0.3 * _one_pole_lowpass(rng.standard_normal(n), 3000.0)
        noise += 0.05 * np.sin(2 * np.pi * 110 * t) * noise.std() * 10
    elif kind == "babble":
        from azassist.simulator.speech import synthesize

        lines = ["Did you see the game last night, it went on forever.",
                 "I think we should paint the kitchen a lighter colour.",
                 "She said the train was late again this morning.",
                 "Can you pass me the salt and the pepper please.",
                 "We are going to the coast for the weekend.",
                 "The new cafe on the corner makes excellent bread."]
        voices = ["en-us", "en-gb+f3", "en-us+m3", "en-gb+f2", "en-us+m7", "en-gb"]
        noise = np.zeros(n)
        for index, (line, voice) in enumerate(zip(lines, voices, strict=True)):
            talker = np.tile(synthesize(line, voice=voice).astype(np.float64), 8)[:n]
            noise += np.roll(talker, int(rng.integers(0, n))) * (0.6 + 0.1 * index)
        from scipy.signal import fftconvolve

        noise = np.asarray(fftconvolve(noise, impulse_response("living room", "user")))[:n]
    else:
        raise ValueError(f"no noise called {kind!r}")
    noise = noise / np.sqrt(np.mean(noise**2))
    noise.flags.writeable = False
    return noise


def near_end(room: str, speech: np.ndarray, gain_db: float = 0.0) -> np.ndarray:
    """The user's utterance as it reaches the microphone: through the room from where the user
    sits, at the nominal level plus ``gain_db`` (float samples, full scale 32768)."""
    voiced = speech.astype(np.float64)
    loud = voiced[np.abs(voiced) > 100]
    level = np.sqrt(np.mean(loud**2)) if len(loud) else 1.0
    target = FULL_SCALE * 10 ** ((USER_LEVEL_DBFS + gain_db) / 20)
    from scipy.signal import fftconvolve  # np.convolve would hold the audio loop's GIL for a second

    return np.asarray(fftconvolve(voiced * (target / level), impulse_response(room, "user")))


def level_variation(count: int, spread_db: float = 6.0, seed: int = SEED) -> list[float]:
    """Seeded per-utterance level changes (people lean in and turn away), in dB."""
    return [float(v) for v in np.random.default_rng(seed).uniform(-spread_db, spread_db, count)]


# --- the echo path, block by block ------------------------------------------------------------

class EchoPath:
    """Speaker samples in, echo at the microphone out, in blocks of any size (one thread).

    Loudspeaker (soft clipping) -> clock drift (a delay that grows by ``drift_ppm`` per
    sample, up to 20 ms, equal sample counts in and out, as the sound server keeps them) ->
    the room (overlap-add FFT convolution) -> the coupling level.
    """

    MAX_DRIFT_S = 0.02

    def __init__(self, spec: RoomSpec) -> None:
        self.spec = spec
        rir = impulse_response(spec.name, "speaker") * 10 ** (spec.echo_coupling_db / 20)
        self._taps = len(rir)
        self._fft_size = 1 << int(np.ceil(np.log2(self._taps + 4 * BLOCK)))
        self._rir_spectrum = np.fft.rfft(rir, self._fft_size)
        self._tail = np.zeros(self._fft_size)
        self._history = np.zeros(int(self.MAX_DRIFT_S * RATE) + 4 * BLOCK)
        self._count = 0  # samples taken in so far

    def _loudspeaker(self, block: np.ndarray) -> np.ndarray:
        x = block / FULL_SCALE
        drive = self.spec.drive
        return np.tanh(drive * x) / drive * FULL_SCALE if drive > 0 else block  # unity gain when soft

    def _drift(self, block: np.ndarray) -> np.ndarray:
        k = len(block)
        self._history = np.concatenate((self._history[k:], block))
        absolute = self._count + np.arange(k, dtype=np.float64)
        delay = np.minimum(absolute * self.spec.drift_ppm * 1e-6, self.MAX_DRIFT_S * RATE)
        self._count += k
        position = absolute - delay - (self._count - len(self._history))  # in the history
        return np.interp(position, np.arange(len(self._history), dtype=np.float64), self._history)

    def process(self, block: np.ndarray) -> np.ndarray:
        if len(block) > 4 * BLOCK:
            return np.concatenate([self.process(block[i : i + BLOCK]) for i in range(0, len(block), BLOCK)])
        played = self._drift(self._loudspeaker(block.astype(np.float64)))
        wet = np.fft.irfft(np.fft.rfft(played, self._fft_size) * self._rir_spectrum, self._fft_size)
        self._tail[: len(wet)] += wet
        out = self._tail[: len(block)].copy()
        self._tail = np.concatenate((self._tail[len(block) :], np.zeros(len(block))))
        return out


class Mixer:
    """The microphone's feed: echo, the user's queued utterances and the background noise."""

    def __init__(self, spec: RoomSpec, *, echo: bool = True, noise: bool = True) -> None:
        self.spec = spec
        self.echo_path = EchoPath(spec)
        self.echo = echo
        self.noise = noise
        self._noise = background_noise(spec.noise) * FULL_SCALE * 10 ** ((USER_LEVEL_DBFS - spec.snr_db) / 20)
        self._noise_at = 0
        self._speech: list[np.ndarray] = []  # utterances being mixed in, consumed from the front
        self._pending: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self.written = 0  # samples handed to the microphone so far
        self.said: list[int] = []  # where each utterance started

    def say(self, samples: np.ndarray) -> None:
        """Queue an utterance (already through the room: see :func:`near_end`); any thread."""
        self._pending.put(samples)

    def process(self, played: np.ndarray) -> np.ndarray:
        k = len(played)
        echo = self.echo_path.process(played)  # always run: the room's state stays continuous
        out = echo if self.echo else np.zeros(k)
        if self.noise:
            idx = (self._noise_at + np.arange(k)) % len(self._noise)
            out = out + self._noise[idx]
        self._noise_at = (self._noise_at + k) % len(self._noise)
        while not self._pending.empty():
            self._speech.append(self._pending.get())
            self.said.append(self.written)
        if self._speech:
            speech = self._speech[0]
            take = min(k, len(speech))
            out[:take] += speech[:take]
            self._speech[0] = speech[take:]
            if not len(self._speech[0]):
                self._speech.pop(0)
        self.written += k
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)


# --- the process: parec -> Mixer -> pacat --------------------------------------------------------

def _read_exact(stream: IO[bytes], size: int) -> bytes:
    read = stream.read
    data = b""
    while len(data) < size:
        more = read(size - len(data))
        if not more:
            return data
        data += more
    return data


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.int16)


def run(room: str, *, echo: bool = True, noise: bool = True) -> None:
    """Run the room until stdin closes (the parent went away or said so)."""
    spec = ROOMS[room]
    mixer = Mixer(spec, echo=echo, noise=noise)
    with contextlib.suppress(OSError):  # ahead of the clients under test, where allowed (root)
        os.nice(-10)
    parec = subprocess.Popen(["parec", "--device=spk.monitor", f"--rate={RATE}", "--channels=1", "--format=s16le",
                              "--raw", "--latency-msec=10"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    pacat = subprocess.Popen(["pacat", "--playback", "--device=mic", f"--rate={RATE}", "--channels=1",
                              "--format=s16le", "--raw", f"--latency-msec={PLAYBACK_BUFFER_MS}"], stdin=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    stopping = threading.Event()
    announced = 0

    def commands() -> None:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "say":
                speech = near_end(room, read_wav(Path(words[1])), float(words[2]) if len(words) > 2 else 0.0)
                if len(words) > 3:
                    write_wav(Path(words[3]), speech)
                mixer.say(speech)
            elif words[0] == "echo":
                mixer.echo = words[1] == "on"
            elif words[0] == "noise":
                mixer.noise = words[1] == "on"
        stopping.set()

    threading.Thread(target=commands, name="room-commands", daemon=True).start()
    assert parec.stdout is not None and pacat.stdin is not None
    try:
        first = True
        while not stopping.is_set():
            data = _read_exact(parec.stdout, 2 * BLOCK)
            if len(data) < 2 * BLOCK:
                break
            out = mixer.process(np.frombuffer(data, dtype="<i2"))
            pacat.stdin.write(out.astype("<i2").tobytes())
            pacat.stdin.flush()
            if first:
                print("ready", flush=True)
                first = False
            while announced < len(mixer.said):
                print(f"said {mixer.said[announced]}", flush=True)
                announced += 1
    except BrokenPipeError:
        pass
    finally:
        for proc in (parec, pacat):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


class RoomProcess:
    """The room running as a child process on the virtual sound server given by ``env``."""

    def __init__(self, room: str, env: dict[str, str] | None = None, *, echo: bool = True, noise: bool = True) -> None:
        self.room = room
        argv = [sys.executable, "-m", "tests.support.room", "--room", room]
        argv += [] if echo else ["--no-echo"]
        argv += [] if noise else ["--no-noise"]
        root = Path(__file__).resolve().parents[2]
        child_env = {**os.environ, **(env or {})}
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), child_env.get("PYTHONPATH", "")) if p)
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=child_env, cwd=root, text=True, bufsize=1)
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name=f"room-{room}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.strip())
        self._lines.put("")

    def _expect(self, word: str, timeout: float) -> str:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f"the room said nothing for {timeout} s (waiting for {word!r})") from None
            if not line:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                raise RuntimeError(f"the room process ended: {err[-1500:]}")
            if line.startswith(word):
                return line

    def wait_ready(self, timeout: float = 60.0) -> None:
        self._expect("ready", timeout)

    def _send(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def say(self, wav: Path, gain_db: float = 0.0, clean_out: Path | None = None, timeout: float = 30.0) -> int:
        """The user speaks ``wav`` into the room; returns the microphone sample index where it
        started (counted from the room's start)."""
        self._send(f"say {wav} {gain_db:.2f}" + (f" {clean_out}" if clean_out else ""))
        return int(self._expect("said", timeout).split()[1])

    def set_echo(self, on: bool) -> None:
        self._send(f"echo {'on' if on else 'off'}")

    def set_noise(self, on: bool) -> None:
        self._send(f"noise {'on' if on else 'off'}")

    def stop(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self._proc.stdin is not None
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                self._proc.wait(timeout=5)
        self._reader.join(timeout=5)


@contextlib.contextmanager
def simulated_room(room: str, env: dict[str, str] | None = None, **switches: bool) -> Iterator[RoomProcess]:
    """A running room for the duration of a ``with`` block."""
    process = RoomProcess(room, env, **switches)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.room", description=__doc__.splitlines()[0])
    parser.add_argument("--room", choices=sorted(ROOMS), required=True)
    parser.add_argument("--no-echo", action="store_true", help="a perfect echo path: the speaker never reaches the microphone")
    parser.add_argument("--no-noise", action="store_true")
    args = parser.parse_args(argv)
    run(args.room, echo=not args.no_echo, noise=not args.no_noise)
    return 0


if __name__ == "__main__":
    sys.exit(main())
