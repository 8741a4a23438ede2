"""What every benchmark shares: the virtual sound server, timed recordings of its monitors,
the speech and reply audio, the local realtime server, and the clients under test.

One clock: every timestamp is ``time.monotonic()`` taken in this (the bench) process: the
simulator stamps what it sends and receives, and the recorders below stamp when each sample
passed the virtual microphone or speaker. Clients run as subprocesses so they all pay the
same price (their own interpreter, their own GIL) and none competes with the bench's threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from azassist.simulator.responders import Reply, Responder, Turn
from tests.support.services import VirtualAudio

RATE = 24_000
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
API_KEY = "bench-key-" + "7" * 22
DEPLOYMENT = "gpt-realtime"
SPEECH_TEXT = "Hello there, what is the weather like today?"
REPLY_TEXT = "It is sunny and warm today."
SILENCE_MS = 500  # the server VAD's silence window: azassist's default, given to every client
SILENCE_THRESHOLD = 64  # |sample| above this is "not silent" (null sinks carry exact zeros)


# --- audio material ---------------------------------------------------------------------------

def trimmed(samples: np.ndarray, threshold: int = 500) -> np.ndarray:
    """Speech cut to start at its first clearly loud sample: the first sample sent is audible,
    so "first non-silent sample" means "the first sample of the reply"."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return samples[int(loud[0]) :] if len(loud) else samples


def speech_samples(text: str = SPEECH_TEXT) -> np.ndarray:
    from azassist.simulator.speech import synthesize

    return synthesize(text)


def write_wav(path: Path, samples: np.ndarray, *, lead_s: float = 0.0, tail_s: float = 0.0) -> Path:
    """24 kHz mono int16 WAV with optional silence before and after."""
    padded = np.concatenate([
        np.zeros(int(lead_s * RATE), np.int16), samples.astype(np.int16), np.zeros(int(tail_s * RATE), np.int16)
    ])
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(padded.astype("<i2").tobytes())
    return path


