"""Offline speech for the simulator and for tests: espeak-ng through ctypes, tones as a fallback.

Why espeak-ng: it ships as a PyPI wheel (``espeakng_loader``: the shared library plus its data),
needs no network and no model files, and produces real speech that a VAD fires on. It renders
at 22050 Hz; we resample to the realtime protocol's 24 kHz with LiveKit's resampler (already a
dependency), so nothing is hand-written but the ctypes glue.

espeak-ng keeps global state and is not thread-safe: every call goes through one lock.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from functools import lru_cache

import numpy as np

logger = logging.getLogger(__name__)

ESPEAK_SAMPLE_RATE = 22_050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
_ESPEAK_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_ESPEAK_RATE = 1
_ESPEAK_VOLUME = 2
_EE_OK = 0

# Different realtime voices should sound different, so a voice change is audible in the demo.
VOICE_VARIANTS: dict[str, str] = {
    "alloy": "en-us+f2",
    "ash": "en-us+m3",
    "ballad": "en-gb+m2",
    "coral": "en-us+f4",
    "echo": "en-us+m1",
    "sage": "en-gb+f3",
    "shimmer": "en-us+f5",
    "verse": "en-us+m4",
    "marin": "en-us+f3",
    "cedar": "en-us+m2",
}
DEFAULT_ESPEAK_VOICE = "en-us"

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SpeechUnavailableError(RuntimeError):
    """espeak-ng could not be loaded or initialised on this machine."""


class _Espeak:
    """One process-wide espeak-ng instance (the library itself is a singleton)."""

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self._lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        data_path = espeakng_loader.get_data_path().encode()
        rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _ESPEAK_INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise SpeechUnavailableError(f"espeak_Initialize failed ({rate})")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        # Keep a reference: ctypes callbacks are freed when the Python object dies.
        self._callback = _SynthCallback(self._on_samples)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()

    def _on_samples(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = keep going

    def render(self, text: str, voice: str, words_per_minute: int) -> np.ndarray:
        encoded = text.encode("utf-8") + b"\0"
        with self._lock:
            self._chunks = []
            if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                self._lib.espeak_SetVoiceByName(DEFAULT_ESPEAK_VOICE.encode())
            self._lib.espeak_SetParameter(_ESPEAK_RATE, words_per_minute, 0)
            self._lib.espeak_SetParameter(_ESPEAK_VOLUME, 100, 0)
            status = self._lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
            )
            if status != _EE_OK:
                raise SpeechUnavailableError(f"espeak_Synth failed ({status})")
            chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16)


@lru_cache(maxsize=1)
def _engine() -> _Espeak:
    try:
        return _Espeak()
    except SpeechUnavailableError:
        raise
    except Exception as exc:  # ImportError, OSError from CDLL, missing data
        raise SpeechUnavailableError(f"espeak-ng is not available: {exc}") from exc


def speech_available() -> bool:
    """True when espeak-ng loads on this machine (checked once)."""
    try:
        _engine()
    except SpeechUnavailableError:
        return False
    return True


def resample(samples: np.ndarray, input_rate: int, output_rate: int) -> np.ndarray:
    """Mono int16 resampling with LiveKit's resampler (the same one the session uses)."""
    samples = np.ascontiguousarray(samples, dtype=np.int16)
    if input_rate == output_rate or len(samples) == 0:
        return samples.copy()
    from livekit import rtc

    resampler = rtc.AudioResampler(
        input_rate=input_rate,
        output_rate=output_rate,
        num_channels=1,
        quality=rtc.AudioResamplerQuality.HIGH,
    )
    frame = rtc.AudioFrame(
        data=samples.tobytes(),
        sample_rate=input_rate,
        num_channels=1,
        samples_per_channel=len(samples),
    )
    frames = list(resampler.push(frame)) + list(resampler.flush())
    parts = [np.frombuffer(f.data, dtype=np.int16) for f in frames]
    return np.concatenate(parts).copy() if parts else np.zeros(0, dtype=np.int16)


def synthesize(
    text: str,
    sample_rate: int = 24_000,
    *,
    voice: str | None = None,
    words_per_minute: int = 175,
) -> np.ndarray:
    """Speak ``text`` with espeak-ng; mono int16 samples at ``sample_rate``.

    ``voice`` may be a realtime voice name (``marin``...) or an espeak voice (``en-gb+f3``).
    espeak-ng carries state from one utterance to the next, so the same text can come out a
    little different each time; results are cached so that, within a process, the same
    arguments always give the same samples (tests compare them). Returns a fresh copy.
    Raises SpeechUnavailableError when the library cannot load: callers that must always
    produce sound use :func:`speak_or_beep`.
    """
    return _synthesize_cached(text, sample_rate, voice, words_per_minute).copy()


@lru_cache(maxsize=256)
def _synthesize_cached(
    text: str, sample_rate: int, voice: str | None, words_per_minute: int
) -> np.ndarray:
    engine = _engine()
    espeak_voice = VOICE_VARIANTS.get(voice or "", voice or DEFAULT_ESPEAK_VOICE)
    raw = engine.render(text, espeak_voice, words_per_minute)
    samples = resample(raw, engine.sample_rate, sample_rate)
    samples.flags.writeable = False
    return samples


def beeps(text: str, sample_rate: int = 24_000) -> np.ndarray:
    """Clearly audible tones, one short beep per word: the stand-in when espeak is missing.

    The length still follows the text, so pacing, truncation and barge-in behave as with speech.
    """
    words = max(1, len(text.split()))
    beep = int(0.18 * sample_rate)
    gap = int(0.07 * sample_rate)
    t = np.arange(beep) / sample_rate
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms fades: no clicks
    parts: list[np.ndarray] = []
    for index in range(words):
        freq = 440.0 if index % 2 == 0 else 554.37
        tone = 0.3 * np.sin(2 * np.pi * freq * t) * ramp
        parts.append((tone * 32767).astype(np.int16))
        parts.append(np.zeros(gap, dtype=np.int16))
    return np.concatenate(parts)


def speak_or_beep(
    text: str,
    sample_rate: int = 24_000,
    *,
    voice: str | None = None,
    words_per_minute: int = 175,
) -> np.ndarray:
    """Speech when espeak-ng works, else :func:`beeps` (logged once per process)."""
    try:
        return synthesize(text, sample_rate, voice=voice, words_per_minute=words_per_minute)
    except SpeechUnavailableError as exc:
        _warn_no_speech(str(exc))
        return beeps(text, sample_rate)


@lru_cache(maxsize=1)
def _warn_no_speech(reason: str) -> None:
    logger.warning("offline speech unavailable, replying with tones instead: %s", reason)
