"""Settings › Connection in Microsoft Entra ID mode: Sign in, Sign out, who is signed in.

The sign-in itself runs in ``azassist.core.entra`` on a worker thread (azure-identity is
sync); this widget only starts it on the qasync loop and shows its states: "Waiting for
sign-in in your browser…" with Cancel, or the device code and its URL with a copy button.
The device-code prompt arrives on that worker thread, so it crosses to the UI thread
through a queued signal. The saved sign-in (a non-secret AuthenticationRecord) goes into
settings through the settings editor; tokens never leave the provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QHideEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from azassist.core.auth import TokenError
from azassist.core.entra import DeviceCodePrompt, EntraTokenProvider, shared_provider
from azassist.core.settings import AuthMode, Settings, SignInMethod
from azassist.ui.settings_form import SettingsEditor, field_specs

log = logging.getLogger(__name__)

WAITING = {
    SignInMethod.BROWSER: "Waiting for sign-in in your browser…",
    SignInMethod.DEVICE_CODE: "Waiting for you to enter the code…",
    SignInMethod.AZURE_CLI: "Asking the Azure CLI for your sign-in…",
}


def record_username(record: str) -> str:
    """The account name in a saved AuthenticationRecord ('' if none or unreadable)."""
    try:
        data = json.loads(record) if record else {}
    except ValueError:
        return ""
    return str(data.get("username", "")) if isinstance(data, dict) else ""


class _Bridge(QObject):
    """Carries the device-code prompt from azure-identity's worker thread to the UI thread."""

    prompt = Signal(object)


