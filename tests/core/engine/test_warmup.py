"""The protocol models are built ahead of the first reply, not while it waits.

Run in a fresh interpreter: whether a model is built is process state, and any earlier test
that handled a reply would already have built them here.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio

    from livekit.plugins import openai  # imports the protocol models the plugin parses with
    from openai.types.realtime import ResponseCreatedEvent

    from azassist.core.engine.warmup import build_protocol_models, unbuilt_models

    before = unbuilt_models()
    assert ResponseCreatedEvent in before, "the plugin's event models should start unbuilt"
    built = asyncio.run(build_protocol_models())
    assert built == len(before) and not unbuilt_models()
    assert ResponseCreatedEvent.__pydantic_complete__
    # the plugin's parse of the first reply's events now builds nothing
    event = ResponseCreatedEvent.construct(
        type="response.created", event_id="e1", response={"id": "r1", "object": "realtime.response", "output": []}
    )
    assert event.response.id == "r1"
    print("built", built, "of", len(before))
    """
)


def test_the_plugins_event_models_are_built_ahead_of_use() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("built ")
