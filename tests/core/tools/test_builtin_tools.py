"""Each built-in tool end to end: the real engine, the local server over a real socket, the
unmodified LiveKit plugin. The scripted model calls the tool, the engine runs it (asking
first where the tool's rule says so), the output goes back and the follow-up is spoken."""

from __future__ import annotations

import json
import os
import re
import stat
import webbrowser
from pathlib import Path
from typing import Any

import pytest

from azassist.core.events import AssistantText
from azassist.core.tools.policy import Decision, ReminderDue, ToolActivity, ToolRequest, allow_everything
from azassist.core.transcript import export_markdown, read_conversation

from ..engine.conftest import Harness, harness, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


def outputs_sent(h: Harness) -> list[dict[str, Any]]:
    """The function_call_output items the engine sent to the service."""
    return [e["item"] for e in h.sent_to_server("conversation.item.create") if e["item"]["type"] == "function_call_output"]


def finished(h: Harness) -> list[ToolActivity]:
    return [a for a in h.of(ToolActivity) if a.finished]


async def ask(h: Harness, text: str, count: int) -> str:
    h.engine.send_text(text)
    replies = await h.replies(count)
    return replies[count - 1].text


class MemoryClipboard:
    """The clipboard seam (the window gives Qt's; tests/ui checks that one)."""

    def __init__(self, text: str = "") -> None:
        self.text = text

    def read_text(self) -> str:
        return self.text

    def write_text(self, text: str) -> None:
        self.text = text


async def test_the_clock_answers_for_a_time_zone_and_the_call_is_saved(tmp_path: Path) -> None:
    async with harness(conversations_dir=tmp_path) as h:
        declared = h.sent_to_server("session.update")
        await until(lambda: any(e["session"].get("tools") for e in h.sent_to_server("session.update")), 10, "the tools")
        names = {t["name"] for e in h.sent_to_server("session.update") for t in e["session"].get("tools") or []}
        assert {"get_current_time", "set_timer", "list_timers", "cancel_timer", "read_clipboard", "open_url"} <= names
        assert declared
        h.server.scripted.queue_tool_call("get_current_time", {"timezone": "Asia/Tokyo"})
        reply = await ask(h, "What time is it in Tokyo?", 1)
        assert "in Asia/Tokyo, UTC+09:00" in reply
        assert [o["output"] for o in outputs_sent(h)] == [reply]
        row = finished(h)[0]
        assert (row.tool, row.arguments, row.status) == ("get_current_time", "timezone=Asia/Tokyo", "done")
        assert row.duration_s is not None and row.duration_s >= 0
        assert h.engine.conversation_path is not None
        await until(lambda: read_conversation(h.engine.conversation_path).tools, 10, "the tool row on disk")  # type: ignore[arg-type]
        saved = read_conversation(h.engine.conversation_path)
        assert saved.tools[0].tool == "get_current_time" and saved.tools[0].after_turns == 1  # after the question
        assert "🔧 get_current_time(timezone=Asia/Tokyo) → It is" in export_markdown(saved)


async def test_an_unknown_time_zone_is_a_failure_the_model_hears() -> None:
    async with harness() as h:
        h.server.scripted.queue_tool_call("get_current_time", {"timezone": "Mars/Olympus"}, then="Sorry: {output}")
        reply = await ask(h, "Time on Mars?", 1)
        assert reply.startswith("Sorry: 'Mars/Olympus' is not a time zone I know")
        assert finished(h)[0].status == "failed"


async def test_a_timer_goes_off_with_a_notification_and_the_assistant_says_it() -> None:
    async with harness() as h:
        h.server.scripted.queue_tool_call("set_timer", {"seconds": 1, "label": "stretch"})
        reply = await ask(h, "Remind me in a second to stretch", 1)
        assert reply.startswith("Timer set for 1 second: 'stretch' goes off at")
        h.server.scripted.queue_reply("Time to stretch!")
        await until(lambda: h.of(ReminderDue), 10, "the reminder")
        assert h.of(ReminderDue)[0].label == "stretch"
        replies = await h.replies(2)
        assert replies[1].text == "Time to stretch!"
        asked = h.server.scripted.turns[-1]
        assert "stretch" in asked.instructions  # the engine asked the model to say it