def active_span(samples: np.ndarray, threshold: int = SILENCE_THRESHOLD) -> tuple[int, int]:
    """First and one-past-last index of samples louder than ``threshold`` ((0, 0) if none)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return (int(loud[0]), int(loud[-1]) + 1) if len(loud) else (0, 0)


def best_alignment(haystack: np.ndarray, needle: np.ndarray) -> tuple[int, float]:
    """(offset of ``needle`` in ``haystack``, normalised correlation there), by FFT."""
    a = haystack.astype(np.float64)
    b = needle.astype(np.float64)
    if len(a) < len(b):
        a = np.pad(a, (0, len(b) - len(a)))
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)[: len(a) - len(b) + 1]
    energy = np.convolve(a * a, np.ones(len(b)), mode="valid")
    score = corr / np.sqrt(np.maximum(energy, 1e-9) * float(np.dot(b, b)))
    offset = int(np.argmax(score))
    return offset, float(score[offset])


class FixedReply(Responder):
    """Every turn gets the same reply audio, which starts with a loud sample."""

    name = "bench"

    def __init__(self, text: str, audio: np.ndarray) -> None:
        self.text = text
        self.audio = audio

    async def respond(self, turn: Turn) -> Reply:
        return Reply(self.text, audio=self.audio)


# --- timed recordings -------------------------------------------------------------------------

class TimedRecorder:
    """Records a PulseAudio source and knows when each sample passed through it.

    parec delivers small fragments as the sound server renders them. Each fragment's arrival
    time minus its position gives an upper bound on when sample 0 passed; the lowest bound
    among fragments near a sample (the least delayed delivery) is the estimate. Constant
    delivery delays are the same for every client, so they cancel in ratios.
    """

    WINDOW_S = 3.0

    def __init__(self, device: str, env: dict[str, str]) -> None:
        self.device = device
        self._proc = subprocess.Popen(
            ["parec", f"--device={device}", f"--rate={RATE}", "--channels=1", "--format=s16le",
             "--raw", "--latency-msec=5"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **env},
        )
        self._chunks: list[bytes] = []
        self._arrivals: list[float] = []
        self._ends: list[int] = []
        self._total_bytes = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name=f"rec-{device}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        read = self._proc.stdout.read1  # type: ignore[attr-defined]
        while True:
            data = read(960)
            now = time.monotonic()
            if not data:
                return
            with self._lock:
                self._chunks.append(data)
                self._total_bytes += len(data)
                self._arrivals.append(now)
                self._ends.append(self._total_bytes // 2)

    def wait_started(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._total_bytes > RATE:  # half a second flowing
                    return
            time.sleep(0.05)
        raise RuntimeError(f"no audio from {self.device}")

    def samples(self) -> np.ndarray:
        with self._lock:
            raw = b"".join(self._chunks)
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")

    def _offsets(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            ends = np.array(self._ends, dtype=np.float64)
            arrivals = np.array(self._arrivals, dtype=np.float64)
        return ends, arrivals - ends / RATE

    def times(self, indexes: np.ndarray | int) -> np.ndarray:
        """Monotonic time at which each sample index passed through the source."""
        idx = np.atleast_1d(np.asarray(indexes, dtype=np.float64))
        ends, offsets = self._offsets()
        window = self.WINDOW_S * RATE
        lo = np.searchsorted(ends, idx - window)
        hi = np.searchsorted(ends, idx + window, side="right")
        result = np.empty(len(idx))
        for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
            result[i] = idx[i] / RATE + (offsets[a:b].min() if b > a else offsets.min())
        return result

    def time_of(self, index: int) -> float:
        return float(self.times(index)[0])

    def index_at(self, t: float) -> int:
        """The sample passing at monotonic time ``t`` (approximately)."""
        ends, offsets = self._offsets()
        if not len(ends):
            return 0
        return max(0, int((t - offsets.min()) * RATE))

    def first_loud_index(self, after: float, threshold: int = SILENCE_THRESHOLD) -> int | None:
        """Index of the first sample louder than ``threshold`` that passed after ``after``."""
        samples = self.samples()
        start = self.index_at(after)
        loud = np.flatnonzero(np.abs(samples[start:].astype(np.int32)) > threshold)
        return start + int(loud[0]) if len(loud) else None

    def first_loud(self, after: float, threshold: int = SILENCE_THRESHOLD) -> float | None:
        """Time of the first sample louder than ``threshold`` that passed after ``after``."""
        index = self.first_loud_index(after, threshold)
        return self.time_of(index) if index is not None else None

    def stop(self) -> None:
        self._proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        self._thread.join(timeout=5)


# --- the environment ---------------------------------------------------------------------------

@dataclass
class BenchEnv:
    """The virtual sound server, a scratch directory and the speech material of one run."""

    audio: VirtualAudio
    workdir: Path
    speech: np.ndarray  # the user's utterance (starts loud)
    speech_wav: Path  # the utterance with silence after it (the VAD needs a pause)
    reply: np.ndarray  # what the local server answers, starting loud
    loaded_modules: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> BenchEnv:
        workdir = Path(tempfile.mkdtemp(prefix="azassist-bench-"))
        audio = VirtualAudio.start()
        speech = trimmed(speech_samples(SPEECH_TEXT))
        reply = trimmed(speech_samples(REPLY_TEXT))
        wav = write_wav(workdir / "speech.wav", speech, lead_s=0.1, tail_s=1.2)
        return cls(audio, workdir, speech, wav, reply)

    @property
    def env(self) -> dict[str, str]:
        """Environment for anything that must reach the virtual sound server."""
        return {**os.environ, **self.audio.env}

    def pactl(self, *args: str) -> str:
        result = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10, check=True)
        return result.stdout.strip()

    def load_module(self, *args: str) -> str:
        module = self.pactl("load-module", *args)
        self.loaded_modules.append(module)
        return module

    def unload_module(self, module: str) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pactl("unload-module", module)
        if module in self.loaded_modules:
            self.loaded_modules.remove(module)

    def play_into_microphone(self, path: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["paplay", "--device=mic", "--latency-msec=10", str(path)], env=self.env, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        for module in list(self.loaded_modules):
            self.unload_module(module)
        self.audio.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- the --loaded mode --------------------------------------------------------------------------

BUSY_LOOP = "while True:\n    pass\n"


class CpuLoad:
    """One core kept busy for the whole run (``make bench BENCH_ARGS=--loaded``): a bounded,
    steady load, as a browser tab or a build would be on a user's machine. One process in a
    pure-Python busy loop at the clients' own priority: it takes what one core gives and
    never more, every client and baseline competes with it alike, and its CPU time is
    reported so a run can show the load was there."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen([PYTHON, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.started = time.monotonic()

    def share(self) -> float:
        """The load's CPU time per second of wall time so far (1.0 = a whole core)."""
        with open(f"/proc/{self._proc.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return cpu / max(1e-9, time.monotonic() - self.started)

    def stop(self) -> None:
        self._proc.kill()
        self._proc.wait(timeout=5)


# --- clients -----------------------------------------------------------------------------------

@dataclass
class Client:
    """A client under test, running as its own process."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    pty_master: int | None = None
    _drain: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.pty_master is not None:
            with contextlib.suppress(OSError):
                os.close(self.pty_master)
            self.pty_master = None


def python_env(bench: BenchEnv) -> dict[str, str]:
    """Environment for Python subprocesses: the virtual sound server, and bytecode caching on.

    Some machines here set PYTHONDONTWRITEBYTECODE, so every start would compile every module
    from source, which no installed app does; caches go to the bench's scratch directory.
    """
    env = {**bench.env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
           "PYTHONPYCACHEPREFIX": str(bench.workdir / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("OPENAI_API_VERSION", None)
    return env


def client_env(bench: BenchEnv, endpoint: str) -> dict[str, str]:
    return python_env(bench) | {"AZURE_OPENAI_API_KEY": API_KEY, "AZURE_OPENAI_ENDPOINT": endpoint}


def start_azassist_talk(bench: BenchEnv, endpoint: str, *, extra: list[str] | None = None,
                        settings: dict[str, object] | None = None) -> Client:
    """``azassist talk --mic --speaker`` against the local server (device audio, defaults)."""
    config = Path(tempfile.mkdtemp(prefix="talk-", dir=bench.workdir))
    saved = {"turn_detection": {"silence_duration_ms": SILENCE_MS}} | (settings or {})
    (config / "settings.json").write_text(json.dumps(saved))
    log_path = config / "client.log"
    argv = [PYTHON, "-m", "azassist", "--config-dir", str(config), "talk", "--mic", "--speaker",
            "--endpoint", endpoint, "--deployment", DEPLOYMENT, "--duration", "3600", *(extra or [])]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=client_env(bench, endpoint), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=config)
    return Client("azassist", proc, log_path)


def start_floor(bench: BenchEnv, endpoint: str, *, extra: list[str] | None = None) -> Client:
    """The floor client; ``extra``: e.g. ``--processing`` (the fair floor) or ``--say TEXT``."""
    log_path = bench.workdir / "floor.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [PYTHON, "-m", "bench.clients.floor", "--endpoint", endpoint, "--deployment", DEPLOYMENT,
             "--silence-ms", str(SILENCE_MS), *(extra or [])],
            env=client_env(bench, endpoint), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
    return Client("floor", proc, log_path)


def start_console(bench: BenchEnv, endpoint: str, *, say: str = "") -> Client:
    """LiveKit's console mode; it wants a terminal (key reader, live meter), so it gets a pty.
    ``say``: a typed message as soon as its session has started."""
    workdir = Path(tempfile.mkdtemp(prefix="console-", dir=bench.workdir))
    log_path = workdir / "console.log"
    master, slave = pty.openpty()
    env = client_env(bench, endpoint) | {"COLUMNS": "100", "LINES": "30", "TERM": "xterm",
                                         "BENCH_SILENCE_MS": str(SILENCE_MS), "BENCH_SAY": say}
    proc = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "clients" / "console_agent.py"), "console"],
        env=env, stdin=slave, stdout=slave, stderr=slave, cwd=workdir, start_new_session=True,
    )
    os.close(slave)
    client = Client("console", proc, log_path, pty_master=master)

    def drain() -> None:  # a terminal nobody reads would block the console's output
        with log_path.open("wb") as log:
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    return
                if not data:
                    return
                log.write(data)

    client._drain = threading.Thread(target=drain, name="console-pty", daemon=True)
    client._drain.start()
    return client


def start_window(bench: BenchEnv, endpoint: str, display_env: dict[str, str], *, mode: str, seconds: float,
                 idle_seconds: float = 0.0) -> Client:
    """The azassist window (``bench/probes/window.py``) on the given X display."""
    log_path = bench.workdir / f"window-{mode}.log"
    argv = [PYTHON, "-m", "bench.probes.window", "--mode", mode, "--endpoint", endpoint,
            "--deployment", DEPLOYMENT, "--seconds", str(seconds), "--idle-seconds", str(idle_seconds)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=client_env(bench, endpoint) | display_env, stdout=subprocess.PIPE,
                                stderr=log, stdin=subprocess.DEVNULL, cwd=ROOT)
    return Client("window", proc, log_path)


CLIENTS = {"azassist": start_azassist_talk, "console": start_console, "floor": start_floor}


@contextlib.contextmanager
def running(client: Client) -> Iterator[Client]:
    try:
        yield client
    finally:
        client.stop()


def which(tool: str) -> bool:
    return shutil.which(tool) is not None
