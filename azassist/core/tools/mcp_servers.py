"""The user's MCP servers as LiveKit ``MCPToolset``s (imported only when one is enabled).

Each enabled server becomes a ``GuardedToolset``: LiveKit's ``MCPToolset`` whose setup never
fails the conversation (a server that cannot start is reported per server in plain words and
contributes no tools) and whose tools go through ``Toolbox.guarded`` (confirmation by the
server's per-tool rule, activity rows, and a server that dies mid-call becomes a sentence
the model says, not a broken conversation).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from livekit.agents import RunContext, function_tool
from livekit.agents.llm import Tool
from livekit.agents.llm.mcp import MCPServer, MCPServerHTTP, MCPServerStdio, MCPToolResultContext, MCPToolset
from livekit.agents.llm.tool_context import get_raw_function_info

from azassist.core.credentials import CredentialError
from azassist.core.tools.mcp_config import McpSecrets, McpServerSettings
from azassist.core.tools.policy import ToolPolicy, ToolServerStatus

if TYPE_CHECKING:
    from azassist.core.tools.toolbox import Toolbox

log = logging.getLogger(__name__)


def plain_result(context: MCPToolResultContext) -> str:
    """A tool's text as the model and the transcript row should read it (LiveKit's default
    hands over the content part's JSON: {"type": "text", "text": ..., "annotations": null})."""
    parts = []
    for part in context.result.content:
        text = getattr(part, "text", None)
        parts.append(text if isinstance(text, str) else part.model_dump_json(by_alias=True, exclude_none=True))
    if not parts:
        structured = context.result.structured_content
        return json.dumps(structured, ensure_ascii=False) if structured is not None else "(no result)"
    return "\n".join(parts)


def build_server(config: McpServerSettings, secrets: McpSecrets) -> MCPServer:
    """LiveKit's client for one server, secrets filled in from the keyring."""
    env, headers = secrets.resolved(config)
    if config.is_http:
        return MCPServerHTTP(
            config.url,
            transport_type="sse" if config.transport == "sse" else "streamable_http",
            headers=headers,
            timeout=config.timeout_s,
            client_session_timeout_seconds=config.timeout_s,
            tool_result_resolver=plain_result,
        )
    return MCPServerStdio(
        config.command,
        list(config.args),
        env=env or None,
        cwd=config.cwd or None,
        client_session_timeout_seconds=config.timeout_s,
        tool_result_resolver=plain_result,
    )


