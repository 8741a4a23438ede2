"""Stand-in for ``livekit.local_inference`` inside the frozen app (35 MB of native models left out).

livekit-agents imports the module eagerly (``livekit.agents.inference``), but azassist never
runs LiveKit's local VAD or end-of-turn models: sessions use ``vad=None`` and the server's turn
detection. Keeping the names importable and failing loudly on use means a future code path
that needs the models shows a clear error instead of a silent wrong answer.
"""

from __future__ import annotations

from typing import Any, NoReturn

VAD_WINDOW_SAMPLES = 512  # same values as the real module: 32 ms / 1.2 s at 16 kHz
EOT_MAX_SAMPLES = 19_200

_WHY = (
    "LiveKit's local inference models are not included in the azassist bundle; "
    "azassist uses the realtime service's own turn detection"
)


def _unavailable() -> NoReturn:
    raise RuntimeError(_WHY)


class VAD:
    def __init__(self, *_: Any, **__: Any) -> None:
        _unavailable()


class EOT:
    def __init__(self, *_: Any, **__: Any) -> None:
        _unavailable()


def init_vad() -> None:
    _unavailable()


def init_eot() -> None:
    _unavailable()


BUNDLED_STUB = True

__all__ = [
    "EOT",
    "EOT_MAX_SAMPLES",
    "VAD",
    "VAD_WINDOW_SAMPLES",
    "init_eot",
    "init_vad",
]
