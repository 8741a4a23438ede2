"""Hands-free in the small office (issue 23): the assistant's voice goes from the virtual
speaker through a simulated room (reverberation, a distorting loudspeaker, a fan, clock
drift: tests/support/room.py) back into the virtual microphone, and the local server's VAD
must not hear it as the user barging in. The user's own question goes through the same room.

The control runs the same room with echo cancellation off: the assistant then interrupts
itself, so the guard can fail. No wall-clock thresholds: the verdict is which events the
server sent while its reply played.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from livekit.agents import Agent, AgentSession
from livekit.plugins import openai as lk_openai
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from azassist.core.audio.facade import DeviceAudioIO, open_device_audio
from azassist.core.settings import AudioSettings
from azassist.simulator import LocalRealtimeServer
from azassist.simulator.responders import Reply, Responder, Turn
from azassist.simulator.speech import synthesize
from tests.core.audio.support import device_glitches, until
from tests.support.room import RoomProcess, simulated_room, write_wav

pytestmark = [pytest.mark.audio, pytest.mark.asyncio, pytest.mark.timeout(120)]

REPLY = ("Of course. The forecast says it will be sunny and warm all afternoon, with a light breeze "
         "from the west, and it should stay dry until late in the evening.")


class LongReply(Responder):
    """Every turn gets the same several seconds of the assistant talking."""

    name = "room"

    def __init__(self) -> None:
        self.audio = synthesize(REPLY)

    async def respond(self, turn: Turn) -> Reply:
        return Reply(REPLY, audio=self.audio)


@pytest.fixture
def small_office(virtual_audio: object) -> Iterator[RoomProcess]:
    with simulated_room("small office") as room:
        yield room


@pytest.fixture(scope="module")
def question_wav() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "question.wav"
        write_wav(path, synthesize("What is the weather like this afternoon?").astype(np.float64))
        yield path


@asynccontextmanager
async def session_on_devices(settings: AudioSettings) -> AsyncIterator[tuple[LocalRealtimeServer, DeviceAudioIO]]:
    """A LiveKit session on azassist's device audio against the local server, configured like
    the app (server VAD, no local VAD, no LiveKit echo warm-up)."""
    async with LocalRealtimeServer(api_key="k", responder=LongReply(), pace=1.0) as server:
        model = lk_openai.realtime.RealtimeModel.with_azure(
            azure_deployment="gpt-realtime", azure_endpoint=server.endpoint, api_key="k",
            turn_detection=ServerVad(type="server_vad", threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500),
        )
        session: AgentSession = AgentSession(
            llm=model, vad=None, turn_handling={"turn_detection": "realtime_llm"},
            aec_warmup_duration=None, user_away_timeout=None,
        )
        audio = await open_device_audio(settings)
        session.input.audio = audio.input
        session.output.audio = audio.output
        try:
            await session.start(Agent(instructions="Answer."))
            await server.wait_for_session()
            await until(lambda: len(server.received.of_type("input_audio_buffer.append")) > 2, 10,
                        "microphone audio at the server")
            yield server, audio
        finally:
            await session.aclose()
            await model.aclose()
            await audio.aclose()


@dataclass
class Outcome:
    heard_itself: int  # speech_started events while the first reply was produced
    status: str  # how that reply ended
    into_reply: list[float]  # seconds into the reply of each
    glitches: int  # device overflows and underflows meanwhile (see device_glitches)


async def self_interruptions(room: RoomProcess, question: Path, settings: AudioSettings) -> Outcome:
    """Ask once through the room; how often the server heard speech while its first reply
    was being produced, and how that reply ended."""
    async with session_on_devices(settings) as (server, audio):
        room.say(question)
        await until(lambda: server.sent.of_type("response.done") != [], 60, "the reply to end")
        await until(lambda: audio.output.idle, 30, "the reply to be played out")
        created = server.sent.of_type("response.created")[0].t
        done = server.sent.of_type("response.done")[0]
        starts = [e.t for e in server.sent.of_type("input_audio_buffer.speech_started") if created < e.t <= done.t]
        return Outcome(len(starts), str(done["response"]["status"]), [t - created for t in starts],
                       device_glitches(audio))


async def test_in_the_small_office_the_assistant_does_not_interrupt_itself(
    small_office: RoomProcess, question_wav: Path
) -> None:
    for attempt in (1, 2):
        outcome = await self_interruptions(small_office, question_wav, AudioSettings())
        if outcome.heard_itself == 0 or not outcome.glitches:
            break
        # a sound server that missed its deadline on a loaded machine cut a gap into the
        # echo path, which the canceller must re-converge on; said, and asked once more
        print(f"attempt {attempt}: {outcome.glitches} device glitch(es); asking again")
    assert (outcome.heard_itself, outcome.status) == (0, "completed"), (
        f"the assistant heard itself {outcome.heard_itself} time(s), at "
        + ", ".join(f"{t:.1f}" for t in outcome.into_reply) + f" s into its reply; device glitches {outcome.glitches}")


async def test_in_the_small_office_without_echo_cancellation_it_does(
    small_office: RoomProcess, question_wav: Path
) -> None:
    """The control: the room's echo is loud enough for the server's VAD."""
    outcome = await self_interruptions(
        small_office, question_wav, AudioSettings(echo_cancellation=False, noise_suppression=False, auto_gain=False)
    )
    assert outcome.heard_itself >= 1 and outcome.status == "cancelled"