async def test_timers_are_listed_and_cancelled() -> None:
    async with harness() as h:
        h.server.scripted.queue_tool_call("set_timer", {"seconds": 600, "label": "tea"})
        await ask(h, "Ten minute tea timer", 1)
        h.server.scripted.queue_tool_call("list_timers", {})
        assert re.match(r"Timers running: 'tea' in (10 minutes|9 minutes 5\d seconds)\.$", await ask(h, "Which timers?", 2))
        h.server.scripted.queue_tool_call("cancel_timer", {"timer": "tea"})
        assert await ask(h, "Cancel the tea", 3) == "Cancelled the timer 'tea'."
        assert h.engine.timers.list() == []
        h.server.scripted.queue_tool_call("cancel_timer", {"timer": "tea"})
        assert await ask(h, "Cancel the tea again", 4) == "There is no timer called 'tea'."


async def test_reading_the_clipboard_asks_and_a_refusal_reaches_the_model() -> None:
    requests: list[ToolRequest] = []
    answers = [Decision.DENY, Decision.ALLOW_ONCE]

    async def confirm(request: ToolRequest) -> Decision:
        requests.append(request)
        return answers.pop(0)

    clipboard = MemoryClipboard("my secret plans")
    async with harness(engine_kwargs={"confirm_tool": confirm, "clipboard": clipboard}) as h:
        h.server.scripted.queue_tool_call("read_clipboard", {})
        refused = await ask(h, "What's on my clipboard?", 1)
        assert refused.startswith("The user did not allow this (read the clipboard)")
        assert "my secret plans" not in json.dumps(outputs_sent(h))
        assert finished(h)[-1].status == "refused"
        h.server.scripted.queue_tool_call("read_clipboard", {})
        assert await ask(h, "Now you may.", 2) == "The clipboard holds: my secret plans"
        assert [r.tool for r in requests] == ["read_clipboard", "read_clipboard"]  # asked every time
        assert requests[0].why.startswith("It reads what you copied")
        assert [a.status for a in h.of(ToolActivity)][:2] == ["asking", "refused"]


async def test_allowed_for_the_conversation_is_not_asked_again_until_a_new_one() -> None:
    requests: list[ToolRequest] = []

    async def confirm(request: ToolRequest) -> Decision:
        requests.append(request)
        return Decision.ALLOW_CONVERSATION

    clipboard = MemoryClipboard()
    async with harness(engine_kwargs={"confirm_tool": confirm, "clipboard": clipboard}) as h:
        h.server.scripted.queue_tool_call("write_clipboard", {"text": "first"})
        assert await ask(h, "Copy first", 1) == "Copied 5 characters to the clipboard."
        h.server.scripted.queue_tool_call("write_clipboard", {"text": "second"})
        await ask(h, "Copy second", 2)
        assert clipboard.text == "second" and len(requests) == 1
        h.engine.new_conversation()
        h.server.scripted.queue_tool_call("write_clipboard", {"text": "third"})
        await ask(h, "Copy third", 3)
        assert clipboard.text == "third" and len(requests) == 2


async def test_opening_a_web_address_starts_the_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("BROWSER", str(browser))
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # webbrowser reads $BROWSER once
    monkeypatch.setattr(webbrowser, "_browsers", {})
    async with harness(engine_kwargs={"confirm_tool": allow_everything}) as h:
        h.server.scripted.queue_tool_call("open_url", {"url": "https://example.org/docs"})
        assert await ask(h, "Open the docs", 1) == "Opened https://example.org/docs in the browser."
        await until(lambda: opened.exists() and opened.read_text().strip(), 10, "the browser to run")
        assert opened.read_text().strip() == "https://example.org/docs"
        h.server.scripted.queue_tool_call("open_url", {"url": "file:///etc/passwd"})
        assert (await ask(h, "Open that file", 2)).startswith("Only web addresses")
        assert opened.read_text().count("\n") == 1
    assert os.environ.get("BROWSER") == str(browser)


async def test_tools_switched_off_are_not_declared() -> None:
    async with harness(tools={"clock": False, "timers": False, "clipboard": False, "open_url": False}) as h:
        h.server.scripted.queue_reply("Hello.")
        await ask(h, "hi", 1)
        assert not any(e["session"].get("tools") for e in h.sent_to_server("session.update"))
        assert not h.of(ToolActivity) and not [e for e in h.events if isinstance(e, AssistantText) and "Timer" in e.text]


async def test_without_a_clipboard_the_tool_says_so() -> None:
    async with harness(engine_kwargs={"confirm_tool": allow_everything}) as h:
        h.server.scripted.queue_tool_call("read_clipboard", {})
        assert (await ask(h, "clipboard?", 1)).startswith("The clipboard cannot be reached from here")
