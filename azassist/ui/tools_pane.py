"""Settings › Tools › MCP servers: the list, add / edit / remove, enable, Test, Import.

The built-in tools' switches above it are generated from the schema like every pane; this
is the one part that is a list of records. Secret header and environment values (tokens,
keys, passwords, by their names) go to the keyring when saved and show as dots afterwards;
the settings file keeps only their names. Test and Import run on the loop, never blocking.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from azassist.core.credentials import CredentialError
from azassist.core.tools.mcp_config import (
    McpSecrets,
    McpServerSettings,
    SecretKind,
    import_file,
    looks_secret,
    store_with_secrets,
    unique_name,
)
from azassist.core.tools.policy import ToolPolicy, ToolServerStatus
from azassist.ui.settings_form import FieldSpec, SettingsEditor, group_model, plain_messages
from azassist.ui.widgets import set_style_property

log = logging.getLogger(__name__)

KEPT = "••••••••"  # a secret already in the keyring, left as it is
TRANSPORTS = (
    ("stdio", "A program on this computer (stdio)"),
    ("streamable_http", "A web address (streamable HTTP)"),
    ("sse", "A web address (SSE, older servers)"),
)
POLICY_LABELS = {
    ToolPolicy.AUTO: "Ask unless it only reads",
    ToolPolicy.ASK: "Always ask",
    ToolPolicy.ALLOW: "Never ask",
    ToolPolicy.BLOCK: "Off",
}
Tester = Callable[[McpServerSettings, McpSecrets], Awaitable[ToolServerStatus]]


async def _test_server(config: McpServerSettings, secrets: McpSecrets) -> ToolServerStatus:
    from azassist.core.tools.mcp_servers import test_server  # LiveKit and the MCP SDK: only now

    return await test_server(config, secrets)


def _pairs(text: str, separator: str) -> dict[str, str]:
    """'NAME=value' (or 'Name: value') lines; blank lines skipped."""
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, found, value = line.partition(separator)
        if not found or not name.strip():
            raise ValueError(f"'{line.strip()}' is not of the form name{separator}value")
        pairs[name.strip()] = value.strip()
    return pairs


class ServerDialog(QDialog):
    """Add or edit one MCP server."""

    def __init__(self, server: McpServerSettings | None, known_tools: tuple[str, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mcpServerDialog")
        self.setWindowTitle("Edit MCP server" if server else "Add MCP server")
        self.original = server
        self.result_server: McpServerSettings | None = None
        self.result_secrets: dict[tuple[SecretKind, str], str] = {}
        layout = QVBoxLayout(self)
        form = self._form = QFormLayout()
        self.name = QLineEdit(server.name if server else "")
        self.kind = QComboBox()
        for value, label in TRANSPORTS:
            self.kind.addItem(label, value)
        self.kind.setCurrentIndex(max(0, self.kind.findData(server.transport if server else "stdio")))
        self.command = QLineEdit(server.command if server else "")
        self.command.setPlaceholderText("uvx, npx, docker, or a full path")
        self.args = QLineEdit(shlex.join(server.args) if server else "")
        self.args.setPlaceholderText("e.g. mcp-server-time --local-timezone Europe/Paris")
        self.cwd = QLineEdit(server.cwd if server else "")
        self.env = QPlainTextEdit(self._lines(server, "env") if server else "")
        self.env.setPlaceholderText("NAME=value, one a line (tokens and keys go to the keyring)")
        self.env.setFixedHeight(64)
        self.url = QLineEdit(server.url if server else "")
        self.url.setPlaceholderText("https://example.com/mcp")
        self.headers = QPlainTextEdit(self._lines(server, "header") if server else "")
        self.headers.setPlaceholderText("Name: value, one a line (Authorization and keys go to the keyring)")
        self.headers.setFixedHeight(64)
        self.timeout = QSpinBox()
        self.timeout.setRange(1, 300)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(round(server.timeout_s) if server else 10)
        self.timeout.setToolTip("How long it may take to start, and to answer each call (uvx and npx may download first)")
        self.rows: dict[str, QWidget] = {}
        for label, widget in (
            ("Name", self.name), ("Kind", self.kind), ("Command", self.command), ("Arguments", self.args),
            ("Working folder", self.cwd), ("Environment", self.env), ("Address", self.url), ("Headers", self.headers),
            ("Timeout", self.timeout),
        ):
            widget.setAccessibleName(label)
            form.addRow(label, widget)
            self.rows[label] = widget
        self.policies: dict[str, QComboBox] = {}
        for tool in sorted(set(known_tools) | set(server.policies if server else ())):
            combo = QComboBox()
            for policy, label in POLICY_LABELS.items():
                combo.addItem(label, policy.value)
            combo.setCurrentIndex(combo.findData((server.policy_for(tool) if server else ToolPolicy.AUTO).value))
            combo.setAccessibleName(f"Confirmation for {tool}")
            form.addRow(f"Tool {tool}", combo)
            self.policies[tool] = combo
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setWordWrap(True)
        set_style_property(self.error, "role", "error")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    @staticmethod
    def _lines(server: McpServerSettings, kind: SecretKind) -> str:
        plain, secret, separator = (
            (server.env, server.secret_env, "=") if kind == "env" else (server.headers, server.secret_headers, ": ")
        )
        lines = [f"{k}{separator}{v}" for k, v in plain.items()] + [f"{k}{separator}{KEPT}" for k in secret]
        return "\n".join(lines)

    def _kind_changed(self) -> None:
        http = self.kind.currentData() != "stdio"
        for label in ("Command", "Arguments", "Working folder", "Environment"):
            self._show_row(label, not http)
        for label in ("Address", "Headers"):
            self._show_row(label, http)

    def _show_row(self, label: str, shown: bool) -> None:
        widget = self.rows[label]
        widget.setVisible(shown)
        caption = self._form.labelForField(widget)
        if caption is not None:
            caption.setVisible(shown)

    def save(self) -> None:
        try:
            env, headers = _pairs(self.env.toPlainText(), "="), _pairs(self.headers.toPlainText(), ":")
            args = shlex.split(self.args.text())
        except ValueError as exc:
            self._fail(str(exc))
            return
        original = self.original
        secrets: dict[tuple[SecretKind, str], str] = {}
        plain_env: dict[str, str] = {}
        plain_headers: dict[str, str] = {}
        groups: list[tuple[SecretKind, dict[str, str], dict[str, str], set[str]]] = [
            ("env", env, plain_env, set(original.secret_env) if original else set()),
            ("header", headers, plain_headers, set(original.secret_headers) if original else set()),
        ]
        for kind, values, plain, kept in groups:
            for name, value in values.items():
                if value == KEPT and name in kept:
                    secrets[(kind, name)] = ""  # stays in the keyring as it is
                elif looks_secret(name) or name in kept:
                    secrets[(kind, name)] = value
                else:
                    plain[name] = value
        try:
            server = McpServerSettings(
                name=self.name.text(), transport=self.kind.currentData(), command=self.command.text().strip(),
                args=args, cwd=self.cwd.text().strip(), env=plain_env, url=self.url.text().strip(), headers=plain_headers,
                enabled=original.enabled if original else True,
                policies={tool: ToolPolicy(combo.currentData()) for tool, combo in self.policies.items()
                          if combo.currentData() != ToolPolicy.AUTO.value},
                timeout_s=float(self.timeout.value()),
            )
        except ValidationError as exc:
            self._fail(" ".join(plain_messages(exc)))
            return
        problem = server.problem()
        if problem:
            self._fail(problem)
            return
        self.result_server, self.result_secrets = server, secrets
        self.accept()

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()


class McpServersPane(QWidget):
    """The list of MCP servers with its buttons; edits go through the settings editor."""

    def __init__(
        self,
        editor: SettingsEditor,
        *,
        secrets: McpSecrets | None = None,
        tester: Tester = _test_server,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mcpServersPane")
        self.editor = editor
        self._secrets = secrets
        self.tester = tester
        self.known_tools: dict[str, tuple[str, ...]] = {}
        self.spec = FieldSpec.from_field("tools", "mcp_servers", group_model("tools").model_fields["mcp_servers"])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("mcpServerList")
        self.list.setAccessibleName("MCP servers")
        self.list.setMinimumHeight(90)
        self.list.setMaximumHeight(150)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long command paths: the middle goes
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemChanged.connect(self._toggled)
        self.list.itemDoubleClicked.connect(lambda _item: self.edit_selected())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.add_button = QPushButton("&Add…")
        self.edit_button = QPushButton("&Edit…")
        self.remove_button = QPushButton("&Remove")
        self.test_button = QPushButton("&Test")
        self.import_button = QPushButton("&Import…")
        self.import_button.setToolTip("Claude Desktop's claude_desktop_config.json or VS Code's mcp.json")
        self.add_button.clicked.connect(lambda: self.open_editor(None))
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.test_button.clicked.connect(lambda: asyncio.ensure_future(self.test_selected()))
        self.import_button.clicked.connect(self._choose_import)
        for button in (self.add_button, self.edit_button, self.remove_button, self.test_button, self.import_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.result = QLabel("Servers start when you connect; each one's tools are listed by Test.")
        self.result.setObjectName("mcpResult")
        self.result.setWordWrap(True)
        self.result.setAccessibleName("MCP server result")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setProperty("role", "hint")
        layout.addWidget(self.result)
        self.dialog: ServerDialog | None = None  # the open add/edit dialog (tests answer it)
        editor.reloaded.connect(lambda _s: self.reload())
        self.reload()

    @property
    def secrets(self) -> McpSecrets:
        if self._secrets is None:
            self._secrets = McpSecrets()
        return self._secrets

    @property
    def servers(self) -> list[McpServerSettings]:
        return self.editor.draft.tools.servers

    def reload(self) -> None:
        self.list.blockSignals(True)
        current = self.list.currentRow()
        self.list.clear()
        for server in self.servers:
            item = QListWidgetItem(f"{server.name}  —  {server.describe()}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if server.enabled else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, server.name)
            item.setToolTip(f"{server.describe()}\nChecked: its tools are offered to the assistant when you connect")
            self.list.addItem(item)
        self.list.setCurrentRow(min(max(current, 0), self.list.count() - 1))
        self.list.blockSignals(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.list.currentRow() >= 0
        for button in (self.edit_button, self.remove_button, self.test_button):
            button.setEnabled(selected)

    def _selected(self) -> McpServerSettings | None:
        row = self.list.currentRow()
        servers = self.servers
        return servers[row] if 0 <= row < len(servers) else None

    def _save(self, servers: list[McpServerSettings]) -> bool:
        problem = self.editor.propose(self.spec, [s.model_dump(mode="json") for s in servers])
        if problem:
            self.show_result(False, problem)
            return False
        self.reload()
        return True

    def show_result(self, ok: bool | None, message: str) -> None:
        prefix = "" if ok is None else ("✔ " if ok else "✖ ")
        self.result.setText(prefix + message)
        set_style_property(self.result, "role", "hint" if ok is None else ("success" if ok else "error"))

    def _toggled(self, item: QListWidgetItem) -> None:
        servers = self.servers
        name = item.data(Qt.ItemDataRole.UserRole)
        enabled = item.checkState() == Qt.CheckState.Checked
        self._save([s.model_copy(update={"enabled": enabled}) if s.name == name else s for s in servers])

    def _store_secrets(self, server: McpServerSettings, secrets: dict[tuple[SecretKind, str], str]) -> McpServerSettings | None:
        try:
            return store_with_secrets(server, secrets, self.secrets)
        except CredentialError as exc:
            self.show_result(False, f"{exc.message} The server was not saved.")
            return None

    def open_editor(self, server: McpServerSettings | None) -> ServerDialog:
        known = self.known_tools.get(server.name, ()) if server else ()
        dialog = ServerDialog(server, known, self)
        self.dialog = dialog
        dialog.accepted.connect(lambda: self._edited(server, dialog))
        dialog.finished.connect(lambda _code: setattr(self, "dialog", None))
        dialog.open()
        return dialog

    def _edited(self, before: McpServerSettings | None, dialog: ServerDialog) -> None:
        server = dialog.result_server
        if server is None:
            return
        others = [s for s in self.servers if before is None or s.name != before.name]
        if server.name.lower() in {s.name.lower() for s in others}:
            self.show_result(False, f"There is already a server called '{server.name}'.")
            return
        if before is not None and before.name != server.name:
            # secrets live under the server's name: move the kept ones
            moved = self._move_secrets(before, server, dialog.result_secrets)
            if moved is None:
                return
            dialog.result_secrets = moved
        stored = self._store_secrets(server, {k: v for k, v in dialog.result_secrets.items() if v})
        if stored is None:
            return
        kept = {name for (kind, name), v in dialog.result_secrets.items() if not v and kind == "env"}
        kept_headers = {name for (kind, name), v in dialog.result_secrets.items() if not v and kind == "header"}
        stored = stored.model_copy(update={
            "secret_env": sorted(set(stored.secret_env) | kept),
            "secret_headers": sorted(set(stored.secret_headers) | kept_headers),
        })
        if before is not None:
            for name in set(before.secret_env) - set(stored.secret_env):
                self.secrets.delete(before.name, "env", name)
            for name in set(before.secret_headers) - set(stored.secret_headers):
                self.secrets.delete(before.name, "header", name)
        servers = self.servers
        if before is None:
            servers.append(stored)
        else:
            servers = [stored if s.name == before.name else s for s in servers]
        if self._save(servers):
            self.show_result(None, f"Saved '{stored.name}'. It starts when you connect (or reconnect).")

    def _move_secrets(
        self, before: McpServerSettings, after: McpServerSettings, secrets: dict[tuple[SecretKind, str], str]
    ) -> dict[tuple[SecretKind, str], str] | None:
        moved = dict(secrets)
        try:
            for (kind, name), value in secrets.items():
                if not value:
                    old = self.secrets.get(before.name, kind, name)
                    moved[(kind, name)] = old.reveal() if old else ""
        except CredentialError as exc:
            self.show_result(False, exc.message)
            return None
        return moved

    def edit_selected(self) -> None:
        server = self._selected()
        if server is not None:
            self.open_editor(server)

    def remove_selected(self) -> None:
        server = self._selected()
        if server is None:
            return
        try:
            self.secrets.delete_all(server)
        except CredentialError as exc:
            log.warning("could not remove the secrets of %s: %s", server.name, exc.detail)
        if self._save([s for s in self.servers if s.name != server.name]):
            self.show_result(None, f"Removed '{server.name}'.")

    async def test_selected(self) -> ToolServerStatus | None:
        server = self._selected()
        if server is None:
            return None
        self.test_button.setEnabled(False)
        self.show_result(None, f"Starting '{server.name}'…")
        try:
            status = await self.tester(server, self.secrets)
        except Exception as exc:  # a bug must not leave the button dead
            log.exception("MCP test failed")
            status = ToolServerStatus(server.name, False, f"The test could not run: {type(exc).__name__}.")
        finally:
            self.test_button.setEnabled(True)
        if status.ok:
            self.known_tools[server.name] = status.tools
            self.show_result(True, f"{server.name}: {status.message}")
        else:
            self.show_result(False, status.message)
        return status

    def _choose_import(self) -> None:
        start = str(next((path for path in _known_config_files() if path.exists()), Path.home()))
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import MCP servers", start, "MCP server lists (*.json);;All files (*)"
        )
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path) -> list[str]:
        """Add the servers of a Claude Desktop or VS Code file (renamed if a name is taken);
        their secrets go to the keyring. Returns the names added."""
        result = import_file(path)
        servers = self.servers
        taken = {s.name for s in servers}
        notes = list(result.notes)
        added: list[str] = []
        for imported in result.servers:
            server = imported.server.model_copy(update={"name": unique_name(imported.server.name, taken)})
            stored = self._store_secrets(server, imported.secrets)
            if stored is None:
                notes.append(f"'{server.name}' was not imported: its secrets could not be kept in the keyring.")
                continue
            taken.add(stored.name)
            servers.append(stored)
            added.append(stored.name)
        if added and not self._save(servers):
            return []
        summary = f"Imported {len(added)} server{'' if len(added) == 1 else 's'} from {path.name}"
        summary += f": {', '.join(added)}." if added else "."
        self.show_result(bool(added), " ".join([summary, *notes]))
        return added


def _known_config_files() -> list[Path]:
    """Where Claude Desktop and VS Code keep their MCP servers: the import dialog opens there."""
    home = Path.home()
    appdata = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming"))
    return [
        home / ".config" / "Claude" / "claude_desktop_config.json",
        home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json",
        appdata / "Claude" / "claude_desktop_config.json",
        home / ".config" / "Code" / "User" / "mcp.json",
        home / "Library" / "Application Support" / "Code" / "User" / "mcp.json",
        appdata / "Code" / "User" / "mcp.json",
    ]


def add_to_settings(dialog: Any) -> McpServersPane:
    """Put the pane under the Tools switches of the settings dialog."""
    pane = McpServersPane(dialog.editor, parent=dialog)
    dialog.forms["tools"].add_widget_after("open_url", pane, "MCP servers", key="mcp_servers")
    return pane


__all__ = ["McpServersPane", "ServerDialog", "add_to_settings"]
