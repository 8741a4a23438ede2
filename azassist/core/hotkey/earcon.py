"""The global key's start/stop sounds: two quiet, short tones (rising = talking, falling = sent).

They play on a stream of their own on the chosen speaker, never through the engine's
playback: the echo canceller's reference is the assistant's voice only, so a tone is never
mistaken for it (and the microphone of a headset user does not hear it at all).
"""

from __future__ import annotations

import logging
import threading

import numpy as np

log = logging.getLogger(__name__)

RATE = 24000
LEVEL = 0.08  # about -22 dBFS peak: quiet beside speech
_lock = threading.Lock()  # one tone at a time; PortAudio streams are opened one by one


def tone(rising: bool, seconds: float = 0.09) -> np.ndarray:
    """Two notes a fifth apart, with soft edges (no clicks), as float32 mono at ``RATE``."""
    count = int(RATE * seconds)
    half = count // 2
    low, high = 660.0, 990.0
    first, second = (low, high) if rising else (high, low)
    freq = np.where(np.arange(count) < half, first, second)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    ramp = min(count // 6, int(RATE * 0.012))
    envelope = np.ones(count)
    envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
    envelope[-ramp:] = np.linspace(1.0, 0.0, ramp)
    return (LEVEL * envelope * np.sin(phase)).astype(np.float32)


def play(rising: bool, device_name: str = "") -> threading.Thread:
    """Play one tone in a thread of its own (opening a stream takes tens of ms); errors are logged."""

    def run() -> None:
        try:
            import sounddevice

            from azassist.core.audio.devices import find_device

            device = find_device(device_name, "output") if device_name else None
            with _lock:
                sounddevice.play(tone(rising), RATE, device=device.index if device else None, blocking=True)
        except Exception:  # a missing sound is no reason to disturb the conversation
            log.warning("the global key's tone could not be played", exc_info=True)

    thread = threading.Thread(target=run, name="azassist-earcon", daemon=True)
    thread.start()
    return thread
