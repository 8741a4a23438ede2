"""Function calls through the unmodified LiveKit client: the simulator streams a call as the
GA service does, LiveKit runs the tool, sends its output and asks for the follow-up reply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from livekit.agents import function_tool

from azassist.simulator.protocol import ConversationItem
from azassist.simulator.responders import DemoResponder, Reply, Turn
from azassist.simulator.tools import ToolCall

from .conftest import StartSimulator
from .support import RawClient, make_model, start_conversation, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

CALL_ORDER = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "conversation.item.done",
    "response.output_item.done",
    "response.done",
]


def clock_tool(calls: list[dict[str, Any]]) -> Any:
    @function_tool(
        raw_schema={
            "name": "get_current_time",
            "description": "The current time in a time zone.",
            "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}},
        }
    )
    async def get_current_time(raw_arguments: dict[str, Any]) -> str:
        calls.append(raw_arguments)
        return f"It is 09:41 in {raw_arguments.get('timezone', 'UTC')}."

    return get_current_time


async def test_a_scripted_tool_call_runs_the_tool_and_the_result_is_spoken(
    start_simulator: StartSimulator, preview: bool
) -> None:
    server = await start_simulator()
    calls: list[dict[str, Any]] = []
    conversation = await start_conversation(make_model(server, preview=preview), tools=[clock_tool(calls)])
    await until(lambda: any(s.config.tools for s in server.live_sessions), what="the tool declared")
    session = server.live_sessions[0]
    assert [t["name"] for t in session.config.tools] == ["get_current_time"]

    call = server.scripted.queue_tool_call("get_current_time", {"timezone": "Asia/Tokyo"}, then="Tokyo: {output}")
    conversation.session.generate_reply(user_input="What time is it in Tokyo?")
    reply = await conversation.wait_for_reply()

    assert calls == [{"timezone": "Asia/Tokyo"}]
    assert reply == "Tokyo: It is 09:41 in Asia/Tokyo."
    # the output is chained right after the call in the server's conversation
    kinds = [(i.type, i.call_id) for i in session.items]
    at = kinds.index(("function_call", call.call_id))
    assert kinds[at + 1] == ("function_call_output", call.call_id)
    assert session.items[at + 1].output == "It is 09:41 in Asia/Tokyo."
    # the follow-up response saw the output; the wire order of the call is the service's
    follow_up = server.scripted.turns[-1]
    assert follow_up.tool_output is not None and follow_up.tool_output.call_id == call.call_id
    types = server.sent.types(session.id)
    start = types.index("response.created")
    order = [t for n, t in enumerate(types[start : types.index("response.done", start) + 1])
             if not (t.endswith(".delta") and types[start + n - 1] == t)]
    expected = [t for t in CALL_ORDER if not (preview and t == "conversation.item.done")]
    if preview:
        expected = ["conversation.item.created" if t == "conversation.item.added" else t for t in expected]
    assert order == expected
    done = server.sent.of_type("response.function_call_arguments.done", session.id)[0]
    assert json.loads(done["arguments"]) == {"timezone": "Asia/Tokyo"}
    response = server.sent.of_type("response.done", session.id)[0]["response"]
    assert [o["type"] for o in response["output"]] == ["function_call"]
    assert not conversation.errors
    await conversation.aclose()


async def test_two_calls_in_one_response_both_run(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    calls: list[dict[str, Any]] = []
    conversation = await start_conversation(make_model(server), tools=[clock_tool(calls)])

    server.scripted.queue(
        Reply(tool_calls=(ToolCall.of("get_current_time", {"timezone": "Europe/Paris"}),
                          ToolCall.of("get_current_time", {"timezone": "Asia/Tokyo"})))
    )
    server.scripted.queue_reply("Both told.")
    conversation.session.generate_reply(user_input="Paris and Tokyo?")
    assert await conversation.wait_for_reply() == "Both told."
    assert sorted(c["timezone"] for c in calls) == ["Asia/Tokyo", "Europe/Paris"]
    outputs = [i for i in server.live_sessions[0].items if i.type == "function_call_output"]
    assert len(outputs) == 2
    await conversation.aclose()


async def test_an_output_for_an_unknown_call_is_refused(start_simulator: StartSimulator) -> None:
    server = await start_simulator(allow_invalid_client_events=True)
    async with RawClient.connect(server) as client:
        event_id = await client.send(
            {"type": "conversation.item.create",
             "item": {"type": "function_call_output", "call_id": "call_nobody", "output": "42"}}
        )
        error = await client.next("error")
    assert error["error"]["event_id"] == event_id
    assert "call_nobody" in error["error"]["message"]


async def test_the_demo_calls_declared_tools_and_reads_their_answer() -> None:
    demo = DemoResponder()
    tools = ({"type": "function", "name": "get_current_time"}, {"type": "function", "name": "set_timer"})

    def user(text: str) -> ConversationItem:
        return ConversationItem(id="u", type="message", role="user", content=[{"type": "input_text", "text": text}])

    def ask(*items: ConversationItem, declared: tuple[dict[str, Any], ...] = tools) -> Any:
        return demo.respond(Turn("", tuple(items), ("audio",), "marin", None, declared))

    reply = await ask(user("What time is it in Tokyo?"))
    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [("get_current_time", {"timezone": "Asia/Tokyo"})]
    reply = await ask(user("Remind me in ten minutes to stretch"))
    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [("set_timer", {"seconds": 600, "label": "stretch"})]
    # without the tools declared it answers on its own, as before
    reply = await ask(user("What time is it?"), declared=())
    assert not reply.tool_calls and reply.text.startswith("It is ")
    # after the tool ran it reads the result back
    call = ConversationItem(id="c", type="function_call", call_id="call_1", name="set_timer", arguments="{}")
    output = ConversationItem(id="o", type="function_call_output", call_id="call_1", output="Timer set for 10 minutes.")
    reply = await ask(user("Remind me in ten minutes to stretch"), call, output)
    assert reply.text == "Timer set for 10 minutes." and not reply.tool_calls
