"""Token usage per reply, split into text and audio as the service reports it, is saved
with the reply and reaches the listeners (the status bar prices it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from azassist.core.events import Usage
from azassist.core.transcript import read_conversation

from .conftest import harness, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_usage_is_split_into_text_and_audio(tmp_path: Path) -> None:
    async with harness(conversations_dir=tmp_path, pace=0, audio_pace=0) as h:
        h.server.scripted.queue_reply("A spoken answer with a few words.")
        h.engine.send_text("how much does this cost?")
        await h.replies(1)
        await until(lambda: h.of(Usage), 10, "the reply's usage")
        details = h.of(Usage)[-1].details
        assert details is not None
        assert details.output_audio_tokens > 0 and details.output_text_tokens > 0
        assert details.input_tokens == details.input_text_tokens + details.input_audio_tokens
        assert h.engine.conversation_path is not None
        await until(
            lambda: any(t.usage for t in read_conversation(h.engine.conversation_path).turns),  # type: ignore[arg-type]
            10,
            "the usage on disk",
        )
        saved = next(t.usage for t in read_conversation(h.engine.conversation_path).turns if t.usage)
        assert saved == details
