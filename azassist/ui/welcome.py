"""First run: connect to Azure (a form pre-filled from the environment) or try the offline demo."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from azassist.core.credentials import CredentialStore
from azassist.core.environment import EnvironmentOffer
from azassist.core.settings import AuthMode, Settings, with_value
from azassist.ui.api_key import ApiKeyField
from azassist.ui.resources import app_icon
from azassist.ui.settings_form import SettingsEditor, SettingsForm


class ChoiceButton(QPushButton):
    """A large button with a bold title and a quieter line saying what it means."""

    def __init__(self, title: str, detail: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bigChoice")
        self.setAccessibleName(title)
        self.setAccessibleDescription(detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 12, 20, 12)
        layout.setSpacing(2)
        layout.addStretch(1)
        for text, name in ((title, "choiceTitle"), (detail, "choiceDetail")):
            label = QLabel(text)
            label.setObjectName(name)
            label.setWordWrap(True)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(label)
        layout.addStretch(1)
        self.setMinimumHeight(layout.sizeHint().height())


def _centered(widget: QWidget, max_width: int) -> QWidget:
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.addStretch(1)
    widget.setMaximumWidth(max_width)
    row.addWidget(widget, 100)
    row.addStretch(1)
    return holder


class WelcomePage(QStackedWidget):
    """Two choices, then the connection form for the first."""

    connectRequested = Signal(object)  # Settings with a complete connection
    demoRequested = Signal()

    def __init__(self, settings: Settings, credentials: CredentialStore, offer: EnvironmentOffer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Welcome")
        self.credentials = credentials
        self.offer = offer
        self.editor = SettingsEditor(self._prefilled(settings, offer), store=None, live=False, parent=self)
        self.choices = self._build_choices()
        self.form_page = self._build_form()
        self.addWidget(self.choices)
        self.addWidget(self.form_page)

    @staticmethod
    def _prefilled(settings: Settings, offer: EnvironmentOffer) -> Settings:
        """Fill what the user has not set from AZURE_OPENAI_* (or .env); bad values are skipped."""
        for name, value in (("endpoint", offer.endpoint), ("deployment", offer.deployment), ("api_version", offer.api_version)):
            if value and not getattr(settings.connection, name):
                try:
                    settings = with_value(settings, "connection", name, value)
                except ValueError:
                    pass  # the form shows what the user must fix
        return settings

    def _build_choices(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.addStretch(2)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(icon)
        title = QLabel("Welcome to azassist")
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(title)
        subtitle = QLabel("Talk with your Azure OpenAI realtime deployment, hands-free or push-to-talk.")
        subtitle.setProperty("role", "subtitle")
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setWordWrap(True)
        column.addWidget(subtitle)
        column.addSpacing(24)
        self.connect_choice = ChoiceButton("Connect to Azure", "Use your Azure OpenAI resource and its key")
        self.demo_choice = ChoiceButton("Try the offline demo", "No account needed: a local stand-in answers, nothing leaves this computer")
        for button in (self.connect_choice, self.demo_choice):
            column.addWidget(_centered(button, 440))
            column.addSpacing(6)
        self.connect_choice.clicked.connect(self.show_form)
        self.demo_choice.clicked.connect(self.demoRequested)
        if self.offer.found:
            found = QLabel(f"Found Azure OpenAI settings in your {self.offer.source}: the form is pre-filled.")
            found.setProperty("role", "hint")
            found.setAlignment(Qt.AlignmentFlag.AlignCenter)
            column.addWidget(found)
        column.addStretch(3)
        return page

    def _build_form(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Connect to Azure")
        title.setProperty("role", "title")
        column.addWidget(title)
        note = QLabel(
            "Find these in the Azure AI Foundry portal: your resource's endpoint and key, and "
            "the name of your realtime model deployment."
            + (f" Pre-filled from your {self.offer.source}." if self.offer.found else "")
        )
        note.setWordWrap(True)
        note.setProperty("role", "subtitle")
        column.addWidget(note)
        self.form = SettingsForm("connection", self.editor, apply_notes=False)
        self.key_field = ApiKeyField(self.credentials, show_save_button=False)
        if self.offer.api_key:
            self.key_field.line.setText(self.offer.api_key.reveal())
        self.form.add_widget_after("auth_mode", self.key_field, "API key", key="api_key")
        column.addSpacing(12)
        column.addWidget(self.form)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(_centered(content, 780))
        outer.addWidget(scroll, 1)
        self.problem = QLabel()
        self.problem.setProperty("role", "error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        buttons_box = QWidget()
        buttons = QHBoxLayout(buttons_box)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.problem, 1)
        buttons.addStretch(0)
        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(lambda: self.setCurrentWidget(self.choices))
        self.submit_button = QPushButton("Save and connect")
        self.submit_button.setDefault(True)
        self.submit_button.setAccessibleName("Save and connect")
        self.submit_button.clicked.connect(self.submit)
        buttons.insertWidget(0, self.back_button)
        buttons.addWidget(self.submit_button)
        for button in (self.back_button, self.submit_button):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        outer.addWidget(_centered(buttons_box, 780))
        self.editor.draftChanged.connect(self._on_draft)
        self._on_draft(self.editor.draft)
        self._retry_after_key = False
        self.key_field.keyReady.connect(self._key_ready)
        return page

    def _key_ready(self, _host: str) -> None:
        """'Use for this run only' after the keyring failed: carry on connecting."""
        if self._retry_after_key:
            self._retry_after_key = False
            self.submit()

    def _on_draft(self, settings: Settings) -> None:
        uses_key = settings.connection.auth_mode is AuthMode.API_KEY
        self.form.extras["api_key"].setVisible(uses_key)
        if settings.connection.host != self.key_field.host:
            self.key_field.set_host(settings.connection.host)

    def show_form(self) -> None:
        self.setCurrentWidget(self.form_page)
        self.form.rows["endpoint"].editor.focus_widget().setFocus()

    def submit(self) -> bool:
        """Check the form, keep the key in the keyring, and ask the window to connect."""
        problems = self.form.flush()
        draft = self.editor.draft
        if not problems and not draft.connection.is_configured:
            problems.append("Enter the endpoint and the realtime deployment name.")
        if problems:
            self._show_problem(" ".join(problems))
            return False
        if draft.connection.auth_mode is AuthMode.API_KEY and not self.key_field.save(draft.connection.host):
            self._show_problem("The key could not be kept; see above.")
            self._retry_after_key = True
            return False
        self.problem.hide()
        self.connectRequested.emit(draft)
        return True

    def _show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()