class EntraSignIn(QWidget):
    """Sign in / Sign out / the signed-in account, for the connection settings being edited."""

    signedIn = Signal(str)  # the account's label
    signedOut = Signal()

    def __init__(
        self,
        editor: SettingsEditor,
        *,
        provider_for: Callable[[Settings], EntraTokenProvider] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.editor = editor
        self._provider_for = provider_for or (lambda settings: shared_provider(settings.connection))
        self._provider: EntraTokenProvider | None = None
        self._task: asyncio.Future[None] | None = None
        self._bridge = _Bridge(self)
        self._bridge.prompt.connect(self._show_prompt, Qt.ConnectionType.QueuedConnection)
        self._record_spec = next(spec for spec in field_specs("connection") if spec.name == "entra_record")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.account_label = QLabel()
        self.account_label.setObjectName("entraAccount")
        self.account_label.setAccessibleName("Signed-in account")
        self.account_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setAccessibleName("Sign in with Microsoft Entra ID")
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.clicked.connect(self.sign_out)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel sign-in")
        self.cancel_button.clicked.connect(self.cancel)
        self.account_label.setWordWrap(True)
        layout.addWidget(self.account_label)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.sign_in_button)
        top.addWidget(self.sign_out_button)
        top.addWidget(self.cancel_button)
        top.addStretch(1)
        layout.addLayout(top)

        self.waiting_label = QLabel()
        self.waiting_label.setProperty("role", "hint")
        layout.addWidget(self.waiting_label)

        self.code_box = QFrame()
        self.code_box.setObjectName("entraDeviceCode")
        self.code_box.setFrameShape(QFrame.Shape.StyledPanel)
        code_layout = QHBoxLayout(self.code_box)
        self.code_text = QLabel()
        self.code_text.setWordWrap(True)
        self.code_text.setMinimumWidth(200)
        self.code_text.setTextFormat(Qt.TextFormat.RichText)
        self.code_text.setOpenExternalLinks(True)
        self.code_text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.code_text.setAccessibleName("Device code sign-in instructions")
        self.copy_button = QPushButton("Copy code")
        self.copy_button.clicked.connect(self._copy_code)
        code_layout.addWidget(self.code_text, 1)
        code_layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.code_box)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Sign-in message")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.message.hide()

        self._prompt: DeviceCodePrompt | None = None
        editor.draftChanged.connect(self._on_draft)
        self._on_draft(editor.draft)

    # --- state ------------------------------------------------------------------------------

    @property
    def provider(self) -> EntraTokenProvider:
        if self._provider is None:
            self._provider = self._attach(self._provider_for(self.editor.draft))
        return self._provider

    def _attach(self, provider: EntraTokenProvider) -> EntraTokenProvider:
        provider.on_device_code = self._bridge.prompt.emit  # called on the worker thread
        provider.on_record = self._save_record
        return provider

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _on_draft(self, settings: Settings) -> None:
        if settings.connection.auth_mode is not AuthMode.ENTRA_ID:
            return
        provider = self._provider_for(settings)
        if provider is not self._provider and not self.busy:
            self._provider = self._attach(provider)
        self._refresh()

    def _refresh(self) -> None:
        provider = self.provider
        busy = self.busy
        account = provider.account.label if provider.account else record_username(self.editor.draft.connection.entra_record)
        if busy:
            self.account_label.setText("Signing in…")
        elif account:
            self.account_label.setText(f"Signed in as <b>{_escape(account)}</b>")
        else:
            self.account_label.setText("Not signed in")
        self.sign_in_button.setVisible(not busy)
        self.sign_in_button.setText("Sign in again" if account and not busy else "Sign in")
        self.sign_out_button.setVisible(bool(account) and not busy)
        self.cancel_button.setVisible(busy)
        method = self.editor.draft.connection.entra_method
        self.waiting_label.setText(WAITING[method] if busy else "")
        self.waiting_label.setVisible(busy and (method is not SignInMethod.DEVICE_CODE or self._prompt is None))
        self.code_box.setVisible(busy and self._prompt is not None)

    # --- actions ----------------------------------------------------------------------------

    def sign_in(self) -> None:
        if self.busy:
            return
        self._prompt = None
        self._say("")
        self._task = asyncio.ensure_future(self._sign_in(self.provider))
        self._refresh()

    async def _sign_in(self, provider: EntraTokenProvider) -> None:
        try:
            account = await provider.sign_in()
        except TokenError as exc:
            log.info("Entra ID sign-in failed: %s (%s)", exc.message, exc.detail)
            self._finish(exc.message)
            return
        except Exception as exc:  # never let a sign-in bug take the window down
            log.exception("Entra ID sign-in failed unexpectedly")
            self._finish(f"Sign-in failed: {exc}")
            return
        note = provider.cache_note or ""
        self._finish(note)
        self.signedIn.emit(account.label)

    def _finish(self, message: str) -> None:
        self._task = None
        self._prompt = None
        self._say(message)
        self._refresh()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def hideEvent(self, event: QHideEvent) -> None:
        """Closing Settings cancels a sign-in in progress: its worker thread must not outlive
        the window (the loop's executor waits for it at exit)."""
        if self.busy:
            self.cancel()
        super().hideEvent(event)

    def cancel(self) -> None:
        if self._provider is not None:
            self._provider.cancel()  # the sign-in call raises 'Sign-in was cancelled' shortly

    def sign_out(self) -> None:
        self.provider.sign_out()
        self._save_record("")
        self._say("Signed out.")
        self._refresh()
        self.signedOut.emit()

    def _save_record(self, record: str) -> None:
        if record != self.editor.draft.connection.entra_record:
            self.editor.propose(self._record_spec, record)

    def _show_prompt(self, prompt: DeviceCodePrompt) -> None:
        if not self.busy:
            return
        self._prompt = prompt
        self.copy_button.setText("Copy code")
        uri = _escape(prompt.verification_uri)
        self.code_text.setText(
            f'Open <a href="{uri}">{uri}</a> on any device and enter the code '
            f'<b style="font-size: 14pt; letter-spacing: 2px">{_escape(prompt.user_code)}</b>'
        )
        self._refresh()

    def _copy_code(self) -> None:
        if self._prompt is not None:
            QGuiApplication.clipboard().setText(self._prompt.user_code)
            self.copy_button.setText("Copied")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
