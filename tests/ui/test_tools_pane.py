"""Settings › Tools: the built-in switches and the MCP server list (add, edit, test, import,
enable, remove) in the real settings dialog, secrets in a real keyring, a real MCP server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from azassist.core.credentials import CredentialStore, Secret
from azassist.core.settings import Settings, SettingsStore
from azassist.core.tools.mcp_config import McpSecrets
from azassist.ui.session import TestResult
from azassist.ui.settings_dialog import PresetStore, SettingsDialog
from azassist.ui.settings_form import SettingsEditor
from azassist.ui.tools_pane import KEPT, McpServersPane, ServerDialog
from tests.support.services import SecretService

from .conftest import until

TIME_SERVER = Path(sys.executable).parent / "mcp-server-time"
CLAUDE = {
    "mcpServers": {
        "time": {"command": str(TIME_SERVER), "args": ["--local-timezone", "UTC"]},
        "github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_" + "z" * 36}},
    }
}


def saved(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def dialog(qtbot: QtBot, tmp_path: Path, secret_service: SecretService) -> SettingsDialog:
    async def no_test(settings: Settings, key: Secret | None) -> TestResult:
        raise AssertionError("not used here")

    editor = SettingsEditor(Settings(), SettingsStore(tmp_path / "settings.json"))
    made = SettingsDialog(
        editor, CredentialStore(), test_connection=no_test,
        list_devices=lambda direction: [f"Virtual {direction} device"], presets=PresetStore(tmp_path / "presets.json"),
    )
    qtbot.addWidget(made)
    made.show()
    made.show_group("tools")
    return made


def pane_of(dialog: SettingsDialog) -> McpServersPane:
    pane: McpServersPane = dialog.mcp_servers
    return pane


def fill(server_dialog: ServerDialog, **values: str) -> None:
    for name, value in values.items():
        widget = getattr(server_dialog, name)
        if hasattr(widget, "setPlainText"):
            widget.setPlainText(value)
        else:
            widget.setText(value)


def test_the_tools_pane_has_the_switches_and_the_server_list(dialog: SettingsDialog, tmp_path: Path) -> None:
    form = dialog.forms["tools"]
    assert list(form.rows) == ["clock", "timers", "clipboard", "open_url"]
    assert form.extras["mcp_servers"].isVisible()
    form.rows["clipboard"].editor.focus_widget().click()  # a switch saves at once
    assert saved(tmp_path / "settings.json")["tools"]["clipboard"] is False


def test_importing_a_claude_desktop_file_keeps_its_token_in_the_keyring(dialog: SettingsDialog, tmp_path: Path) -> None:
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(json.dumps(CLAUDE))
    pane = pane_of(dialog)
    assert pane.import_from(source) == ["time", "github"]
    assert [pane.list.item(i).text().split("  —  ")[0] for i in range(pane.list.count())] == ["time", "github"]
    assert pane.result.text().startswith("✔ Imported 2 servers from claude_desktop_config.json: time, github.")
    text = (tmp_path / "settings.json").read_text()
    assert "ghp_" not in text
    github = saved(tmp_path / "settings.json")["tools"]["mcp_servers"][1]
    assert github["secret_env"] == ["GITHUB_PERSONAL_ACCESS_TOKEN"] and github["env"] == {}
    assert McpSecrets().get("github", "env", "GITHUB_PERSONAL_ACCESS_TOKEN") == Secret("ghp_" + "z" * 36)
    # importing again never overwrites: the names get a number
    assert pane.import_from(source) == ["time 2", "github 2"]


@pytest.mark.asyncio
async def test_add_test_set_a_rule_disable_and_remove_a_server(dialog: SettingsDialog, tmp_path: Path) -> None:
    pane = pane_of(dialog)
    pane.add_button.click()
    editor = pane.dialog
    assert editor is not None
    fill(editor, name="clock", command=str(TIME_SERVER), args="--local-timezone UTC", env=f"TZ_HINT=x\nAPI_TOKEN=tok-{'4' * 20}")
    editor.timeout.setValue(30)
    editor.save()
    assert pane.list.count() == 1 and pane.result.text().startswith("Saved 'clock'")
    stored = saved(tmp_path / "settings.json")["tools"]["mcp_servers"][0]
    assert stored["env"] == {"TZ_HINT": "x"} and stored["secret_env"] == ["API_TOKEN"] and stored["timeout_s"] == 30
    assert "tok-" not in (tmp_path / "settings.json").read_text()

    status = await pane.test_selected()  # the real server, started and listed
    assert status is not None and status.ok, status
    assert pane.result.text().startswith("✔ clock: 2 tools: ")
    assert set(pane.known_tools["clock"]) == {"get_current_time", "convert_time"}

    pane.edit_button.click()
    editor = pane.dialog
    assert editor is not None
    assert f"API_TOKEN={KEPT}" in editor.env.toPlainText()  # the secret shows as dots
    combo = editor.policies["convert_time"]
    combo.setCurrentIndex(combo.findData("block"))
    editor.save()
    stored = saved(tmp_path / "settings.json")["tools"]["mcp_servers"][0]
    assert stored["policies"] == {"convert_time": "block"} and stored["secret_env"] == ["API_TOKEN"]
    assert McpSecrets().get("clock", "env", "API_TOKEN") == Secret(f"tok-{'4' * 20}")  # kept as it was

    pane.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert saved(tmp_path / "settings.json")["tools"]["mcp_servers"][0]["enabled"] is False
    pane.remove_button.click()
    assert saved(tmp_path / "settings.json")["tools"]["mcp_servers"] == []
    assert McpSecrets().get("clock", "env", "API_TOKEN") is None


@pytest.mark.asyncio
async def test_a_missing_program_is_said_by_test(dialog: SettingsDialog) -> None:
    pane = pane_of(dialog)
    pane.add_button.click()
    assert pane.dialog is not None
    fill(pane.dialog, name="ghost", command="/nonexistent/azassist-mcp")
    pane.dialog.save()
    await pane.test_selected()
    await until(lambda: "was not found" in pane.result.text(), what="the plain words")
    assert pane.result.text().startswith("✖ The MCP server 'ghost' could not start")


def test_the_editor_refuses_what_cannot_start(dialog: SettingsDialog) -> None:
    pane = pane_of(dialog)
    pane.add_button.click()
    editor = pane.dialog
    assert editor is not None
    editor.kind.setCurrentIndex(editor.kind.findData("streamable_http"))
    fill(editor, name="web", url="ftp://example.org")
    editor.save()
    assert editor.isVisible() and "needs an address starting with http" in editor.error.text()
    fill(editor, name="bad/name", url="https://example.org/mcp")
    editor.save()
    assert "letters, digits" in editor.error.text()
    assert not editor.command.isVisible() and editor.url.isVisible()  # only the fields of its kind


def test_import_opens_where_claude_desktop_keeps_its_file(
    dialog: SettingsDialog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    home = tmp_path / "home"
    config = home / ".config" / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps(CLAUDE))
    monkeypatch.setenv("HOME", str(home))
    asked: list[str] = []

    def pick(_parent: object, _title: str, start: str, _filter: str) -> tuple[str, str]:
        asked.append(start)  # the system's file picker is not under test: the user picks the offered file
        return start, ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(pick))
    pane = pane_of(dialog)
    pane.import_button.click()
    assert asked == [str(config)]
    assert pane.list.count() == 2
