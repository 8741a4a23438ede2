"""Settings of one simulator instance."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .protocol import DEFAULT_MODEL
from .responders import Responder

STRICT_ENV = "AZASSIST_SIMULATOR_STRICT"
"""Set to 1 to turn strict schema validation on by default (test suites do)."""


def _strict_default() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class SimulatorConfig:
    """Everything a :class:`LocalRealtimeServer` needs; the key never appears in its repr.

    ``pace``: 1.0 streams reply audio in real time like the service, 4.0 four times faster,
    0 as fast as possible. Input audio is judged on its own timeline, so pacing never changes
    what the VAD decides.
    """

    api_key: str = field(repr=False)
    deployments: tuple[str, ...] = ("gpt-realtime",)
    tts_deployments: tuple[str, ...] = ("gpt-4o-mini-tts", "tts", "tts-1", "tts-1-hd")
    responder: str | Responder = "echo"
    pace: float = 1.0
    host: str = "127.0.0.1"
    port: int = 0
    model: str = DEFAULT_MODEL  # what the deployments report as their model
    strict_validation: bool = field(default_factory=_strict_default)
    audio_chunk_ms: int = 100  # size of each output_audio delta
    audio_lead_ms: int = 200  # how far ahead of real time reply audio may be sent
    text_delta_interval_s: float = 0.02  # between text deltas of a text-only reply, at pace 1
    transcription_delay_s: float = 0.0  # 0: the user transcript arrives before the reply
    session_max_seconds: float | None = None  # None: sessions never expire
    # Like the real service after text history was loaded: once the client has created an
    # assistant message item (history, not a reply the server made), replies come as text
    # even when the session asks for audio. Can be flipped on a running server's config.
    text_after_history: bool = False
    # Wire events kept per direction, oldest dropped first (None: all). Audio events carry
    # their payload (about 6 kB per 100 ms), so 5000 bounds a long demo session to ~30 MB.
    record_limit: int | None = 5_000

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("the simulator needs a non-empty API key")
        if self.pace < 0:
            raise ValueError("pace must be >= 0 (0 = as fast as possible)")
        self.deployments = tuple(self.deployments)
        self.tts_deployments = tuple(self.tts_deployments)
