"""The tools one connection gives LiveKit, each call guarded the same way.

Every call, built-in or MCP, goes through ``Toolbox.guarded``: ask the user when the tool's
rule says so (unless they allowed it for this conversation), report it as ``ToolActivity``
(asking, running, done / refused / failed, with its duration) and turn any failure into a
``ToolError`` sentence the model can say. A refusal is such a sentence too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from livekit.agents import RunContext, ToolError, function_tool
from livekit.agents.llm import Tool, Toolset

from azassist.core.secrets import redact
from azassist.core.tools.builtin import BuiltinTool, ToolEnv, ToolFailure, enabled_builtins
from azassist.core.tools.policy import (
    Confirmer,
    Decision,
    Permissions,
    ReminderDue,
    ToolActivity,
    ToolRequest,
    ToolServerStatus,
    refuse_everything,
    shorten,
)

if TYPE_CHECKING:
    from azassist.core.settings import ToolsSettings
    from azassist.core.tools.mcp_config import McpSecrets

log = logging.getLogger(__name__)

ToolEvent = ToolActivity | ToolServerStatus | ReminderDue
RESULT_CHARS = 160


def short_arguments(arguments: dict[str, Any]) -> str:
    """'timezone=Asia/Tokyo, label=stretch': a call's arguments for a row or a dialog."""
    parts = []
    for key, value in arguments.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return shorten(", ".join(parts), 100)


class Toolbox:
    """Builds each connection's tool list and runs every call; lives as long as the engine."""

    def __init__(
        self,
        env: ToolEnv,
        *,
        report: Callable[[ToolEvent], None],
        confirm: Confirmer = refuse_everything,
        secrets: McpSecrets | None = None,
    ) -> None:
        self.env = env
        self.report = report
        self.confirm = confirm
        self._secrets = secrets
        self.permissions = Permissions()
        self._questions: set[asyncio.Task[Decision]] = set()
        self.taken_names: set[str] = set()  # the names this connection's tools go by, for MCP clashes
        self.calls_under_way = 0  # asking or running: a script waits for them (Engine.busy)

    def cancel_questions(self) -> None:
        """The connection is ending: unanswered questions close and count as a no (LiveKit
        waits for running tools when it closes a session)."""
        for question in list(self._questions):
            question.cancel()

    @property
    def secrets(self) -> McpSecrets:
        if self._secrets is None:
            from azassist.core.tools.mcp_config import McpSecrets

            self._secrets = McpSecrets()
        return self._secrets

    def tools_for(self, settings: ToolsSettings) -> list[Tool | Toolset]:
        """The enabled built-in tools, and one toolset per enabled MCP server (the MCP SDK
        is imported only when there is one)."""
        builtins = enabled_builtins(settings)
        self.taken_names = {tool.name for tool in builtins}
        tools: list[Tool | Toolset] = [self._builtin(tool) for tool in builtins]
        servers = [server for server in settings.servers if server.enabled]
        if servers:
            from azassist.core.tools.mcp_servers import server_toolset

            for server in servers:
                toolset = server_toolset(server, self)
                if toolset is not None:
                    tools.append(toolset)
        return tools

    def _builtin(self, tool: BuiltinTool) -> Tool:
        async def call(raw_arguments: dict[str, Any], context: RunContext) -> str:
            arguments = dict(raw_arguments or {})
            return str(
                await self.guarded(
                    call_id=context.function_call.call_id,
                    name=tool.name,
                    title=tool.title,
                    arguments=arguments,
                    asks=tool.asks,
                    why=tool.why,
                    run=lambda: tool.run(self.env, arguments),
                )
            )

        return function_tool(call, raw_schema=tool.schema)

    async def guarded(
        self,
        *,
        call_id: str,
        name: str,
        title: str,
        arguments: dict[str, Any],
        asks: bool,
        why: str,
        run: Callable[[], Awaitable[Any]],
        server: str | None = None,
        describe_failure: Callable[[BaseException], str] | None = None,
    ) -> Any:
        self.calls_under_way += 1  # Engine.busy counts it: a script waits for the call
        try:
            summary = redact(short_arguments(arguments))

            def activity(status: Any, result: str = "", duration: float | None = None) -> None:
                self.report(ToolActivity(call_id, name, summary, status, redact(shorten(result, RESULT_CHARS)), duration, server))

            key = f"{server}/{name}" if server else name
            if asks and not self.permissions.covers(key):
                activity("asking")
                request = ToolRequest(call_id, name, f"{server} › {name}" if server else title, summary, why, server)
                question = asyncio.ensure_future(self.confirm(request))
                self._questions.add(question)
                try:
                    decision = await question
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():  # this call itself was cancelled
                        activity("refused", "interrupted before you answered")
                        question.cancel()
                        raise
                    activity("refused", "the conversation ended before you answered")
                    raise ToolError("The user did not answer before the conversation ended; it was not done.") from None
                finally:
                    self._questions.discard(question)
                if decision is Decision.DENY:
                    refusal = f"The user did not allow this ({title.lower()}). Say it was not done; do not try again unless they ask."
                    activity("refused", "you said no")
                    raise ToolError(refusal)
                if decision is Decision.ALLOW_CONVERSATION:
                    self.permissions.remember(key)
            activity("running")
            started = time.monotonic()
            try:
                result = await run()
            except asyncio.CancelledError:
                activity("failed", "stopped: the reply was interrupted", time.monotonic() - started)
                raise
            except ToolFailure as exc:
                activity("failed", exc.message, time.monotonic() - started)
                raise ToolError(exc.message) from exc
            except ToolError as exc:
                activity("failed", exc.message, time.monotonic() - started)
                raise
            except Exception as exc:
                log.warning("tool %s failed", name, exc_info=True)
                message = describe_failure(exc) if describe_failure else f"{title} failed: {type(exc).__name__}: {exc}"
                activity("failed", message, time.monotonic() - started)
                raise ToolError(message) from exc
            activity("done", result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str),
                     time.monotonic() - started)  # fmt: skip
            return result
        finally:
            self.calls_under_way -= 1
