"""The main window: renders engine events, turns user actions into engine intents.

No conversation logic lives here. The window owns at most one engine at a time (Azure or
the offline demo) plus, while it runs, the audio check's own engine on the local echo server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QObject,
    QSettings,
    QSignalBlocker,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QTextEdit,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from azassist.core.paths import AppPaths
from azassist.core.states import Activity, ConnectionState, ErrorKind
from azassist.ui.controls import ControlsPanel
from azassist.ui.resources import app_icon, glyph
from azassist.ui.theme import apply_theme
from azassist.ui.transcript_view import EntryKind, TranscriptView
from azassist.ui.usage_status import UsageStatus
from azassist.ui.widgets import ErrorBanner, StatePill, state_colour

# Settings (pydantic), the keyring, the engine session and the dialogs are imported where
# they are used: the window's frame is on screen before them (see ``finish_start_up``).
# Qt classes the first paint does not use are imported where used too: PySide6 builds each
# class (and its enums) on first use, 1-4 ms apiece.
# So are the event classes (dataclasses, ~6 ms): the first event arrives after the paint.
if TYPE_CHECKING:
    import asyncio  # costs ~30 ms; the loop and its tasks come after the first paint

    from PySide6.QtGui import QCloseEvent, QKeyEvent

    from azassist.core.credentials import CredentialStore
    from azassist.core.environment import EnvironmentOffer
    from azassist.core.events import Capability, ConversationEngine, EngineEvent, Error, StateChanged
    from azassist.core.settings import LoadResult, Settings, TurnMode
    from azassist.ui.conversations import ConversationsDialog
    from azassist.ui.session import EngineProvider, Mode
    from azassist.ui.settings_dialog import SettingsDialog
    from azassist.ui.welcome import WelcomePage

log = logging.getLogger(__name__)

CONNECTION_WORDS = {
    ConnectionState.DISCONNECTED: "Disconnected",
    ConnectionState.CONNECTING: "Connecting…",
    ConnectionState.CONNECTED: "Connected",
    ConnectionState.RECONNECTING: "Reconnecting…",
    ConnectionState.FAILED: "Not connected",
}
ACTIVITY_WORDS = {
    Activity.IDLE: "Ready",
    Activity.LISTENING: "Listening",
    Activity.USER_SPEAKING: "You are speaking",
    Activity.THINKING: "Thinking…",
    Activity.ASSISTANT_SPEAKING: "Speaking",
}
SETTINGS_KINDS = {ErrorKind.AUTH, ErrorKind.NOT_FOUND, ErrorKind.DNS, ErrorKind.TLS, ErrorKind.CONFIG, ErrorKind.KEYRING}
ACTIVE_CONNECTIONS = (ConnectionState.CONNECTED, ConnectionState.CONNECTING, ConnectionState.RECONNECTING)


class _Attached:
    """An engine and the window's subscription to it: closing ends both."""

    def __init__(self, engine: ConversationEngine, listener: Callable[[EngineEvent], None]) -> None:
        self.engine = engine
        self._unsubscribe = engine.subscribe(listener)

    async def close(self) -> None:
        self._unsubscribe()
        closer = getattr(self.engine, "aclose", None)  # the real engine also closes its file
        await (closer() if closer is not None else self.engine.disconnect())


def _spec(group: str, name: str) -> Any:
    from azassist.ui.settings_form import field_specs

    return next(spec for spec in field_specs(group) if spec.name == name)