def _leaf(error: BaseException) -> BaseException:
    """The first real cause inside anyio's exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def describe_start_failure(config: McpServerSettings, error: BaseException) -> str:
    """Why a server has no tools, in words the user can act on."""
    error = _leaf(error)
    name = f"The MCP server '{config.name}'"
    if isinstance(error, CredentialError):
        return error.message
    if isinstance(error, FileNotFoundError):
        return f"{name} could not start: the program '{config.command}' was not found. Check its command in Settings › Tools."
    if isinstance(error, PermissionError):
        return f"{name} could not start: '{config.command}' is not allowed to run."
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return f"{name} did not answer within {config.timeout_s:.0f} s."
    text = str(error) or type(error).__name__
    if config.is_http and any(word in type(error).__name__ for word in ("Connect", "Network", "HTTP")):
        return f"{name} could not be reached at {config.url}: {text}."
    if "closed" in text.lower():
        return f"{name} stopped before it was ready (it closed the connection). Check its command and arguments."
    return f"{name} could not start: {text}."


def describe_call_failure(config: McpServerSettings, tool: str, error: BaseException) -> str:
    error = _leaf(error)
    text = str(error) or type(error).__name__
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)) or "timed out" in text.lower():
        return f"The MCP server '{config.name}' did not answer {tool} within {config.timeout_s:.0f} s."
    if "closed" in text.lower() or "unavailable" in text.lower() or isinstance(error, (EOFError, BrokenPipeError)):
        return f"The MCP server '{config.name}' stopped while running {tool}; its tools are unavailable until you reconnect."
    return f"{tool} on the MCP server '{config.name}' failed: {text}"


class GuardedToolset(MCPToolset):
    """An ``MCPToolset`` that reports instead of failing, and guards every call."""

    def __init__(self, config: McpServerSettings, server: MCPServer, toolbox: Toolbox) -> None:
        super().__init__(id=f"mcp_{config.name}", mcp_server=server)
        self.config = config
        self.toolbox = toolbox
        self.status: ToolServerStatus | None = None

    async def setup(self, *, reload: bool = False) -> GuardedToolset:
        try:
            await asyncio.wait_for(super().setup(reload=reload), self.config.timeout_s)
            read_only = {tool.name: _read_only(tool) for tool in await self._mcp_server._list_raw_tools()}
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # anyio raises groups; a broken server must not end the conversation
            log.warning("MCP server %s failed to start", self.config.name, exc_info=True)
            self._tools = []
            self._report(ToolServerStatus(self.config.name, False, describe_start_failure(self.config, exc)))
            await self._close_quietly()
            return self
        wrapped: list[Any] = []
        for tool in self._tools:
            name = get_raw_function_info(tool).name  # type: ignore[arg-type]
            policy = self.config.policy_for(name)
            if policy is ToolPolicy.BLOCK:
                continue
            asks = policy is ToolPolicy.ASK or (policy is ToolPolicy.AUTO and not read_only.get(name, False))
            wrapped.append(self._guard(tool, name, asks))
        self._tools = wrapped
        names = tuple(get_raw_function_info(t).name for t in wrapped)  # as the model sees them
        self._report(
            ToolServerStatus(self.config.name, True, f"The MCP server '{self.config.name}' is ready with {len(names)} tools.", names)
        )
        return self

    def _exposed_name(self, name: str) -> str:
        """The tool's own name (characters the service refuses become _), or ``server_name``
        when a built-in tool or another server's tool already goes by it (mcp-server-time's
        get_current_time and the clock)."""
        exposed = _function_name(name)  # the service takes ^[A-Za-z0-9_-]{1,64}$ only
        if exposed in self.toolbox.taken_names:
            exposed = _function_name(f"{self.config.name}_{name}")
        self.toolbox.taken_names.add(exposed)
        return exposed

    def _guard(self, tool: Any, name: str, asks: bool) -> Tool:
        config, toolbox = self.config, self.toolbox
        info = get_raw_function_info(tool)
        schema = {k: v for k, v in info.raw_schema.items() if k != "meta"}
        schema["name"] = self._exposed_name(name)

        async def call(raw_arguments: dict[str, Any], context: RunContext) -> Any:
            return await toolbox.guarded(
                call_id=context.function_call.call_id,
                name=name,
                title=name,
                arguments=dict(raw_arguments or {}),
                asks=asks,
                why=f"It runs {name} on the MCP server '{config.name}', and the tool does not say it only reads.",
                server=config.name,
                run=lambda: tool(raw_arguments),
                describe_failure=lambda error: self._call_failed(name, error),
            )

        return function_tool(call, raw_schema=schema)

    def _call_failed(self, tool: str, error: BaseException) -> str:
        message = describe_call_failure(self.config, tool, error)
        if self._mcp_server._client is None or "stopped" in message:
            self._report(ToolServerStatus(self.config.name, False, message))
        return message

    def _report(self, status: ToolServerStatus) -> None:
        self.status = status
        self.toolbox.report(status)

    async def _close_quietly(self) -> None:
        try:
            await asyncio.wait_for(self._mcp_server.aclose(), 5)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.debug("closing the failed MCP server %s: %r", self.config.name, exc)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        except BaseException as exc:  # a crashed server's client task re-raises its error here
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.debug("closing the MCP server %s: %r", self.config.name, exc)


def _function_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "tool"


def _read_only(tool: Any) -> bool:
    annotations = getattr(tool, "annotations", None)
    return bool(getattr(annotations, "read_only_hint", None) or getattr(annotations, "readOnlyHint", None))


def server_toolset(config: McpServerSettings, toolbox: Toolbox) -> GuardedToolset | None:
    """The toolset of one enabled server, or None (reported) when it cannot even be built."""
    problem = config.problem()
    try:
        if problem:
            raise ValueError(problem)
        server = build_server(config, toolbox.secrets)
    except (CredentialError, ValueError) as exc:
        message = exc.message if isinstance(exc, CredentialError) else str(exc)
        toolbox.report(ToolServerStatus(config.name, False, message))
        return None
    return GuardedToolset(config, server, toolbox)


async def test_server(config: McpServerSettings, secrets: McpSecrets) -> ToolServerStatus:
    """Start the server, list its tools, stop it: the pane's Test button."""
    problem = config.problem()
    if problem:
        return ToolServerStatus(config.name, False, problem)
    try:
        server = build_server(config, secrets)
    except CredentialError as exc:
        return ToolServerStatus(config.name, False, exc.message)
    try:
        await asyncio.wait_for(server.initialize(), config.timeout_s)
        tools = await asyncio.wait_for(server._list_raw_tools(), config.timeout_s)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        return ToolServerStatus(config.name, False, describe_start_failure(config, exc))
    finally:
        try:
            await asyncio.wait_for(server.aclose(), 5)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.debug("closing the tested MCP server %s: %r", config.name, exc)
    names = tuple(tool.name for tool in tools)
    return ToolServerStatus(config.name, True, f"{len(names)} tools: {', '.join(names) or 'none'}.", names)
