"""The baseline: LiveKit's own sounddevice console (``python console_agent.py console``).

A tiny agent script as LiveKit documents it (AgentServer + rtc_session entrypoint +
``cli.run_app``), with the realtime model pointed at the bench's local server through
``RealtimeModel.with_azure``. The session is configured like azassist's engine (no local VAD,
realtime turn detection, no AEC warm-up, no away timer, the same server VAD numbers), so the
comparison is about the audio path and the client's overhead, not about settings.

Endpoint and key come from AZURE_OPENAI_ENDPOINT / AZURE_OPENAI_API_KEY (never argv).
"""

from __future__ import annotations

import os

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli
from livekit.plugins import openai
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

DEPLOYMENT = os.environ.get("BENCH_DEPLOYMENT", "gpt-realtime")
SILENCE_MS = int(os.environ.get("BENCH_SILENCE_MS", "500"))
SAY = os.environ.get("BENCH_SAY", "")

server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    model = openai.realtime.RealtimeModel.with_azure(
        azure_deployment=DEPLOYMENT,
        turn_detection=ServerVad(
            type="server_vad", threshold=0.5, prefix_padding_ms=300,
            silence_duration_ms=SILENCE_MS, create_response=True, interrupt_response=True,
        ),
    )
    session: AgentSession = AgentSession(
        llm=model, vad=None, turn_handling={"turn_detection": "realtime_llm"},
        aec_warmup_duration=None, user_away_timeout=None,
    )
    await session.start(agent=Agent(instructions="You are a helpful voice assistant."), room=ctx.room)
    if SAY:  # figure 16: a typed message as soon as the session accepts input (what text input does)
        session.generate_reply(user_input=SAY)


if __name__ == "__main__":
    os.environ.pop("OPENAI_API_VERSION", None)
    cli.run_app(server)
