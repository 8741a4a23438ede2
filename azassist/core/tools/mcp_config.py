"""MCP servers as the user sets them up: settings, secrets in the keyring, and import.

A server is stdio (command, arguments, environment, working folder) or HTTP (URL, headers,
streamable HTTP or SSE). Header and environment values that are secrets (tokens, keys,
passwords) never enter the settings file: the settings keep only their names, the values
live in the keyring under the server's name. ``import_mcp_servers`` reads the
``mcpServers`` JSON Claude Desktop uses and VS Code's ``mcp.json`` (``servers``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from azassist.core.secrets import Secret
from azassist.core.tools.policy import ToolPolicy

if TYPE_CHECKING:  # the keyring loads when a secret is first needed, not with the settings
    from azassist.core.credentials import CredentialStore

Transport = Literal["stdio", "streamable_http", "sse"]
SecretKind = Literal["env", "header"]
KEYRING_SERVICE = "azassist-mcp"
_SECRET_NAME = re.compile(r"(?i)(auth|token|secret|passw|api[-_]?key|credential|\bpat\b|_pat$|^pat_|cookie|private)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


def looks_secret(name: str) -> bool:
    """A header or variable whose value is a credential, by its name (Authorization,
    GITHUB_TOKEN, X-Api-Key...): its value goes to the keyring."""
    return bool(_SECRET_NAME.search(name))


class McpServerSettings(BaseModel):
    """One MCP server. ``secret_env``/``secret_headers`` name the values kept in the keyring."""

    model_config = ConfigDict(validate_assignment=True, extra="ignore")

    name: str = Field(..., title="Name", description="How the server is called in azassist (letters, digits, - _ . and spaces)")
    enabled: bool = Field(True, title="Enabled")
    transport: Transport = Field("stdio", title="Kind", description="A program on this computer (stdio), or a web address")
    command: str = Field("", title="Command", description="The program to start, e.g. uvx or npx")
    args: list[str] = Field(default_factory=list, title="Arguments")
    env: dict[str, str] = Field(default_factory=dict, title="Environment")
    cwd: str = Field("", title="Working folder")
    url: str = Field("", title="Address", description="e.g. https://example.com/mcp")
    headers: dict[str, str] = Field(default_factory=dict, title="Headers")
    secret_env: list[str] = Field(default_factory=list, title="Secret environment variables")
    secret_headers: list[str] = Field(default_factory=list, title="Secret headers")
    policies: dict[str, ToolPolicy] = Field(default_factory=dict, title="Confirmation per tool")
    timeout_s: float = Field(10.0, ge=1.0, le=300.0, title="Timeout (s)", description="For starting the server and for each call")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not _NAME.match(value):
            raise ValueError("use 1 to 40 letters, digits, spaces, '-', '_' or '.'")
        return value

    @property
    def is_http(self) -> bool:
        return self.transport != "stdio"

    def describe(self) -> str:
        """One line for the list: what runs or where it connects."""
        if self.is_http:
            return f"{self.url} ({'SSE' if self.transport == 'sse' else 'streamable HTTP'})"
        return " ".join([self.command, *self.args]).strip()

    def problem(self) -> str | None:
        """What is missing before it can start, in plain words."""
        if self.is_http:
            if not re.match(r"(?i)^https?://", self.url):
                return f"The MCP server '{self.name}' needs an address starting with http:// or https://."
        elif not self.command.strip():
            return f"The MCP server '{self.name}' needs a command to start."
        return None

    def policy_for(self, tool: str) -> ToolPolicy:
        return self.policies.get(tool, ToolPolicy.AUTO)


class McpSecrets:
    """The secret header and environment values of MCP servers, in the keyring."""

    def __init__(self, store: CredentialStore | None = None) -> None:
        from azassist.core.credentials import CredentialStore

        self.store = store or CredentialStore(KEYRING_SERVICE)

    @staticmethod
    def account(server: str, kind: SecretKind, name: str) -> str:
        return f"{server}/{kind}/{name}"

    def get(self, server: str, kind: SecretKind, name: str) -> Secret | None:
        return self.store.get_secret(self.account(server, kind, name), f"the {name} secret of {server}")

    def set(self, server: str, kind: SecretKind, name: str, value: Secret) -> None:
        self.store.set_secret(self.account(server, kind, name), value, f"the {name} secret of {server}")

    def delete(self, server: str, kind: SecretKind, name: str) -> None:
        self.store.delete_secret(self.account(server, kind, name), f"the {name} secret of {server}")

    def delete_all(self, server: McpServerSettings) -> None:
        for name in server.secret_env:
            self.delete(server.name, "env", name)
        for name in server.secret_headers:
            self.delete(server.name, "header", name)

    def resolved(self, server: McpServerSettings) -> tuple[dict[str, str], dict[str, str]]:
        """Environment and headers with the secrets filled in (for starting the server only).
        A missing secret raises ``CredentialError`` in plain words."""
        from azassist.core.credentials import CredentialError

        env, headers = dict(server.env), dict(server.headers)
        for kind, names, target in (("env", server.secret_env, env), ("header", server.secret_headers, headers)):
            for name in names:
                secret = self.get(server.name, kind, name)  # type: ignore[arg-type]
                if secret is None:
                    raise CredentialError(
                        f"The secret {name} of the MCP server '{server.name}' is not in the keyring; "
                        "enter it again in Settings › Tools."
                    )
                target[name] = secret.reveal()
        return env, headers


def store_with_secrets(
    server: McpServerSettings, secrets: dict[tuple[SecretKind, str], str], vault: McpSecrets
) -> McpServerSettings:
    """Move ``secrets`` into the keyring and return the server naming them (values never kept)."""
    env, headers = dict(server.env), dict(server.headers)
    secret_env, secret_headers = set(server.secret_env), set(server.secret_headers)
    for (kind, name), value in secrets.items():
        if value:
            vault.set(server.name, kind, name, Secret(value))
        if kind == "env":
            env.pop(name, None)
            secret_env.add(name)
        else:
            headers.pop(name, None)
            secret_headers.add(name)
    return server.model_copy(
        update={"env": env, "headers": headers, "secret_env": sorted(secret_env), "secret_headers": sorted(secret_headers)}
    )


@dataclass
class ImportedServer:
    server: McpServerSettings
    secrets: dict[tuple[SecretKind, str], str] = field(default_factory=dict)


@dataclass
class ImportResult:
    servers: list[ImportedServer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was skipped or needs the user, in plain words


_PLACEHOLDER = re.compile(r"\$\{(input|env):([^}]+)\}")


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def import_mcp_servers(text: str, *, source: str = "the file") -> ImportResult:
    """Servers from Claude Desktop's ``{"mcpServers": {...}}`` or VS Code's ``{"servers": {...}}``.

    Values that look like secrets are split off to go to the keyring; VS Code's
    ``${input:...}`` prompts cannot be answered here and are left for the user, with a note.
    """
    result = ImportResult()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.notes.append(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}).")
        return result
    entries = data.get("mcpServers", data.get("servers")) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        result.notes.append(f"{source} has no 'mcpServers' (Claude Desktop) or 'servers' (VS Code) section.")
        return result
    for raw_name, entry in entries.items():
        name = re.sub(r"[^A-Za-z0-9 ._-]", "-", str(raw_name))[:40] or "server"
        if not isinstance(entry, dict):
            result.notes.append(f"'{raw_name}' was skipped: its entry is not an object.")
            continue
        kind = str(entry.get("type") or ("http" if entry.get("url") else "stdio")).lower()
        env, headers = _strings(entry.get("env")), _strings(entry.get("headers"))
        secrets: dict[tuple[SecretKind, str], str] = {}
        for secret_kind, values in (("env", env), ("header", headers)):
            for key, value in list(values.items()):
                placeholder = _PLACEHOLDER.search(value)
                if placeholder is not None or looks_secret(key):
                    secrets[(secret_kind, key)] = "" if placeholder else value  # type: ignore[index]
                    if placeholder is not None:
                        result.notes.append(
                            f"'{name}': {key} comes from a VS Code prompt ({placeholder.group(0)}); enter its value in Settings › Tools."
                        )
        try:
            if kind in ("stdio", "local"):
                server = McpServerSettings(
                    name=name, transport="stdio", command=str(entry.get("command") or ""),
                    args=[str(a) for a in entry.get("args") or []], env=env, cwd=str(entry.get("cwd") or ""),
                )
            elif kind in ("http", "streamable_http", "streamable-http", "sse", "remote"):
                server = McpServerSettings(
                    name=name, transport="sse" if kind == "sse" else "streamable_http",
                    url=str(entry.get("url") or ""), headers=headers,
                )
            else:
                result.notes.append(f"'{raw_name}' was skipped: azassist does not know the server type '{kind}'.")
                continue
        except ValidationError as exc:
            result.notes.append(f"'{raw_name}' was skipped: {exc.errors()[0]['msg']}.")
            continue
        if entry.get("disabled") is True:
            server = server.model_copy(update={"enabled": False})
        problem = server.problem()
        if problem:
            result.notes.append(f"{problem} (imported, switched off)")
            server = server.model_copy(update={"enabled": False})
        result.servers.append(ImportedServer(server, secrets))
    return result


def import_file(path: Path) -> ImportResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ImportResult(notes=[f"{path.name} could not be read: {getattr(exc, 'strerror', None) or exc}."])
    return import_mcp_servers(text, source=path.name)


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name 2``, ``name 3``... so an import never overwrites a server."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name[:36]} {number}"
    return candidate
