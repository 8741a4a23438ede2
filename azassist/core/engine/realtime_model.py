"""LiveKit's realtime model with the microphone sent in short appends.

The plugin cuts the microphone into 100 ms ``input_audio_buffer.append`` events. A sample
then waits for its chunk to fill: 50 ms on average, and the server VAD hears the end of a
sentence (and the user's barge-in) that much later. openai-python's own push-to-talk example
sends 20 ms reads; the service takes any length. ``APPEND_SECONDS`` is what we send. The
engine wakes the loop for each append only while someone talks, and for five at once in a
quiet room (``Engine._batch_input``): the latency counts in the first case, idle CPU in the
second. Measured in ``make bench``: figures 2 and 3 (latency) and 6 (CPU when idle).

The plugin has no option for it: the session builds its ``AudioByteStream`` in
``__init__`` and uses nothing else to cut appends, so ours replaces it right after. Pinned
to livekit-agents 1.8.9: tests/core/engine/test_realtime_model.py fails if that changes.

Imports LiveKit: only the engine (which already has) imports this module.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import utils
from livekit.plugins import openai as lk_openai
from livekit.plugins.openai.realtime.realtime_model import NUM_CHANNELS, SAMPLE_RATE

APPEND_SECONDS = 0.02
APPEND_SAMPLES = round(SAMPLE_RATE * APPEND_SECONDS)

_RealtimeModel: Any = lk_openai.realtime.RealtimeModel
_RealtimeSession: Any = lk_openai.realtime.RealtimeSession


class ShortAppendSession(_RealtimeSession):
    """The plugin's session, cutting the microphone into ``APPEND_SAMPLES``-long appends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bstream = utils.audio.AudioByteStream(SAMPLE_RATE, NUM_CHANNELS, samples_per_channel=APPEND_SAMPLES)


class RealtimeModel(_RealtimeModel):
    """``RealtimeModel`` whose sessions are ``session_class`` (the plugin's, with short appends)."""

    session_class: type = ShortAppendSession

    def session(self, *, turn_detection_disabled: bool = False) -> Any:
        sess = self.session_class(self, turn_detection_disabled=turn_detection_disabled)
        self._sessions.add(sess)
        return sess
