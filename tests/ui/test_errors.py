"""The window survives: engine errors become banners with an action, a dropped server is
reconnected, and an unexpected exception anywhere is logged, shown in a sentence, survived."""

from __future__ import annotations

import asyncio
import logging

import pytest
from PySide6.QtCore import QTimer

from azassist.core.events import ConnectionState, Error, StateChanged
from azassist.core.paths import AppPaths
from azassist.simulator import LocalRealtimeServer
from azassist.ui.errors import install_exception_hooks

from .conftest import memory_key, open_window, settings_for, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_a_server_error_is_a_banner_and_the_conversation_goes_on(
    paths: AppPaths, server: LocalRealtimeServer
) -> None:
    server.scripted.queue_reply("Still here.")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        await server.faults.send_error("server_error", "The model had a hiccup")
        await until(lambda: not window.banner.isHidden(), what="the banner")
        assert "The model had a hiccup" in window.banner.message.text()
        assert "Traceback" not in window.banner.message.text()
        assert window.banner.action_labels() == ["Retry"]
        assert any(entry.kind.value == "error" for entry in window.transcript.entries)  # inline too
        assert window.connection is ConnectionState.CONNECTED
        window.send_text("are you there?")
        await until(lambda: h.finals("assistant"), what="a reply after the error")
        assert h.finals("assistant") == ["Still here."]


async def test_a_fatal_error_offers_settings_and_retry_which_reconnects(
    paths: AppPaths, server: LocalRealtimeServer
) -> None:
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        await server.faults.send_error("invalid_api_key", "Incorrect API key provided")
        await until(lambda: window.connection is ConnectionState.FAILED, what="the session to end")
        [fatal] = [e for e in h.of(Error) if e.fatal]
        assert window.banner.message.text() == fatal.message
        assert window.banner.action_labels() == ["Open settings", "Retry"]
        assert window.connect_action.text() == "Connect"
        retry = window.banner.action_buttons[1]
        retry.click()
        await until(lambda: window.connection is not ConnectionState.FAILED, what="the retry to start")
        await h.connected()
        assert window.banner.isHidden()
        assert len(server.sessions) == 2


async def test_a_dropped_server_connection_is_recovered(paths: AppPaths, server: LocalRealtimeServer) -> None:
    server.scripted.queue_reply("Back again.")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        await server.faults.drop_connections()
        await until(lambda: len(server.live_sessions) == 1 and len(server.sessions) == 2, 20, "a new session")
        await until(lambda: window.connection is ConnectionState.CONNECTED, 20, "connected again")
        window.send_text("hello again")
        await until(lambda: h.finals("assistant"), 20, "a reply after the drop")
        assert h.finals("assistant") == ["Back again."]
        # The user saw it happen: reconnecting in the status, the loss said inline.
        assert ConnectionState.RECONNECTING in [e.connection for e in h.of(StateChanged)]
        assert ("warning", "The connection to 127.0.0.1 was lost. Trying again…") in [
            (entry.kind.value, entry.text) for entry in window.transcript.entries
        ]


async def test_unexpected_exceptions_are_logged_shown_and_survived(
    paths: AppPaths, server: LocalRealtimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        restore = install_exception_hooks(window.report_unexpected, asyncio.get_running_loop())
        try:
            with caplog.at_level(logging.ERROR):
                QTimer.singleShot(0, lambda: 1 / 0)  # a broken Qt slot
                await until(lambda: not window.banner.isHidden(), what="the banner for the slot")
                assert "ZeroDivisionError" in window.banner.message.text()
                assert "keeps running" in window.banner.message.text()
                assert window.banner.action_labels() == ["Open log folder"]
                window.banner.hide()

                async def broken_task() -> None:
                    raise RuntimeError("a task went wrong")

                task = asyncio.ensure_future(broken_task())
                del task  # never awaited: the loop's exception handler reports it
                await asyncio.sleep(0.05)
                import gc

                gc.collect()
                await until(lambda: not window.banner.isHidden(), what="the banner for the task")
                assert "a task went wrong" in window.banner.message.text()
            assert any("Traceback" in record.getMessage() or record.exc_info for record in caplog.records)
            assert "Traceback" not in window.transcript.plain_text()
            # Still working.
            window.connect_engine()
            await h.connected()
        finally:
            restore()
