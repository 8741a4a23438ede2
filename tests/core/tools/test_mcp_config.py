"""MCP server settings: importing the files other desktop tools keep, secrets into the real
keyring (never the settings file), and the MCP SDK staying unloaded until a server is on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from azassist.core.settings import Settings, SettingsStore
from azassist.core.tools.mcp_config import (
    McpSecrets,
    import_file,
    import_mcp_servers,
    looks_secret,
    store_with_secrets,
    unique_name,
)
from tests.support.services import SecretService

CLAUDE_DESKTOP = {
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
        },
        "github": {
            "command": "docker",
            "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_" + "x" * 36, "LOG_LEVEL": "info"},
        },
        "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer sk-remote-123456"}},
        "broken": "not an object",
    }
}

VS_CODE = {
    "inputs": [{"type": "promptString", "id": "api-key", "description": "API key", "password": True}],
    "servers": {
        "perplexity": {"type": "stdio", "command": "npx", "args": ["-y", "server-perplexity-ask"],
                       "env": {"PERPLEXITY_API_KEY": "${input:api-key}"}},
        "events": {"type": "sse", "url": "http://localhost:3000/sse"},
        "weird": {"type": "websocket", "url": "ws://x"},
    },
}


def test_a_claude_desktop_file_imports_with_its_secrets_split_off(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(CLAUDE_DESKTOP))
    result = import_file(path)
    servers = {i.server.name: i for i in result.servers}
    assert set(servers) == {"filesystem", "github", "remote"}
    fs = servers["filesystem"].server
    assert (fs.transport, fs.command, fs.args) == ("stdio", "npx", ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"])
    github = servers["github"]
    assert github.secrets == {("env", "GITHUB_PERSONAL_ACCESS_TOKEN"): "ghp_" + "x" * 36}
    assert github.server.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_" + "x" * 36, "LOG_LEVEL": "info"}  # until stored
    remote = servers["remote"]
    assert (remote.server.transport, remote.server.url) == ("streamable_http", "https://mcp.example.com/mcp")
    assert remote.secrets == {("header", "Authorization"): "Bearer sk-remote-123456"}
    assert result.notes == ["'broken' was skipped: its entry is not an object."]


def test_a_vs_code_file_imports_and_says_what_it_cannot_answer() -> None:
    result = import_mcp_servers(json.dumps(VS_CODE), source="mcp.json")
    servers = {i.server.name: i for i in result.servers}
    assert set(servers) == {"perplexity", "events"}
    assert servers["perplexity"].secrets == {("env", "PERPLEXITY_API_KEY"): ""}
    assert servers["events"].server.transport == "sse"
    assert any("PERPLEXITY_API_KEY comes from a VS Code prompt (${input:api-key})" in n for n in result.notes)
    assert "'weird' was skipped: azassist does not know the server type 'websocket'." in result.notes


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("{not json", "mcp.json is not valid JSON (Expecting property name enclosed in double quotes at line 1)."),
        ('{"other": 1}', "mcp.json has no 'mcpServers' (Claude Desktop) or 'servers' (VS Code) section."),
    ],
)
def test_files_that_are_not_server_lists_say_why(text: str, note: str) -> None:
    result = import_mcp_servers(text, source="mcp.json")
    assert result.servers == [] and result.notes == [note]


def test_secret_names() -> None:
    for name in ("Authorization", "GITHUB_TOKEN", "X-Api-Key", "OPENAI_API_KEY", "DB_PASSWORD", "GITHUB_PAT", "Cookie"):
        assert looks_secret(name), name
    for name in ("LOG_LEVEL", "PATH", "Accept", "HOME", "PATHEXT"):
        assert not looks_secret(name), name
    assert unique_name("time", {"time", "time 2"}) == "time 3"


def test_imported_secrets_go_to_the_keyring_and_never_to_the_settings_file(
    secret_service: SecretService, tmp_path: Path
) -> None:
    vault = McpSecrets()
    stored = [store_with_secrets(i.server, i.secrets, vault) for i in import_mcp_servers(json.dumps(CLAUDE_DESKTOP)).servers]
    settings = Settings.model_validate({"tools": {"mcp_servers": [s.model_dump() for s in stored]}})
    SettingsStore(tmp_path / "settings.json").save(settings)
    text = (tmp_path / "settings.json").read_text()
    assert "ghp_" not in text and "sk-remote" not in text
    github = next(s for s in stored if s.name == "github")
    assert github.env == {"LOG_LEVEL": "info"} and github.secret_env == ["GITHUB_PERSONAL_ACCESS_TOKEN"]
    env, _headers = vault.resolved(github)
    assert env["GITHUB_PERSONAL_ACCESS_TOKEN"] == "ghp_" + "x" * 36
    remote = next(s for s in stored if s.name == "remote")
    assert vault.resolved(remote)[1] == {"Authorization": "Bearer sk-remote-123456"}
    vault.delete_all(github)
    with pytest.raises(Exception, match="is not in the keyring; enter it again in Settings › Tools"):
        vault.resolved(github)


def test_two_servers_of_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two MCP servers are called 'time'"):
        Settings.model_validate({"tools": {"mcp_servers": [{"name": "time", "command": "a"}, {"name": "Time", "command": "b"}]}})


def test_the_mcp_sdk_loads_only_when_a_server_is_enabled() -> None:
    """Start-up and a connection without MCP servers never import it (it is ~0.3 s)."""
    code = (
        "import sys\n"
        "from azassist.core.settings import Settings\n"
        "from azassist.core.tools.builtin import ToolEnv\n"
        "from azassist.core.tools.timers import TimerBook\n"
        "from azassist.core.tools.toolbox import Toolbox\n"
        "box = Toolbox(ToolEnv(TimerBook()), report=print)\n"
        "plain = Settings.model_validate({'tools': {'mcp_servers': [{'name': 'off', 'command': 'x', 'enabled': False}]}})\n"
        "assert len(box.tools_for(plain.tools)) == 7\n"
        "assert 'mcp' not in sys.modules and 'livekit.agents.llm.mcp' not in sys.modules, 'loaded too early'\n"
        "on = Settings.model_validate({'tools': {'mcp_servers': [{'name': 'on', 'command': 'x'}]}})\n"
        "assert len(box.tools_for(on.tools)) == 8\n"
        "assert 'mcp' in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr
