"""The API key field: typed here, kept in the system keyring, never in a file.

The field names the keyring that holds the key. When no keyring works, it offers to use the
key for this run only (memory), never a plain-text fallback.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from azassist.core.credentials import CredentialError, CredentialStore
from azassist.core.secrets import Secret
from azassist.ui.widgets import set_style_property


class ApiKeyField(QWidget):
    """Password box, where the key is kept, and what happened when it was saved."""

    keyReady = Signal(str)  # host: a key is available for it (saved or for this run)

    def __init__(self, credentials: CredentialStore, *, show_save_button: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.credentials = credentials
        self.host = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        row = QHBoxLayout()
        self.line = QLineEdit()
        self.line.setEchoMode(QLineEdit.EchoMode.Password)
        self.line.setAccessibleName("API key")
        self.line.setAccessibleDescription("Your Azure OpenAI key; it is stored in the system keyring")
        self.line.setPlaceholderText("Paste your key (Azure portal › your resource › Keys and Endpoint)")
        self._reveal = QAction("Show", self.line)
        self._reveal.setCheckable(True)
        self._reveal.setToolTip("Show or hide the key")
        self._reveal.toggled.connect(self._toggle_reveal)
        self.line.addAction(self._reveal, QLineEdit.ActionPosition.TrailingPosition)
        self.line.returnPressed.connect(lambda: self.save(self.host))
        row.addWidget(self.line, 1)
        self.save_button = QPushButton("Save key")
        self.save_button.setAccessibleName("Save the API key in the keyring")
        self.save_button.clicked.connect(lambda: self.save(self.host))
        self.save_button.setVisible(show_save_button)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        self.status = QLabel()
        self.status.hide()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("API key status")
        layout.addWidget(self.status)
        self.run_only_button = QPushButton("Use for this run only")
        self.run_only_button.setAccessibleName("Use the key for this run only, without saving it")
        self.run_only_button.clicked.connect(lambda: self.use_for_this_run(self.host))
        self.run_only_button.hide()
        layout.addWidget(self.run_only_button)
        self.backend = QLabel()
        self.backend.setProperty("role", "hint")
        self.backend.setWordWrap(True)
        layout.addWidget(self.backend)
        self.refresh_backend()

    def _toggle_reveal(self, shown: bool) -> None:
        self.line.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self._reveal.setText("Hide" if shown else "Show")

    def refresh_backend(self) -> None:
        name = self.credentials.backend_name()
        if name == "none available":
            self.backend.setText(
                "No system keyring is available, so the key cannot be saved. You can use it for this run only."
            )
        else:
            self.backend.setText(f"Keys are kept in the system keyring: {name}. Never in a file.")

    def _say(self, text: str, role: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        set_style_property(self.status, "role", role)

    def typed_key(self) -> Secret | None:
        key = Secret(self.line.text())
        return key if key else None

    def set_host(self, host: str) -> None:
        """Say whether a key is already kept for this endpoint."""
        self.host = host
        self.run_only_button.hide()
        if not host:
            self._say("", "hint")
            return
        try:
            saved = self.credentials.get_api_key(host)
        except CredentialError as exc:
            # With no keyring at all the line below the field already says so.
            unavailable = self.credentials.backend_name() == "none available"
            self._say("" if unavailable else exc.message, "error")
            return
        if saved:
            self.line.setPlaceholderText("A key is saved for this endpoint; type a new one to replace it")
            self._say(f"A key for {host} is saved.", "success")
        else:
            self.line.setPlaceholderText("Paste your key (Azure portal › your resource › Keys and Endpoint)")
            self._say(f"No key is saved for {host} yet.", "hint")

    def has_key(self, host: str) -> bool:
        try:
            return bool(self.credentials.get_api_key(host))
        except CredentialError:
            return False

    def save(self, host: str) -> bool:
        """Store the typed key for ``host``; on a keyring failure offer this run only.

        Returns True when a key is available for ``host`` afterwards.
        """
        self.host = host
        key = self.typed_key()
        if key is None:
            if self.has_key(host):
                return True
            self._say("Enter the API key first.", "error")
            return False
        if not host:
            self._say("Enter the endpoint first: the key is kept for that endpoint.", "error")
            return False
        try:
            self.credentials.set_api_key(host, key)
        except CredentialError as exc:
            self._say(exc.message, "error")
            self.run_only_button.show()
            return False
        self.line.clear()
        self.run_only_button.hide()
        self._say(f"Saved in {self.credentials.backend_name()} for {host}.", "success")
        self.keyReady.emit(host)
        return True

    def use_for_this_run(self, host: str) -> bool:
        key = self.typed_key()
        if key is None or not host:
            self._say("Enter the endpoint and the key first.", "error")
            return False
        self.credentials.use_for_this_run(host, key)
        self.line.clear()
        self.run_only_button.hide()
        self._say("Using the key for this run only; azassist forgets it when it closes.", "success")
        self.keyReady.emit(host)
        return True