class MainWindow(QMainWindow):
    """Transcript, status, controls; settings, history, tray. See the module docstring.

    Built in two steps so the window can be on screen before the slow imports: the
    constructor makes the frame (menus, toolbar, empty transcript, controls, status
    "Starting…"); ``finish_start_up`` adds everything that needs the settings. Given ``load``,
    the constructor does both.
    """

    closed = Signal()

    def __init__(
        self,
        paths: AppPaths,
        load: LoadResult | None = None,
        *,
        credentials: CredentialStore | None = None,
        provider: EngineProvider | None = None,
        offer: EnvironmentOffer | None = None,
        hands_free: bool = True,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.started = False  # finish_start_up ran: settings, editor, credentials, provider, tray exist
        self._main: _Attached | None = None  # the conversation (Azure or the demo)
        self._check: _Attached | None = None  # the audio check, while it runs
        self.mode: Mode | None = None
        self.connection = ConnectionState.DISCONNECTED
        self.activity = Activity.IDLE
        self.capabilities: dict[str, Capability] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.ptt_source: str | None = None
        self._speech_started_at: float | None = None
        self._quitting = False
        self._warmed_up = False
        self._welcome: WelcomePage | None = None
        self._offer = offer
        self.settings_dialog: SettingsDialog | None = None
        self.conversations_dialog: ConversationsDialog | None = None
        # Every QObject the window makes has a Qt parent, so it is deleted with the window, in
        # the window's thread, never by Python's cycle collector in whatever thread runs it.
        self.window_state = QSettings(str(paths.config_dir / "window.ini"), QSettings.Format.IniFormat, self)

        self.setWindowTitle("azassist")
        if QGuiApplication.windowIcon().isNull():  # else create_application gave every window the icon
            self.setWindowIcon(app_icon())
        self.setAccessibleName("azassist")
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_status_bar()
        self._restore_geometry()
        with QSignalBlocker(self.hands_free_action), QSignalBlocker(self.ptt_mode_action):
            self.hands_free_action.setChecked(hands_free)  # the saved mode, as far as the caller knows
            self.ptt_mode_action.setChecked(not hands_free)
        self.controls.set_hands_free(hands_free)
        self._show_state()
        self._page_changed(self.pages.currentIndex())
        if load is not None:
            self.finish_start_up(load, credentials=credentials, provider=provider)

    def finish_start_up(
        self, load: LoadResult, *, credentials: CredentialStore | None = None, provider: EngineProvider | None = None,
        welcome: bool = True,
    ) -> None:
        """Everything that needs the settings, the keyring or the engine modules; runs once.
        ``welcome=False``: an unconfigured start that goes straight to the demo never builds
        the first-run page (it asks the keyring on this thread: 0.3 s, measured)."""
        import asyncio

        from azassist.core.credentials import CredentialStore
        from azassist.core.settings import SettingsStore, TurnMode
        from azassist.ui.session import EngineProvider
        from azassist.ui.settings_dialog import PresetStore
        from azassist.ui.settings_form import SettingsEditor
        from azassist.ui.tray import Tray

        self.settings: Settings = load.settings
        self.editor = SettingsEditor(self.settings, SettingsStore(self.paths.settings_file), parent=self)
        self.editor.committed.connect(self._settings_committed)
        self.credentials = credentials or CredentialStore()
        self.provider = provider or EngineProvider(self.credentials, self.paths.conversations_dir)
        from azassist.ui.tool_confirm import WindowTools

        self.tools = WindowTools(self)  # asks before tool calls, gives the clipboard, shows tool rows
        self.provider.tool_hooks.update(self.tools.engine_kwargs())
        self._last_vad_mode: TurnMode = (
            self.settings.turn_detection.mode
            if self.settings.turn_detection.mode is not TurnMode.PUSH_TO_TALK
            else TurnMode.SERVER_VAD
        )
        self.presets = PresetStore(self.paths.config_dir / "instruction_presets.json")
        self._closed = asyncio.Event()
        self.tray = Tray(self, [self.mute_action, self.ptt_tray_action, None, self.quit_action])
        self.tray.toggleWindow.connect(self.toggle_visible)
        from azassist.ui.global_hotkey import GlobalHotkey

        self.global_hotkey = GlobalHotkey(self)  # started by _apply_ui_settings when the settings ask
        self.started = True
        self._apply_retention()
        self.tray.show()
        self._apply_ui_settings(self.settings)
        self._show_state()
        self._show_endpoint()
        for notice in load.notices:  # e.g. an unreadable settings file was kept aside
            self.transcript.add_note(EntryKind.WARNING, notice)
            self.banner.show_message(notice, [("Open settings", lambda: self.open_settings())])
        if self.settings.connection.is_configured or not welcome:
            self.pages.setCurrentWidget(self.conversation_page)
        else:
            self.pages.setCurrentWidget(self.welcome)
        self._page_changed(self.pages.currentIndex())
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        app.setQuitOnLastWindowClosed(False)  # closing may only hide to the tray; quit() decides
        # The hold-to-talk key is watched on the focused widget only (it gets the key events
        # first, before a button could take Space): a filter on the whole application ran
        # Python for every event, every qasync timer and every paint (measured: most of the
        # window's idle CPU above `azassist talk`).
        self.installEventFilter(self)
        self._key_watched: QObject | None = None
        app.focusChanged.connect(self._watch_focus)
        self._watch_focus(None, app.focusWidget())
        app.applicationStateChanged.connect(self._application_state_changed)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        self._schedule_warm_up()  # when already shown (painted early)

    @property
    def welcome(self) -> WelcomePage:
        """The first-run page, built when first needed: a configured start never shows it."""
        if self._welcome is None:
            from azassist.core.environment import read_environment_offer
            from azassist.ui.welcome import WelcomePage

            offer = self._offer if self._offer is not None else read_environment_offer()
            self._welcome = WelcomePage(self.settings, self.credentials, offer)
            self._welcome.connectRequested.connect(self._welcome_connect)
            self._welcome.demoRequested.connect(self.start_demo)
            self.pages.insertWidget(0, self._welcome)
        return self._welcome

    @property
    def in_demo(self) -> bool:
        if self.mode is None:  # the session module is loaded once an engine has set a mode
            return False
        from azassist.ui.session import Mode

        return self.mode is Mode.DEMO

    # --- building ---------------------------------------------------------------------------
    def _action(self, text: str, shortcut: str | QKeySequence.StandardKey | None, slot: Callable[..., Any],
                *, icon: str | None = None, checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if icon:
            action.setIcon(glyph(icon))
            action.setData(icon)
        action.setCheckable(checkable)
        shown_shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip or text} ({shown_shortcut})" if shown_shortcut else (tip or text))
        action.setStatusTip(tip or text)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.connect_action = self._action("Connect", "Ctrl+K", self.toggle_connection, icon="connect",
                                           tip="Connect to the assistant, or disconnect")
        self.hands_free_action = self._action("Hands-free", None, self._mode_chosen(True), checkable=True,
                                              tip="Talk freely; the assistant answers when you pause")
        self.ptt_mode_action = self._action("Push-to-talk", None, self._mode_chosen(False), checkable=True,
                                            tip="Hold a key or the button while you speak")
        group = QActionGroup(self)
        group.addAction(self.hands_free_action)
        group.addAction(self.ptt_mode_action)
        self.toggle_mode_action = self._action("Switch hands-free / push-to-talk", "Ctrl+T",
                                               lambda: self.set_hands_free(not self.hands_free))
        self.mute_action = self._action("Mute", "Ctrl+M", self.set_muted, icon="mic", checkable=True,
                                        tip="Mute or unmute the microphone")
        self.interrupt_action = self._action("Interrupt", "Esc", self.interrupt, icon="stop",
                                             tip="Stop the assistant speaking")
        self.ptt_tray_action = self._action("Talk (click again to send)", None, self._tray_talk, checkable=True)
        self.new_action = self._action("New conversation", "Ctrl+N", self.new_conversation, icon="new")
        self.export_action = self._action("Export…", "Ctrl+E", self.export_current, icon="export",
                                          tip="Export this conversation as Markdown or JSON")
        self.history_action = self._action("Conversations…", "Ctrl+O", self.show_conversations, icon="history",
                                           tip="Read saved conversations")
        self.continue_action = self._action("Continue last conversation", "Ctrl+Shift+O", self.continue_last_conversation,
                                            tip="Show the last saved conversation, connect, and go on with it")
        self.settings_action = self._action("Settings…", "Ctrl+,", lambda: self.open_settings(), icon="settings")
        self.audio_check_action = self._action("Audio check…", "Ctrl+Shift+A", lambda: self.open_settings("audio"),
                                               tip="Hear your own voice through the whole pipeline, offline")
        self.demo_action = self._action("Offline demo", "Ctrl+Shift+D", self.start_demo,
                                        tip="Talk to a local stand-in, no account needed")
        self.focus_message_action = self._action("Type a message", "Ctrl+L", self.focus_message)
        self.shortcuts_action = self._action("Keyboard shortcuts", "F1", self.show_shortcuts)
        self.log_action = self._action("Open log folder", "Ctrl+Shift+L", self.open_log_folder)
        self.quit_action = self._action("Quit", "Ctrl+Q", self.quit)

    def _mode_chosen(self, hands_free: bool) -> Callable[[bool], None]:
        def chosen(checked: bool) -> None:
            if checked:
                self.set_hands_free(hands_free)

        return chosen

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.new_action, self.export_action, self.history_action, self.continue_action, None, self.settings_action,
                       None, self.quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        talk = bar.addMenu("&Conversation")
        for action in (self.connect_action, self.demo_action, None, self.hands_free_action, self.ptt_mode_action,
                       self.toggle_mode_action, None, self.mute_action, self.interrupt_action, self.focus_message_action):
            talk.addSeparator() if action is None else talk.addAction(action)
        help_menu = bar.addMenu("&Help")
        for action in (self.shortcuts_action, self.audio_check_action, self.log_action):
            help_menu.addAction(action)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Controls")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        icon_only = (self.new_action, self.export_action, self.history_action, self.settings_action)
        for action in (self.connect_action, None, self.hands_free_action, self.ptt_mode_action, None,
                       self.mute_action, self.interrupt_action, spacer, *icon_only):
            if action is None:
                toolbar.addSeparator()
            elif isinstance(action, QWidget):
                toolbar.addWidget(action)
            else:
                toolbar.addAction(action)
                button = toolbar.widgetForAction(action)
                button.setAccessibleName(action.text().rstrip("…"))
                button.setAccessibleDescription(action.statusTip())
                if action in icon_only and isinstance(button, QToolButton):
                    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.toolbar = toolbar
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _build_central(self) -> None:
        self.pages = QStackedWidget()  # the welcome page joins it when needed
        self.conversation_page = QWidget()
        column = QVBoxLayout(self.conversation_page)
        column.setContentsMargins(8, 6, 8, 0)
        column.setSpacing(6)
        self.banner = ErrorBanner()
        column.addWidget(self.banner)
        self.transcript = TranscriptView()
        column.addWidget(self.transcript, 1)
        self.controls = ControlsPanel()
        self.controls.pressed.connect(lambda: self.push_to_talk_press("button"))
        self.controls.released.connect(lambda: self.push_to_talk_release("button"))
        self.controls.sendRequested.connect(self.send_text)
        column.addWidget(self.controls)
        self.pages.addWidget(self.conversation_page)
        self.pages.currentChanged.connect(self._page_changed)
        self.setCentralWidget(self.pages)

    def _page_changed(self, _index: int) -> None:
        """The conversation controls mean nothing on the welcome page."""
        talking = self.pages.currentWidget() is self.conversation_page
        self.toolbar.setVisible(talking)
        if talking and not self.controls.message.hasFocus():
            self.transcript.setFocus()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_pill = StatePill()
        self.endpoint_label = QLabel()
        self.endpoint_label.setAccessibleName("Endpoint and deployment")
        self.latency_label = QLabel()
        self.latency_label.setAccessibleName("Last reply latency")
        self.latency_label.setToolTip("From the end of your turn to the first sound of the reply")
        self.tokens_label = UsageStatus()  # tokens and estimated cost (issue 20)
        # All permanent: a passing message must never hide the state.
        for label in (self.state_pill, self.endpoint_label, self.latency_label, self.tokens_label):
            bar.addPermanentWidget(label)

    # --- window state -----------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.window_state.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(980, 720)
            screen = QGuiApplication.primaryScreen()
            if screen is not None:
                frame = self.frameGeometry()
                frame.moveCenter(screen.availableGeometry().center())
                self.move(frame.topLeft())

    def save_geometry(self) -> None:
        self.window_state.setValue("geometry", self.saveGeometry())
        self.window_state.sync()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._schedule_warm_up()

    def _schedule_warm_up(self) -> None:
        """Once the window is on screen and filled in: the transcript's and controls' first-use
        work, and the voice engine's import on its own thread (azassist.core.preload) if start-up
        has not begun it yet (one to two seconds of CPU that never runs on this thread)."""
        if not self._warmed_up and self.started and self.isVisible():
            self._warmed_up = True
            QTimer.singleShot(300, self._warm_up)

    def _warm_up(self) -> None:
        self.transcript.warm_up()
        self.controls.warm_up()
        from azassist.core.preload import preload_engine

        preload_engine()  # a failure is reported by the first connect, which awaits it

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.started:  # painted, still starting: quitting needs the loop that comes next
            event.ignore()
            return
        if self.settings.ui.keep_in_tray and self.tray.available and not self._quitting:
            event.ignore()
            self.hide()
            self.tray.notify("azassist keeps running in the tray. Quit from its menu.")
            return
        self.save_geometry()
        if self.settings_dialog is not None:
            self.settings_dialog.close()
        event.accept()
        self._closed.set()
        self.closed.emit()

    def quit(self) -> None:
        self._quitting = True
        self.close()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def toggle_visible(self) -> None:
        if self.isVisible() and not self.isMinimized():
            self.hide()
        else:
            self.showNormal()
            self.raise_()
            self.activateWindow()

    async def shutdown(self) -> None:
        """Disconnect everything and stop the local servers (the app is quitting)."""
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        for signal, slot in ((app.focusChanged, self._watch_focus),
                             (app.applicationStateChanged, self._application_state_changed)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass  # never connected (start-up did not finish)
        self._watch_focus(None, None)
        self.global_hotkey.stop()  # a turn it holds is sent; its listener thread ends
        self.tray.hide()
        await self.stop_audio_check()
        await self._drop_engine()
        for task in list(self.tasks):
            task.cancel()
        await self.provider.aclose()

    # --- async plumbing -----------------------------------------------------------------------
    def run_task(self, coroutine: Awaitable[Any], what: str) -> asyncio.Task[Any]:
        """Run an engine call in the background; a failure is logged and shown, never lost."""
        import asyncio

        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self.tasks.discard(finished)
            if finished.cancelled():
                return
            error = finished.exception()
            if error is not None:
                log.error("%s failed", what, exc_info=error)
                from azassist.ui.errors import unexpected_message

                self.report_unexpected(unexpected_message(error))

        task.add_done_callback(done)
        return task

    def report_unexpected(self, message: str) -> None:
        from azassist.core.events import Error

        self.show_error(Error(ErrorKind.INTERNAL, message))

    # --- the engine ---------------------------------------------------------------------------
    @property
    def engine(self) -> ConversationEngine | None:
        return self._main.engine if self._main is not None else None

    @property
    def check_engine(self) -> ConversationEngine | None:
        return self._check.engine if self._check is not None else None

    async def _use_engine(self, mode: Mode) -> ConversationEngine:
        if self._main is not None and self.mode is mode:
            return self._main.engine
        await self._drop_engine()
        self.statusBar().showMessage("Loading the voice engine…")
        engine = await self.provider.create(mode, self.settings, self.handle_event)
        self.statusBar().clearMessage()
        self._main, self.mode = _Attached(engine, self.handle_event), mode
        engine.set_muted(self.mute_action.isChecked())
        self._show_endpoint()
        return engine

    async def _drop_engine(self) -> None:
        attached, self._main = self._main, None
        if attached is None:
            return
        await attached.close()
        self.connection, self.activity = ConnectionState.DISCONNECTED, Activity.IDLE
        self._show_state()

    def connect_engine(self, mode: Mode | None = None) -> asyncio.Task[Any]:
        """Connect: to Azure once it is configured, else the demo (the demo action forces it)."""
        from azassist.ui.session import Mode

        chosen = mode or (Mode.AZURE if self.settings.connection.is_configured else Mode.DEMO)
        self.setWindowTitle("azassist: offline demo" if chosen is Mode.DEMO else "azassist")
        self.pages.setCurrentWidget(self.conversation_page)
        self.banner.hide()

        async def run() -> None:
            engine = await self._use_engine(chosen)
            await engine.connect()

        return self.run_task(run(), "connecting")

    def disconnect_engine(self) -> asyncio.Task[Any] | None:
        if self.engine is None:
            return None
        return self.run_task(self.engine.disconnect(), "disconnecting")

    def reconnect_engine(self) -> asyncio.Task[Any]:
        if self.engine is None or self.connection not in ACTIVE_CONNECTIONS:
            return self.connect_engine(self.mode)  # try again what failed
        self.banner.hide()
        return self.run_task(self.engine.reconnect(), "reconnecting")

    def toggle_connection(self) -> None:
        if self.connection in ACTIVE_CONNECTIONS:
            self.disconnect_engine()
        else:
            self.connect_engine()

    def start_demo(self) -> asyncio.Task[Any]:
        from azassist.ui.session import Mode

        return self.connect_engine(Mode.DEMO)

    def _welcome_connect(self, settings: Settings) -> None:
        from azassist.ui.session import Mode

        self.editor.replace(settings)
        self.connect_engine(Mode.AZURE)

    # --- engine events -> the window --------------------------------------------------------
    def handle_event(self, event: EngineEvent) -> None:
        """Every engine (and audio) event, on the loop's thread."""
        from azassist.core import events

        if isinstance(event, events.Levels):
            self.controls.mic_meter.set_level(event.input_rms, event.input_peak)
            self.controls.speaker_meter.set_level(event.output_rms, event.output_peak)
            if self.settings_dialog is not None and self.check_engine is None:
                self.settings_dialog.input_meter.set_level(event.input_rms, event.input_peak)
        elif isinstance(event, events.StateChanged):
            self._on_state(event)
        elif isinstance(event, events.UserTranscript):
            spoke_at, self._speech_started_at = self._speech_started_at, None
            self.transcript.show_user(event.turn_id, event.text, final=event.final, at=event.at, spoke_at=spoke_at)
        elif isinstance(event, events.AssistantText):
            self.transcript.show_assistant(
                event.turn_id, event.text, final=event.final, interrupted=event.interrupted, at=event.at
            )
        elif isinstance(event, events.TurnLatency):
            self.latency_label.setText(f"Latency {event.seconds:.2f} s")
        elif isinstance(event, events.Usage):
            self.tokens_label.set_prices(self.settings.history.prices, self.settings.connection.deployment)
            self.tokens_label.add(event)
        elif isinstance(event, events.Error):
            self.show_error(event)
        elif isinstance(event, events.Warning):
            self.transcript.add_note(EntryKind.WARNING, event.message, event.at)
        elif isinstance(event, events.Notice):
            self.transcript.add_note(EntryKind.NOTICE, event.message, event.at)
        elif isinstance(event, events.Capability):
            self.capabilities[event.setting] = event
            self._forward_capability(event)
        elif self.started:
            self.tools.show(event)

    def _on_state(self, event: StateChanged) -> None:
        if event.activity is Activity.USER_SPEAKING and self.activity is not Activity.USER_SPEAKING:
            self._speech_started_at = event.at
        self.connection, self.activity = event.connection, event.activity
        if event.connection is ConnectionState.CONNECTED and self.banner.isVisible() and self._banner_is_connection:
            self.banner.hide()
        if event.connection not in ACTIVE_CONNECTIONS:
            self.controls.mic_meter.reset()
            self.controls.speaker_meter.reset()
            if self.ptt_source is not None:
                self._set_ptt_source(None)
        self._show_state()

    def _show_state(self) -> None:
        connection, activity = self.connection, self.activity
        words = CONNECTION_WORDS[connection] if self.started else "Starting…"
        if connection is ConnectionState.CONNECTED:
            words = f"{words} · {ACTIVITY_WORDS[activity]}"
        if self.in_demo:
            words += " (offline demo)"
        self.state_pill.set_state(words, state_colour(connection, activity))
        if self.started:  # the tray comes with the settings
            self.tray.set_state(connection, activity, words)
        active = connection in ACTIVE_CONNECTIONS
        self.connect_action.setText("Disconnect" if active else "Connect")
        self.connect_action.setIcon(glyph("disconnect" if active else "connect"))
        button = self.toolbar.widgetForAction(self.connect_action)
        if button is not None:
            button.setAccessibleName(self.connect_action.text())
        connected = connection is ConnectionState.CONNECTED
        self.controls.ptt_button.setEnabled(connected)
        self.interrupt_action.setEnabled(connected)
        self.ptt_tray_action.setEnabled(connected and not self.hands_free)
        if not connected:
            listening = "Connect to start talking (Ctrl+K)"
        elif activity is Activity.USER_SPEAKING:
            listening = "Hearing you…"
        elif activity is Activity.ASSISTANT_SPEAKING:
            listening = "The assistant is speaking (Esc interrupts)"
        else:
            listening = "Hands-free: just talk"
        self.controls.set_listening(connected, listening)

    def _show_endpoint(self) -> None:
        if self.in_demo:
            self.endpoint_label.setText("Local demo server (offline)")
            return
        connection = self.settings.connection
        self.endpoint_label.setText(
            f"{connection.deployment} @ {connection.host}" if connection.is_configured else "No endpoint set"
        )

    # --- errors ---------------------------------------------------------------------------------
    _banner_is_connection = False

    def show_error(self, error: Error) -> None:
        """A banner with what happened in plain words and what to do; a row in the transcript."""
        actions: list[tuple[str, Callable[[], object]]] = []
        if error.kind in SETTINGS_KINDS:
            actions.append(("Open settings", lambda: self.open_settings("connection")))
            actions.append(("Retry", lambda: self.connect_engine(self.mode)))
        elif error.kind is ErrorKind.AUDIO:
            actions.append(("Audio settings", lambda: self.open_settings("audio")))
            actions.append(("Reconnect", lambda: self.reconnect_engine()))
        elif error.kind is ErrorKind.INTERNAL:
            actions.append(("Open log folder", self.open_log_folder))
        else:
            actions.append(("Reconnect" if error.fatal else "Retry", lambda: self.reconnect_engine()))
        self._banner_is_connection = error.kind not in (ErrorKind.AUDIO, ErrorKind.INTERNAL)
        self.banner.show_message(error.message, actions)
        self.transcript.add_note(EntryKind.ERROR, error.message, error.at)

    def open_log_folder(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.paths.log_dir)))

    # --- intents --------------------------------------------------------------------------------
    @property
    def hands_free(self) -> bool:
        from azassist.core.settings import TurnMode

        return self.settings.turn_detection.mode is not TurnMode.PUSH_TO_TALK

    def set_hands_free(self, hands_free: bool) -> None:
        """The switch is the turn-detection setting: push-to-talk, or the VAD used before."""
        from azassist.core.settings import TurnMode

        mode = self.settings.turn_detection.mode
        if hands_free == self.hands_free:
            self._show_mode()
            return
        if not hands_free:
            self._last_vad_mode = mode
        value = self._last_vad_mode if hands_free else TurnMode.PUSH_TO_TALK
        self.editor.propose(_spec("turn_detection", "mode"), value)
        self.editor.reload(self.editor.settings)

    def _show_mode(self) -> None:
        hands_free = self.hands_free
        self.hands_free_action.setChecked(hands_free)
        self.ptt_mode_action.setChecked(not hands_free)
        self.controls.set_hands_free(hands_free)
        self.ptt_tray_action.setEnabled(self.connection is ConnectionState.CONNECTED and not hands_free)

    def set_muted(self, muted: bool) -> None:
        if self.mute_action.isChecked() != muted:
            self.mute_action.setChecked(muted)  # from the tray or a test: one source of truth
            return
        self.mute_action.setText("Unmute" if muted else "Mute")
        self.mute_action.setData("mic-off" if muted else "mic")
        self.mute_action.setIcon(glyph("mic-off" if muted else "mic"))
        button = self.toolbar.widgetForAction(self.mute_action)
        if button is not None:
            button.setAccessibleName("Unmute the microphone" if muted else "Mute the microphone")
        self.controls.set_muted(muted)
        if self.engine is not None:
            self.engine.set_muted(muted)

    def interrupt(self) -> None:
        if self.ptt_source is not None:
            self.push_to_talk_cancel()
            return
        if self.controls.message.hasFocus():
            self.transcript.setFocus()  # Esc also leaves the box, so the hold key works again
        if self.engine is not None:
            self.engine.interrupt()

    def send_text(self, text: str) -> None:
        if self.engine is None or self.connection is not ConnectionState.CONNECTED:
            self.statusBar().showMessage("Connect first to send a message (Ctrl+K).", 5000)
            self.controls.message.setText(text)
            return
        self._speech_started_at = None
        self.engine.send_text(text)

    def focus_message(self) -> None:
        self.controls.message.setFocus()

    def push_to_talk_press(self, source: str) -> bool:
        if self.ptt_source is not None or self.engine is None or self.hands_free:
            return False
        if self.connection is not ConnectionState.CONNECTED:
            return False
        self._set_ptt_source(source)
        self.engine.push_to_talk_press()
        return True

    def push_to_talk_release(self, source: str) -> None:
        if self.ptt_source != source:
            return
        self._set_ptt_source(None)
        if self.engine is not None:
            self.engine.push_to_talk_release()

    def push_to_talk_cancel(self) -> None:
        if self.ptt_source is None:
            return
        self._set_ptt_source(None)
        if self.engine is not None:
            self.engine.push_to_talk_cancel()
        self.statusBar().showMessage("Cancelled: nothing was sent.", 4000)

    def _set_ptt_source(self, source: str | None) -> None:
        self.ptt_source = source
        self.controls.ptt_button.set_held(source is not None)
        with QSignalBlocker(self.ptt_tray_action):
            self.ptt_tray_action.setChecked(source == "tray")
        if self.started:
            self.tray.set_talking(source is not None)
            self.global_hotkey.turn_ended()

    def _tray_talk(self, talking: bool) -> None:
        if talking:
            if not self.push_to_talk_press("tray"):
                self._set_ptt_source(self.ptt_source)
        else:
            self.push_to_talk_release("tray")

    def new_conversation(self) -> None:
        if self.engine is not None:
            self.engine.new_conversation()
        self.transcript.clear_conversation()
        self.latency_label.clear()
        self.tokens_label.clear()

    # --- the hold key ---------------------------------------------------------------------------
    def ptt_key(self) -> int:
        sequence = QKeySequence.fromString(self.settings.ui.push_to_talk_key, QKeySequence.SequenceFormat.PortableText)
        return sequence[0].key().value if sequence.count() else Qt.Key.Key_Space.value  # type: ignore[index]

    def _key_may_talk(self) -> bool:
        if QApplication.activeWindow() is not self or self.pages.currentWidget() is not self.conversation_page:
            return False
        from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QKeySequenceEdit, QLineEdit, QPlainTextEdit

        focus = QApplication.focusWidget()
        text_entry = (QLineEdit, QPlainTextEdit, QAbstractSpinBox, QKeySequenceEdit)
        if isinstance(focus, text_entry) or (isinstance(focus, QComboBox) and focus.isEditable()):
            return False
        return not (isinstance(focus, QTextEdit) and not focus.isReadOnly())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            key_event: QKeyEvent = event  # type: ignore[assignment]
            if key_event.key() == self.ptt_key() and not key_event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                if kind == QEvent.Type.KeyRelease and self.ptt_source == "key":
                    if not key_event.isAutoRepeat():
                        self.push_to_talk_release("key")
                    return True
                if kind == QEvent.Type.KeyPress and self._key_may_talk() and not self.hands_free:
                    if self.ptt_source == "key" or key_event.isAutoRepeat():
                        return True
                    return self.push_to_talk_press("key")
        return False

    def _watch_focus(self, old: QObject | None, new: QObject | None) -> None:
        """Move the key filter to the widget that now has the keyboard focus."""
        watched, self._key_watched = getattr(self, "_key_watched", None), None
        if watched is not None and watched is not self:
            try:
                watched.removeEventFilter(self)
            except RuntimeError:
                pass  # already deleted
        if new is not None and new is not self:
            new.installEventFilter(self)
            self._key_watched = new

    def _application_state_changed(self, state: Qt.ApplicationState) -> None:
        if state != Qt.ApplicationState.ApplicationActive and self.ptt_source == "key":
            self.push_to_talk_release("key")  # the key-up will go to another application

    # --- settings -------------------------------------------------------------------------------
    def _settings_committed(self, settings: Settings, keys: frozenset[str]) -> None:
        from azassist.core.settings import field_apply_mode
        from azassist.ui.session import Mode

        self.settings = settings
        self._apply_ui_settings(settings, keys)
        self._show_endpoint()
        engine, mode = self.engine, self.mode
        if engine is not None and mode is not None:
            async def apply() -> None:
                await engine.apply_settings(await self.provider.effective_settings(mode, settings))

            self.run_task(apply(), "applying settings")
        waiting = sorted(
            key for key in keys if field_apply_mode(*key.split(".")) == "reconnect"
        )
        if waiting and self.connection in ACTIVE_CONNECTIONS and self.settings_dialog is not None:
            titles = [_spec(*key.split(".")).title for key in waiting]
            if not (mode is not Mode.AZURE and all(key.startswith("connection.") for key in waiting)):
                self.settings_dialog.note_applies_on_reconnect(titles)

    def _apply_ui_settings(self, settings: Settings, keys: frozenset[str] | None = None) -> None:
        if keys is None or "ui.theme" in keys:
            app = QApplication.instance()
            if keys is not None and isinstance(app, QApplication):
                apply_theme(app, settings.ui.theme)
        self.controls.ptt_button.set_key_name(settings.ui.push_to_talk_key)
        self.global_hotkey.apply(settings)
        self._show_mode()

    def _system_scheme_changed(self, *_: Any) -> None:
        from azassist.core.settings import Theme

        app = QApplication.instance()
        if self.settings.ui.theme is Theme.SYSTEM and isinstance(app, QApplication):
            apply_theme(app, Theme.SYSTEM)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            for action in self.actions():
                if action.data():
                    action.setIcon(glyph(str(action.data())))
            self._show_state()

    def open_settings(self, group: str | None = None) -> SettingsDialog:
        dialog = self.settings_dialog
        if dialog is None:
            from azassist.ui.session import list_device_names, refresh_device_list
            from azassist.ui.settings_dialog import SettingsDialog

            dialog = SettingsDialog(
                self.editor,
                self.credentials,
                test_connection=self.provider.test_connection,
                list_devices=list_device_names,
                refresh_devices=refresh_device_list,
                presets=self.presets,
                parent=self,
            )
            dialog.reconnectRequested.connect(self.reconnect_engine)
            dialog.audioCheckToggled.connect(self._audio_check_toggled)
            for capability in self.capabilities.values():
                self._forward_capability(capability, dialog)
            self.global_hotkey.add_note(dialog)
            self.settings_dialog = dialog
        if group:
            dialog.show_group(group)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _forward_capability(self, event: Capability, dialog: SettingsDialog | None = None) -> None:
        dialog = dialog or self.settings_dialog
        if dialog is not None:
            group = event.setting.split(".")[0]
            if group in dialog.forms:
                dialog.forms[group].set_capability(event.setting, event.supported, event.reason)

    # --- audio check ----------------------------------------------------------------------------
    def _audio_check_toggled(self, running: bool) -> None:
        self.run_task(self.start_audio_check() if running else self.stop_audio_check(), "the audio check")

    async def start_audio_check(self) -> None:
        """A conversation with the local echo: you hear your own voice through everything."""
        from azassist.ui.session import Mode

        if self._check is not None:
            return
        dialog = self.settings_dialog
        if self.engine is not None and self.connection in ACTIVE_CONNECTIONS:
            await self.engine.disconnect()
            self.transcript.add_note(EntryKind.NOTICE, "Disconnected for the audio check.")
        engine = await self.provider.create(Mode.AUDIO_CHECK, self.settings, self._check_event)
        self._check = _Attached(engine, self._check_event)
        if dialog is not None:
            dialog.set_audio_check_state(True, "Starting the local echo…")
        await engine.connect()

    async def stop_audio_check(self) -> None:
        from azassist.ui.session import Mode

        attached, self._check = self._check, None
        if attached is None:
            return
        await attached.close()
        await self.provider.stop_local(Mode.AUDIO_CHECK)
        if self.settings_dialog is not None:
            self.settings_dialog.set_audio_check_state(False, "Audio check stopped.")
            self.settings_dialog.input_meter.reset()

    def _check_event(self, event: EngineEvent) -> None:
        dialog = self.settings_dialog
        if dialog is None:
            return
        from azassist.core import events

        if isinstance(event, events.Levels):
            dialog.input_meter.set_level(event.input_rms, event.input_peak)
        elif isinstance(event, events.StateChanged):
            if event.connection is ConnectionState.CONNECTED:
                message = {
                    Activity.USER_SPEAKING: "Hearing you…",
                    Activity.THINKING: "Got it; playing it back…",
                    Activity.ASSISTANT_SPEAKING: "Playing your voice back: do you hear yourself?",
                }.get(event.activity, "Listening: say something, then pause.")
                dialog.set_audio_check_state(True, message)
        elif isinstance(event, events.AssistantText) and event.final:
            dialog.set_audio_check_state(True, f"The echo said: “{event.text}” Speak again, or stop the check.")
        elif isinstance(event, events.Error):
            dialog.set_audio_check_state(self.check_engine is not None and not event.fatal, event.message)

    # --- history and export ---------------------------------------------------------------------
    def current_conversation_file(self) -> Path | None:
        return getattr(self.engine, "conversation_path", None) if self.engine is not None else None

    def export_current(self) -> Path | None:
        source = self.current_conversation_file()
        if source is None:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.information(self, "Nothing to export", "This conversation has no finished turn yet.")
            return None
        from azassist.core.transcript import read_conversation
        from azassist.ui.conversations import ask_export_path, export_conversation

        target = ask_export_path(self, read_conversation(source))
        return export_conversation(self, source, target, self.settings.history.prices) if target is not None else None

    def export_current_to(self, target: Path) -> Path | None:
        from azassist.ui.conversations import export_conversation

        source = self.current_conversation_file()
        return export_conversation(self, source, target, self.settings.history.prices) if source is not None else None

    def _apply_retention(self) -> None:
        """Settings › Conversations › Keep for N days, once at start, off the window's thread."""
        if self.settings.history.keep_days > 0:
            import threading

            from azassist.core.library import apply_retention

            args = (self.paths.conversations_dir, self.settings.history.keep_days)
            threading.Thread(target=apply_retention, args=args, name="azassist-retention", daemon=True).start()

    def continue_last_conversation(self) -> asyncio.Task[Any] | None:
        from azassist.core.transcript import list_conversations

        saved = list_conversations(self.paths.conversations_dir)
        if not saved:
            self.transcript.add_note(EntryKind.NOTICE, "There is no saved conversation to continue yet.")
            return None
        return self.continue_conversation(saved[0].path)

    def continue_conversation(self, path: Path) -> asyncio.Task[Any] | None:
        """Its turns shown marked as earlier, then connect: the engine gives the model the past
        and appends new turns to the same file (issue 20)."""
        from azassist.core.transcript import read_conversation
        from azassist.ui.conversations import entries_of
        from azassist.ui.session import Mode

        try:
            entries = entries_of(read_conversation(path))
        except (OSError, ValueError) as exc:
            self.transcript.add_note(EntryKind.ERROR, f"{path.name} could not be continued: {exc}")
            return None
        for entry in entries:
            entry.earlier = True
        self.transcript.load(entries)
        self.transcript.add_note(EntryKind.NOTICE, "Continued here: new turns are added to the same saved conversation.")
        self.latency_label.clear()
        chosen = self.mode if self.engine is not None and self.mode is not None else (
            Mode.AZURE if self.settings.connection.is_configured else Mode.DEMO)
        self.pages.setCurrentWidget(self.conversation_page)
        self.banner.hide()

        async def run() -> None:
            engine = await self._use_engine(chosen)
            if await engine.continue_conversation(path) is not None:
                await engine.connect()

        return self.run_task(run(), "continuing the conversation")

    def show_conversations(self) -> ConversationsDialog:
        if self.conversations_dialog is None:
            from azassist.ui.conversations import ConversationsDialog

            self.conversations_dialog = ConversationsDialog(self.paths.conversations_dir, self, self.settings.history.prices)
            self.conversations_dialog.continue_requested.connect(self.continue_conversation)
        else:
            self.conversations_dialog.prices_text = self.settings.history.prices
            self.conversations_dialog.reload()
        self.conversations_dialog.show()
        self.conversations_dialog.raise_()
        return self.conversations_dialog

    def show_shortcuts(self) -> None:
        lines = [
            f"<tr><td><b>{action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)}</b></td>"
            f"<td>{action.text().replace('&', '')}</td></tr>"
            for action in self.actions()
            if not action.shortcut().isEmpty()
        ]
        hold = f"<tr><td><b>{self.settings.ui.push_to_talk_key} (hold)</b></td><td>Push to talk</td></tr>"
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.information(self, "Keyboard shortcuts", f"<table cellpadding=3>{hold}{''.join(lines)}</table>")
