"""The engine as a ``TalkTarget``: for front ends without their own talk sources (and tests)."""

from __future__ import annotations

import asyncio
from typing import Any

from azassist.core.hotkey.controller import Readiness
from azassist.core.states import ConnectionState


class EngineTarget:
    """Press/release/cancel go straight to the engine's push-to-talk; connecting runs as a task."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine  # a ConversationEngine
        self._connecting: asyncio.Task[None] | None = None

    def readiness(self) -> Readiness:
        if self.engine.hands_free:
            return Readiness.HANDS_FREE
        connection = self.engine.connection
        if connection is ConnectionState.CONNECTED:
            return Readiness.READY
        if connection in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
            return Readiness.CONNECTING
        return Readiness.DISCONNECTED

    def connect(self) -> str | None:
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.get_running_loop().create_task(self.engine.connect())
        return None

    def press(self) -> bool:
        self.engine.push_to_talk_press()
        return True

    def release(self) -> None:
        self.engine.push_to_talk_release()

    def cancel(self) -> None:
        self.engine.push_to_talk_cancel()
