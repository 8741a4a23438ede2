"""The conversation engine: one LiveKit ``AgentSession`` on Azure's realtime model.

Intents in (plain calls), typed events out (``azassist.core.events``). The window, the
terminal command, the tests and the benchmarks drive it the same way. Each connection owns
a fresh model and session (``_Live``); the conversation (history, transcript file, token
totals) belongs to the engine and outlives connections, so a reconnect after a failure or
a setting that needs one keeps every word.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit import rtc
from livekit.agents import Agent, AgentSession, APIConnectionError, llm
from livekit.agents.metrics import RealtimeModelMetrics
from livekit.agents.types import NOT_GIVEN
from livekit.agents.voice import TranscriptSynchronizer
from livekit.agents.voice.io import TextOutput
from livekit.plugins import openai as lk_openai

from azassist.core.audio.levels import SilenceGate
from azassist.core.auth import ApiKeySource, TokenError, TokenProvider
from azassist.core.credentials import CredentialError
from azassist.core.engine.audio_io import (
    AudioFactory,
    AudioSeam,
    MeteredInput,
    close_audio,
    no_audio,
    open_audio,
    read_levels,
    wait_for_sound_in,
)
from azassist.core.engine.errors import Failure, describe_chain, describe_failure
from azassist.core.engine.options import (
    PREVIEW_TEMPERATURE,
    TEMPERATURE_UNSUPPORTED,
    Credentials,
    conversation_header,
    realtime_model_kwargs,
    transcription_for,
    tts_kwargs,
    turn_detection_for,
)
from azassist.core.engine.realtime_model import APPEND_SAMPLES
from azassist.core.engine.tokenizer import synchronizer_word_tokenizer
from azassist.core.engine.warmup import build_protocol_models, unbuilt_models
from azassist.core.engine.wire_guard import WireMonitor, guarded_http_session
from azassist.core.entra.realtime import build_realtime_model, tts_token_provider
from azassist.core.events import (
    Activity,
    AssistantText,
    Capability,
    ConnectionState,
    EngineEvent,
    Error,
    ErrorKind,
    Levels,
    Notice,
    StateChanged,
    TurnLatency,
    Usage,
    UserTranscript,
    Warning,
)
from azassist.core.recap import build_recap, instructions_with_recap
from azassist.core.secrets import redact, scrub
from azassist.core.settings import (
    GROUPS,
    AuthMode,
    Modalities,
    ResumeHistory,
    Settings,
    TurnMode,
    check_endpoint,
    field_apply_mode,
)
from azassist.core.tools.builtin import Clipboard, ToolEnv, open_in_browser
from azassist.core.tools.policy import Confirmer, ReminderDue, ToolActivity, refuse_everything
from azassist.core.tools.timers import Timer, TimerBook
from azassist.core.tools.toolbox import Toolbox, ToolEvent
from azassist.core.transcript import Conversation, ConversationWriter, ToolRecord, TurnRecord, TurnUsage, read_conversation

log = logging.getLogger(__name__)

# A push-to-talk press that delivered less audio than this carried no speech: it is
# cancelled instead of committed (the service also refuses commits under 100 ms).
MIN_PUSH_TO_TALK_SECONDS = 0.2
# Hands-free with nobody talking, the microphone wakes the loop once per this many appends
# (100 ms): idle CPU, where latency does not count (see Engine._batch_input).
QUIET_APPENDS_PER_WAKE = 5
LEVELS_PER_SECOND = 30
# how often a quiet room's meters are looked at anyway (a reconnect may swap the audio)
QUIET_RECHECK_SECONDS = 0.5
CLOSE_TIMEOUT = 5.0
# Reconnects the engine makes on its own (a stalled reply, a message it could not read):
# at most this many within the window, then it stops and says why.
AUTO_RECONNECTS = 3
AUTO_RECONNECT_WINDOW_S = 120.0
WATCHDOG_POLL_S = 0.5
# LiveKit waits 5 s in total for the service to acknowledge the history items it sends at
# connect, then goes on with what it has and only logs; the engine looks a little later.
HISTORY_ACK_WAIT_S = 6.0


@dataclass
class _Resumed:
    """A saved conversation being continued: its file, its earlier turns, how the model gets them."""

    path: Path
    earlier: list[TurnRecord]
    mode: ResumeHistory
    recap: str = ""  # the recap in the instructions (mode RECAP)


class _AssistantTextSink(TextOutput):
    """Receives the assistant's words (paced to playback when audio plays) as they come."""

    def __init__(self, on_text: Callable[[str], None]) -> None:
        super().__init__(label="azassist-transcript", next_in_chain=None)
        self._on_text = on_text
        self._text = ""
        self._closed = False

    async def capture_text(self, text: str) -> None:
        if self._closed:
            return  # words paced out after their reply was already final
        self._text += str(text)
        self._on_text(self._text)

    def close_segment(self) -> None:
        """The reply these words belong to is final: ignore the rest until the next segment."""
        if self._text:
            self._closed = True

    def flush(self) -> None:
        self._text = ""
        self._closed = False


@dataclass
class _Reply:
    """The assistant turn under way: everything known before its message is final.

    It ends with its chat message, or, when LiveKit adds none (a reply cut off before any
    word counted as heard), when its speech ends or the next reply starts.
    """

    turn_id: str
    latency: float | None = None
    text: str = ""
    speech: Any = None  # the LiveKit SpeechHandle playing it
    finished: bool = False
    tool_calls: int = 0  # a response that only called tools has no words: no turn of its own


@dataclass
class _Live:
    """One connection's resources. Dropped whole on failure, disconnect or reconnect."""

    number: int
    model: lk_openai.realtime.RealtimeModel
    session: AgentSession
    agent: Agent
    audio: AudioSeam
    meter: MeteredInput | None
    monitor: WireMonitor
    http: Any = None  # the aiohttp session whose WebSockets report to ``monitor``
    tts: Any = None
    synchronizer: TranscriptSynchronizer | None = None
    text_sink: _AssistantTextSink | None = None
    connected_once: bool = False
    started: bool = False  # AgentSession.start() returned: it accepts messages
    audio_heard: bool = False  # the voice cannot change once the assistant has spoken
    failed: bool = False
    closing: bool = False
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


class Engine:
    """``ConversationEngine`` over LiveKit Agents and Azure OpenAI realtime.

    Construct with the settings, where credentials come from (``keys`` for an API key,
    ``token_provider`` for Entra ID), an audio factory, and the directory for conversation
    files (``None`` keeps nothing on disk). Then ``await connect()`` and talk.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        keys: ApiKeySource | None = None,
        token_provider: TokenProvider | None = None,
        audio: AudioFactory = no_audio,
        conversations_dir: Path | None = None,
        max_session_duration: float | None = None,
        min_push_to_talk_seconds: float = MIN_PUSH_TO_TALK_SECONDS,
        confirm_tool: Confirmer = refuse_everything,
        clipboard: Clipboard | None = None,
        open_url: Callable[[str], bool] = open_in_browser,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.token_provider = token_provider
        self.audio_factory = audio
        self._conversations_dir = conversations_dir
        self._max_session_duration = max_session_duration
        self._min_ptt_seconds = min_push_to_talk_seconds

        self._listeners: list[Callable[[EngineEvent], None]] = []
        self._level_listeners: list[Callable[[EngineEvent], None]] = []  # those with meters
        self._silence_gate = SilenceGate(rate=LEVELS_PER_SECOND)
        self._connection = ConnectionState.DISCONNECTED
        self._activity = Activity.IDLE
        self._agent_state = "initializing"
        self._user_state = "listening"

        self._hands_free = settings.turn_detection.mode is not TurnMode.PUSH_TO_TALK
        self._muted = False
        self._ptt_pressed = False
        self._ptt_mark = 0.0

        self._live: _Live | None = None
        self._live_counter = 0
        self._teardown_task: asyncio.Task[None] | None = None
        self._auto_reconnects: deque[float] = deque()
        self._waiting_texts: list[str] = []  # typed while reconnecting: sent once connected
        self._levels_task: asyncio.Task[None] | None = None
        self._connect_lock = asyncio.Lock()

        # the conversation: survives reconnects, ends with new_conversation()
        self._history = llm.ChatContext.empty()
        self._writer: ConversationWriter | None = None
        self._conversation_path: Path | None = None
        self._reply: _Reply | None = None
        self._speeches: list[Any] = []  # LiveKit SpeechHandles not yet done
        self._latency_mark: tuple[float, str] | None = None
        self._usage_by_response: dict[str, TurnUsage] = {}
        self._recorded_ids: set[str] = set()
        self._total_input_tokens = 0
        self._total_output_tokens = 0
        self.turns: list[TurnRecord] = []  # the finished turns of this conversation, in order
        self._resumed: _Resumed | None = None  # set by continue_conversation()

        # tools (issue 21): the toolbox and the timers outlive connections; ``confirm_tool``
        # is the front end's way of asking the user (the window's dialog, talk's --allow-tools)
        self.timers = TimerBook(on_due=self._on_timer_due)
        self.toolbox = Toolbox(
            ToolEnv(self.timers, clipboard, open_url), report=self._on_tool_event, confirm=confirm_tool
        )
        self.tool_calls: list[ToolRecord] = []  # the finished tool calls of this conversation

    # --- the Protocol: state and subscriptions -------------------------------------------

    @property
    def connection(self) -> ConnectionState:
        return self._connection

    @property
    def activity(self) -> Activity:
        return self._activity

    @property
    def hands_free(self) -> bool:
        return self._hands_free

    @property
    def muted(self) -> bool:
        return self._muted

    @property
    def conversation_path(self) -> Path | None:
        """The file of the current conversation, once its first turn is saved."""
        return self._conversation_path

    @property
    def earlier_turns(self) -> int:
        """How many of ``turns`` came from the saved file of a continued conversation."""
        return len(self._resumed.earlier) if self._resumed is not None else 0

    @property
    def total_tokens(self) -> tuple[int, int]:
        return self._total_input_tokens, self._total_output_tokens

    @property
    def busy(self) -> bool:
        """A reply is asked for, arriving or still playing: what a script waits out before
        its next message (a refused request or a stalled reply ends it too)."""
        if self._waiting_texts or self.toolbox.calls_under_way:
            return True
        live = self._live
        if live is None:
            return False
        reply_open = self._reply is not None and not self._reply.finished
        return live.monitor.pending or reply_open or any(not speech.done() for speech in self._speeches)

    def subscribe(self, callback: Callable[[EngineEvent], None], *, levels: bool = True) -> Callable[[], None]:
        """``levels=False``: a listener without meters is spared the ``Levels`` events (about
        30 a second while there is sound); with no listener wanting them, none are measured."""
        self._listeners.append(callback)
        if levels:
            self._level_listeners.append(callback)
            if self._live is not None:
                self._start_levels()

        def unsubscribe() -> None:
            for listeners in (self._listeners, self._level_listeners):
                with contextlib.suppress(ValueError):
                    listeners.remove(callback)

        return unsubscribe

    def report(self, event: EngineEvent) -> None:
        """Send an event to every listener: for the audio layer's device notices and
        errors, so the front end has one stream (``on_event=engine.report``)."""
        self._emit(event)

    def _emit(self, event: EngineEvent) -> None:
        event = _scrubbed(event)
        if isinstance(event, (Error, Warning, Notice)):
            log.log(
                logging.ERROR if isinstance(event, Error) else logging.INFO,
                "%s: %s%s",
                type(event).__name__.lower(),
                event.message,
                f" [{event.detail}]" if isinstance(event, Error) and event.detail else "",
            )
        for listener in list(self._level_listeners if isinstance(event, Levels) else self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break the conversation
                log.exception("engine listener failed on %s", type(event).__name__)

    def _set_connection(self, state: ConnectionState) -> None:
        if state is not self._connection:
            self._connection = state
            if state is not ConnectionState.CONNECTED:
                self._agent_state, self._user_state = "initializing", "listening"
            self._activity = self._derive_activity()
            self._emit(StateChanged(self._connection, self._activity))
            if state is ConnectionState.CONNECTED and self._waiting_texts:
                asyncio.get_running_loop().call_soon(self._send_waiting_texts)
            elif state in (ConnectionState.FAILED, ConnectionState.DISCONNECTED) and self._waiting_texts:
                count, self._waiting_texts = len(self._waiting_texts), []
                what = "Your message was" if count == 1 else f"Your {count} messages were"
                self._emit(Error(ErrorKind.UNREACHABLE, f"{what} not sent: the connection could not be made again."))

    def _send_waiting_texts(self) -> None:
        texts, self._waiting_texts = self._waiting_texts, []
        for text in texts:
            self.send_text(text)

    def _derive_activity(self) -> Activity:
        if self._connection is not ConnectionState.CONNECTED:
            return Activity.IDLE
        if self._ptt_pressed or self._user_state == "speaking":
            return Activity.USER_SPEAKING
        return {
            "speaking": Activity.ASSISTANT_SPEAKING,
            "thinking": Activity.THINKING,
            "listening": Activity.LISTENING,
        }.get(self._agent_state, Activity.IDLE)

    def _refresh_activity(self) -> None:
        activity = self._derive_activity()
        if activity is not self._activity:
            self._activity = activity
            self._emit(StateChanged(self._connection, activity))

    # --- connecting ----------------------------------------------------------------------

    def _auth_word(self) -> str:
        return "sign-in token" if self.settings.connection.auth_mode is AuthMode.ENTRA_ID else "API key"

    def _config_problem(self) -> str | None:
        connection = self.settings.connection
        if not connection.endpoint:
            return "Enter your Azure OpenAI endpoint in Settings › Connection before connecting."
        try:
            check_endpoint(connection.endpoint)
        except ValueError as exc:
            return str(exc)
        if not connection.deployment:
            return "Enter the name of your realtime deployment in Settings › Connection."
        if self.settings.model.modalities is Modalities.TEXT_AND_TTS and not connection.tts_deployment:
            return (
                "'Text + separate voice' needs a text-to-speech deployment: enter it in "
                "Settings › Connection, or choose another kind of reply."
            )
        return None

    async def _credentials(self) -> Credentials | Error:
        connection = self.settings.connection
        if connection.auth_mode is AuthMode.ENTRA_ID:
            if self.token_provider is None:
                return Error(
                    ErrorKind.AUTH,
                    "Microsoft Entra ID sign-in is not set up in this version. Use an API key "
                    "in Settings › Connection.",
                    fatal=True,
                )
            try:
                token = await self.token_provider.get_token()
            except TokenError as exc:
                return Error(ErrorKind.AUTH, exc.message, redact(exc.detail), fatal=True)
            return Credentials(entra_token=token.reveal())
        try:
            # the keyring answers over D-Bus (and may pick its backend first): off the loop's
            # thread, which is the window's
            key = await asyncio.to_thread(self.keys.get_api_key, connection.host) if self.keys else None
        except CredentialError as exc:
            return Error(ErrorKind.KEYRING, exc.message, redact(exc.detail), fatal=True)
        if not key:
            return Error(
                ErrorKind.CONFIG,
                f"No API key is saved for {connection.host}. Enter it in Settings › Connection.",
                fatal=True,
            )
        return Credentials(api_key=key.reveal())

    async def connect(self) -> None:
        async with self._connect_lock:
            if self._live is not None:
                return
            await self._await_teardown()
            await self._connect(reconnecting=False)

    async def _connect(self, *, reconnecting: bool) -> None:
        settings = self.settings
        problem = self._config_problem()
        if problem:
            self._fail_before_session(Error(ErrorKind.CONFIG, problem, fatal=True))
            return
        self._set_connection(ConnectionState.RECONNECTING if reconnecting else ConnectionState.CONNECTING)
        credentials = await self._credentials()
        if isinstance(credentials, Error):
            self._fail_before_session(credentials)
            return
        try:
            audio = await open_audio(self.audio_factory, settings)
        except Exception as exc:
            log.exception("audio could not be opened")
            self._fail_before_session(
                Error(
                    ErrorKind.AUDIO,
                    f"The microphone or speaker could not be opened: {exc}",
                    describe_chain(exc),
                    fatal=True,
                )
            )
            return
        self._batch_input(audio)
        try:
            live = self._build(settings, credentials, audio)
        except Exception as exc:
            await close_audio(audio)
            log.exception("session could not be built")
            self._fail_before_session(
                Error(ErrorKind.CONFIG, f"The connection could not be set up: {exc}", describe_chain(exc), fatal=True)
            )
            return
        self._live = live
        try:
            await live.session.start(live.agent, record=False)
        except Exception as exc:
            failure = describe_failure(exc, host=settings.connection.host, deployment=settings.connection.deployment)
            self._session_failed(live, failure)
            return
        if live is not self._live:
            return  # failed while starting
        self._after_start(live)

    def _session_settings(self, settings: Settings) -> Settings:
        """The settings a connection is built with: a conversation continued with its exact
        history replies in text spoken by the TTS deployment (the service answers history in
        text anyway; this makes it the plan instead of a surprise)."""
        if (
            self._resumed is not None
            and self._resumed.mode is ResumeHistory.EXACT
            and settings.model.modalities is Modalities.AUDIO
        ):
            model = settings.model.model_copy(update={"modalities": Modalities.TEXT_AND_TTS})
            return settings.model_copy(update={"model": model})
        return settings

    def _instructions(self) -> str:
        """The user's instructions, and the recap of a continued conversation after them:
        instructions go in session.update, so the recap survives every reconnect."""
        recap = self._resumed.recap if self._resumed is not None else ""
        return instructions_with_recap(self.settings.model.instructions, recap)

    def _build(self, settings: Settings, credentials: Credentials, audio: AudioSeam) -> _Live:
        settings = self._session_settings(settings)
        self._live_counter += 1
        built: list[_Live] = []

        def on_problem(what: str) -> None:
            if built:
                self._on_wire_problem(built[0], what)

        monitor = WireMonitor(on_problem=on_problem)
        http = guarded_http_session(monitor)
        # in Entra mode the model asks the provider for a token at every (re)connect and never
        # sends an api-key header (azassist.core.entra.realtime)
        entra = self.token_provider if credentials.entra_token else None
        model = build_realtime_model(
            realtime_model_kwargs(
                settings,
                credentials,
                hands_free=self._hands_free,
                max_session_duration=self._max_session_duration,
            ),
            http_session=http,
            token_provider=entra,
        )
        tts = None
        if settings.connection.tts_deployment and settings.model.modalities is not Modalities.TEXT:
            # also in voice mode: LiveKit speaks a reply the service sent as text through it
            tts = lk_openai.TTS.with_azure(
                **tts_kwargs(settings, credentials, tts_token_provider(entra) if entra is not None else None)
            )
        session: AgentSession = AgentSession(
            llm=model,
            tts=tts if tts is not None else NOT_GIVEN,
            vad=None,
            turn_handling={
                "turn_detection": "realtime_llm" if self._hands_free else "manual",
                # a barge-in is final: no "false interruption" resume (it needs a pausable
                # output, and the service has already cancelled the reply)
                "interruption": {"resume_false_interruption": False, "false_interruption_timeout": None},
            },
            aec_warmup_duration=None,
            user_away_timeout=None,
        )
        agent = Agent(
            instructions=self._instructions(), chat_ctx=self._history.copy(), tools=self.toolbox.tools_for(settings.tools)
        )
        # what LiveKit will send as history items (it skips empty messages)
        monitor.watch_items([i.id for i in self._history.items if isinstance(i, llm.ChatMessage) and i.text_content])
        meter = MeteredInput(audio.input) if audio.input is not None else None
        live = _Live(self._live_counter, model, session, agent, audio, meter, monitor=monitor, http=http, tts=tts)
        built.append(live)

        text_sink = _AssistantTextSink(lambda text: self._on_assistant_text(live, text))
        live.text_sink = text_sink
        session.input.audio = meter
        wants_audio = settings.model.modalities is not Modalities.TEXT
        if wants_audio and audio.output is not None:
            live.synchronizer = TranscriptSynchronizer(
                next_in_chain_audio=audio.output,
                next_in_chain_text=text_sink,
                word_tokenizer=synchronizer_word_tokenizer(),
            )
            session.output.audio = live.synchronizer.audio_output
            session.output.transcription = live.synchronizer.text_output
        else:
            session.output.audio = None
            session.output.transcription = text_sink
        self._wire(live)
        return live

    def _after_start(self, live: _Live) -> None:
        live.started = True
        if live.connected_once:  # the socket was up before AgentSession.start() returned
            self._set_connection(ConnectionState.CONNECTED)
        self._apply_input_enabled()
        rt = live.agent.realtime_llm_session
        rt.on("session_reconnected", lambda _ev: self._on_rollover(live))
        rt.on("generation_created", lambda ev: self._on_generation_created(live, ev))
        if self.settings.connection.api_version:
            self._send_temperature(live)
        self._report_temperature_capability()
        self._start_levels()
        self._start_task(live, self._watch_replies(live), "azassist-reply-watchdog")
        if live.monitor.watched_items:
            self._start_task(live, self._check_history(live), "azassist-history-check")
        models = unbuilt_models()  # none after the first session: a built schema stays built
        if models:
            task = asyncio.create_task(build_protocol_models(models), name="azassist-build-models")
            live.tasks.add(task)
            task.add_done_callback(live.tasks.discard)

    def _start_task(self, live: _Live, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        live.tasks.add(task)
        task.add_done_callback(live.tasks.discard)
        task.add_done_callback(_log_future_failure(name))

    async def _check_history(self, live: _Live) -> None:
        """Says so when the service did not take the whole history in LiveKit's 5 s: the
        model then answers knowing only part of the conversation (LiveKit only logs it)."""
        monitor = live.monitor
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(monitor.items_acknowledged.wait(), HISTORY_ACK_WAIT_S)
        sent, taken = len(monitor.watched_items), len(monitor.acknowledged_items & monitor.watched_items)
        if taken >= sent or live is not self._live or live.closing:
            return
        self._emit(
            Warning(
                f"Only {taken} of {sent} earlier messages reached the model in time; it answers knowing only "
                "those. Load fewer (Settings › Model › Earlier turns loaded) or use the recap."
            )
        )

    # --- a service that misbehaves -------------------------------------------------------

    async def _watch_replies(self, live: _Live) -> None:
        """Ends a reply the service stopped sending: nothing for ``reply_timeout_s`` while a
        reply is owed (asked for and not started, or started and not done). The plugin has
        no such timeout; without this the window said "thinking" forever."""
        monitor = live.monitor
        while live is self._live and not live.closing:
            if not monitor.pending:
                monitor.pending_changed.clear()
                await monitor.pending_changed.wait()
                continue
            await asyncio.sleep(WATCHDOG_POLL_S)
            limit = float(self.settings.connection.reply_timeout_s)
            if monitor.pending and monitor.silent_for() >= limit and live is self._live and not live.closing:
                self._on_reply_stalled(live, limit)
                return

    def _on_reply_stalled(self, live: _Live, limit: float) -> None:
        started = bool(live.monitor.open_responses)
        what = "stopped sending a reply" if started else "did not start the reply it was asked for"
        log.warning("the service %s: nothing for %.0f s", what, limit)
        self._save_cut_reply(live)
        self._auto_reconnect(
            live,
            Failure(
                ErrorKind.SERVER,
                f"The service {what} (nothing for {limit:.0f} s). What arrived is kept and marked incomplete.",
                f"no server event for {limit:.0f} s with a reply owed",
            ),
        )

    def _on_wire_problem(self, live: _Live, what: str) -> None:
        """A frame the plugin could not have read was skipped; the conversation goes on."""
        if live is self._live and not live.closing:
            self._emit(Warning(f"The service sent {what}; azassist skipped it and carries on."))

    def _auto_reconnect(self, live: _Live, failure: Failure) -> None:
        """Replace a connection that cannot go on, keeping the conversation; after
        ``AUTO_RECONNECTS`` within ``AUTO_RECONNECT_WINDOW_S`` stop instead and say so."""
        now = time.monotonic()
        while self._auto_reconnects and now - self._auto_reconnects[0] > AUTO_RECONNECT_WINDOW_S:
            self._auto_reconnects.popleft()
        if len(self._auto_reconnects) >= AUTO_RECONNECTS:
            message = f"{failure.message} This keeps happening, so azassist stopped; connect again when you want to go on."
            self._session_failed(live, dataclasses.replace(failure, message=message, reconnect=False))
            return
        live.failed = True
        self._auto_reconnects.append(now)
        self._emit(Error(failure.kind, f"{failure.message} Connecting again; the conversation is kept.", failure.detail))
        self._set_connection(ConnectionState.RECONNECTING)  # from now on messages wait for the new connection

        async def again() -> None:
            async with self._connect_lock:
                if live is not self._live:
                    return  # the user disconnected or reconnected meanwhile
                await self._replace_connection(live)

        task = asyncio.create_task(again(), name="azassist-auto-reconnect")
        task.add_done_callback(_log_future_failure("reconnecting"))

    def _save_cut_reply(self, live: _Live) -> None:
        """A reply the connection is losing: everything that arrived of it is saved, marked
        incomplete unless the service had finished it (its audio may still have been
        playing). Also replies the plugin never announced to us."""
        monitor = live.monitor
        reply = self._reply
        if reply is not None and not reply.finished:
            server_text = monitor.text_of(reply.turn_id)
            text = server_text if len(server_text) > len(reply.text) else reply.text
            complete = reply.turn_id in monitor.completed
            if text:
                self._history.add_message(role="assistant", content=text, interrupted=not complete)
            self._finish_reply(reply, text, interrupted=not complete)
        for response_id, text in list(monitor.reply_text.items()):
            if text and response_id not in self._recorded_ids:
                complete = response_id in monitor.completed
                self._history.add_message(role="assistant", content=text, interrupted=not complete)
                self._finish_reply(_Reply(turn_id=response_id), text, interrupted=not complete)
        monitor.forget()

    def _fail_before_session(self, error: Error) -> None:
        self._emit(error)
        self._set_connection(ConnectionState.FAILED)

    # --- LiveKit session events -> our events -------------------------------------------

    def _wire(self, live: _Live) -> None:
        session = live.session

        def current(handler: Callable[..., None]) -> Callable[..., None]:
            def guarded(ev: Any) -> None:
                if live is self._live and not live.closing:
                    try:
                        handler(live, ev)
                    except Exception:
                        log.exception("engine failed handling a session event")

            return guarded

        session.on("agent_state_changed", current(self._on_agent_state))
        session.on("user_state_changed", current(self._on_user_state))
        session.on("user_input_transcribed", current(self._on_user_transcribed))
        session.on("conversation_item_added", current(self._on_item_added))
        session.on("speech_created", current(self._on_speech_created))
        # Deprecated in LiveKit but still emitted, and the only per-response usage (keyed by
        # response id) and the only "WebSocket connected" signal; the base class's ``on``
        # skips the deprecation warning that would otherwise reach the user's log each time.
        rtc.EventEmitter.on(session, "metrics_collected", current(self._on_metrics))  # type: ignore[arg-type]
        session.on("error", current(self._on_error))
        session.on("close", current(self._on_close))

    def _on_agent_state(self, live: _Live, ev: Any) -> None:
        self._agent_state = ev.new_state
        self._batch_input(live.audio)
        if ev.new_state == "speaking":
            if self.settings.model.modalities is not Modalities.TEXT and live.audio.output is not None:
                live.audio_heard = True
            self._close_latency(ev.created_at)
        self._refresh_activity()

    def _on_user_state(self, live: _Live, ev: Any) -> None:
        self._user_state = ev.new_state
        self._batch_input(live.audio)
        if ev.old_state == "speaking" and ev.new_state == "listening" and self._hands_free:
            self._latency_mark = (ev.created_at, "speech")
        self._refresh_activity()

    def _on_user_transcribed(self, live: _Live, ev: Any) -> None:
        if not ev.is_final and ev.transcript.strip():
            self._emit(UserTranscript(turn_id=ev.item_id or "", text=ev.transcript, final=False))

    def _on_speech_created(self, live: _Live, ev: Any) -> None:
        handle = ev.speech_handle
        self._speeches.append(handle)
        handle.add_done_callback(lambda done: self._on_speech_done(live, done))

    def _on_speech_done(self, live: _Live, handle: Any) -> None:
        with contextlib.suppress(ValueError):
            self._speeches.remove(handle)
        reply = self._reply
        if live is self._live and reply is not None and reply.speech is handle and not reply.finished:
            if self._drop_tool_only(reply):
                return
            # LiveKit kept no message (it counted no word as heard); we showed some words, so
            # they join the history a reconnect replays, as in the conversation file.
            if reply.text:
                self._history.add_message(role="assistant", content=reply.text, interrupted=handle.interrupted)
            self._finish_reply(reply, reply.text, interrupted=handle.interrupted)

    def _on_generation_created(self, live: _Live, ev: Any) -> None:
        if live is not self._live or live.closing or not ev.response_id:
            return
        previous = self._reply
        ended = previous is not None and not previous.finished and previous.turn_id != ev.response_id
        if previous is not None and ended and not self._drop_tool_only(previous):
            self._finish_reply(previous, previous.text, interrupted=True)
        speech = next((s for s in reversed(self._speeches) if not s.done()), None)
        self._reply = _Reply(turn_id=ev.response_id, speech=speech)

    def _drop_tool_only(self, reply: _Reply) -> bool:
        """A response that called tools and said nothing ends without a turn: its calls have
        their own rows, and the follow-up response carries the words."""
        if reply.text or not reply.tool_calls:
            return False
        reply.finished = True
        if self._reply is reply:
            self._reply = None
        return True

    def _current_reply(self) -> _Reply:
        if self._reply is None:
            self._reply = _Reply(turn_id=f"reply-{time.time_ns()}")
        return self._reply

    def _on_assistant_text(self, live: _Live, text: str) -> None:
        if live is self._live and not live.closing:
            reply = self._current_reply()
            reply.text = text
            self._emit(AssistantText(turn_id=reply.turn_id, text=text, final=False))

    def _close_latency(self, heard_at: float) -> None:
        if self._latency_mark is None:
            return
        started, trigger = self._latency_mark
        self._latency_mark = None
        if heard_at < started:
            return
        reply = self._current_reply()
        reply.latency = heard_at - started
        self._emit(TurnLatency(reply.turn_id, reply.latency, "typed" if trigger == "typed" else "speech"))

    def _on_item_added(self, live: _Live, ev: Any) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = item.text_content or ""
        if item.id in self._recorded_ids:
            return
        self._recorded_ids.add(item.id)
        self._history.items.append(item.model_copy())
        if item.role == "user":
            typed = item.transcript_confidence is None
            self._emit(UserTranscript(turn_id=item.id, text=text, final=True))
            self._record(
                TurnRecord(
                    role="user",
                    text=text,
                    id=item.id,
                    started_at=item.created_at,
                    source="typed" if typed else "speech",
                )
            )
            return
        response_ids = list(item.metrics.get("provider_request_ids") or [])
        reply = self._reply
        if reply is None or (response_ids and reply.turn_id not in response_ids):
            reply = _Reply(turn_id=response_ids[0] if response_ids else item.id)
        self._finish_reply(
            reply,
            text,
            interrupted=item.interrupted,
            started_at=item.metrics.get("started_speaking_at") or item.created_at,
        )

    def _finish_reply(self, reply: _Reply, text: str, *, interrupted: bool, started_at: float | None = None) -> None:
        reply.finished = True
        if self._live is not None:
            self._live.monitor.reply_text.pop(reply.turn_id, None)  # saved: nothing left to rescue
        if self._reply is reply:
            self._reply = None
            if self._live is not None and self._live.text_sink is not None:
                self._live.text_sink.close_segment()
        self._recorded_ids.add(reply.turn_id)
        self._emit(AssistantText(turn_id=reply.turn_id, text=text, final=True, interrupted=interrupted))
        self._say_if_unspoken(reply.turn_id, text)
        self._record(
            TurnRecord(
                role="assistant",
                text=text,
                id=reply.turn_id,
                interrupted=interrupted,
                started_at=started_at,
                latency_s=reply.latency,
                usage=self._usage_by_response.pop(reply.turn_id, None),
            )
        )

    def _say_if_unspoken(self, turn_id: str, text: str) -> None:
        """A voice reply the service sent as text (it does after text history) has no audio:
        with a TTS deployment LiveKit speaks it; without one it is shown and this says why
        it was not heard, instead of silence nobody explains."""
        live = self._live
        if (
            live is None
            or not text
            or turn_id not in live.monitor.text_only
            or live.tts is not None
            or live.audio.output is None
            or self._session_settings(self.settings).model.modalities is not Modalities.AUDIO
        ):
            return
        self._emit(
            Notice(
                "That reply came from the service as text only, so it is shown but not spoken (the service does "
                "this after earlier turns were loaded); a text-to-speech deployment in Settings › Connection "
                "would speak such replies."
            )
        )

    def _on_metrics(self, live: _Live, ev: Any) -> None:
        metrics = ev.metrics
        if not isinstance(metrics, RealtimeModelMetrics):
            return
        if not metrics.request_id:
            if metrics.acquire_time is not None:  # the WebSocket handshake succeeded
                live.connected_once = True
                if live.started:  # else _after_start says it: LiveKit takes no message before
                    self._set_connection(ConnectionState.CONNECTED)
                    self._refresh_activity()
            return
        usage = TurnUsage.from_metrics(metrics)  # totals, and the text/audio split for pricing
        self._total_input_tokens += usage.input_tokens
        self._total_output_tokens += usage.output_tokens
        turn_id = metrics.request_id
        if turn_id in self._recorded_ids:
            self._append_usage(turn_id, usage)  # the reply was saved before its usage arrived
        else:
            self._usage_by_response[turn_id] = usage
        self._emit(
            Usage(
                turn_id=turn_id,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                conversation_input_tokens=self._total_input_tokens,
                conversation_output_tokens=self._total_output_tokens,
                details=usage,
            )
        )

    def _on_error(self, live: _Live, ev: Any) -> None:
        error = getattr(ev.error, "error", ev.error)
        recoverable = bool(getattr(ev.error, "recoverable", True))
        if not isinstance(error, BaseException):
            error = RuntimeError(str(error))
        if getattr(ev.error, "type", "") == "tts_error":
            # The separate voice failed; the realtime session is fine and the reply is shown.
            failure = describe_failure(
                error,
                host=self.settings.connection.host,
                deployment=self.settings.connection.tts_deployment,
                auth_word=self._auth_word(),
                what="text-to-speech deployment",
            )
            message = f"{failure.message} The reply is shown as text only."
            self._emit(Error(failure.kind, message, failure.detail, fatal=False))
            return
        failure = describe_failure(
            error,
            host=self.settings.connection.host,
            deployment=self.settings.connection.deployment,
            auth_word=self._auth_word(),
        )
        is_connection = isinstance(error, APIConnectionError)
        if not recoverable or (is_connection and not live.connected_once and not failure.retry_may_help):
            self._session_failed(live, failure)
        elif is_connection:
            self._set_connection(ConnectionState.RECONNECTING)
            self._emit(Warning(f"{failure.message} Trying again…"))
            log.warning("connection trouble: %s", failure.detail)
        else:
            self._emit(Error(failure.kind, failure.message, failure.detail, fatal=False))

    def _on_close(self, live: _Live, ev: Any) -> None:
        """The session ended on its own (LiveKit gave up): a failure unless we asked."""
        cause = getattr(getattr(ev, "error", None), "error", None)
        failure = (
            describe_failure(cause, host=self.settings.connection.host, deployment=self.settings.connection.deployment)
            if isinstance(cause, BaseException)
            else Failure(ErrorKind.UNREACHABLE, "The conversation's connection closed.", str(getattr(ev, "reason", "")))
        )
        self._session_failed(live, failure)

    def _on_rollover(self, live: _Live) -> None:
        """LiveKit replaced the WebSocket and replayed the conversation; settings that only
        we send must be sent again."""
        if live is not self._live or live.closing:
            return
        log.info("realtime session rolled over to a new connection; conversation replayed")
        if self.settings.connection.api_version:
            self._send_temperature(live)
        self._set_connection(ConnectionState.CONNECTED)

    def _session_failed(self, live: _Live, failure: Failure) -> None:
        """LiveKit sends no close event on fatal errors: we declare the session dead, say
        why, and free it so a reconnect starts clean. What had arrived of a reply is saved
        first; a failure of reading the service's messages reconnects instead."""
        if live.failed:
            return
        if live is self._live and not live.closing:
            self._save_cut_reply(live)
        _quiet_livekit_close(live.session)
        asyncio.get_running_loop().call_soon(_quiet_livekit_close, live.session)
        if failure.reconnect and live is self._live and live.connected_once:
            self._auto_reconnect(live, failure)
            return
        live.failed = True
        self._emit(Error(failure.kind, failure.message, failure.detail, fatal=True))
        if live is self._live:
            self._live = None
            self._ptt_pressed = False
            self._latency_mark = None
            self._reply = None
            self._set_connection(ConnectionState.FAILED)
        self._schedule_teardown(live)

    # --- teardown ------------------------------------------------------------------------

    def _schedule_teardown(self, live: _Live) -> None:
        previous = self._teardown_task

        async def run() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            await self._teardown(live)

        self._teardown_task = asyncio.create_task(run(), name="azassist-teardown")

    async def _await_teardown(self) -> None:
        if self._teardown_task is not None:
            with contextlib.suppress(Exception):
                await self._teardown_task
            self._teardown_task = None

    async def _teardown(self, live: _Live) -> None:
        live.closing = True
        self.toolbox.cancel_questions()  # an open "Allow?" would hold LiveKit's close
        for task in list(live.tasks):
            task.cancel()
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("session", live.session.aclose),
            ("realtime session", lambda: _close_realtime_session(live.agent)),
            ("model", live.model.aclose),
        ]
        if live.tts is not None:
            steps.append(("tts", live.tts.aclose))
        if live.http is not None:
            steps.append(("http session", live.http.close))
        steps.append(("audio", lambda: close_audio(live.audio)))
        for name, close in steps:
            try:
                await asyncio.wait_for(close(), CLOSE_TIMEOUT)
            except Exception:
                log.warning("closing the %s failed", name, exc_info=True)

    async def disconnect(self) -> None:
        async with self._connect_lock:
            if self._live is not None:
                self._save_cut_reply(self._live)
            live, self._live = self._live, None
            self._ptt_pressed = False
            self._latency_mark = None
            if live is not None:
                self._schedule_teardown(live)
            await self._await_teardown()
            if self._levels_task is not None:
                self._levels_task.cancel()
                self._levels_task = None
            self._set_connection(ConnectionState.DISCONNECTED)

    async def reconnect(self) -> None:
        async with self._connect_lock:
            await self._replace_connection(self._live)

    async def _replace_connection(self, live: _Live | None) -> None:
        """Drop ``live`` (saving what had arrived of a reply) and connect afresh with the
        conversation. Called with the connect lock held."""
        if live is not None and live is self._live:
            self._save_cut_reply(live)
        self._live = None
        self._ptt_pressed = False
        self._latency_mark = None
        self._reply = None
        self._set_connection(ConnectionState.RECONNECTING)
        if live is not None:
            self._schedule_teardown(live)
        await self._await_teardown()
        await self._connect(reconnecting=True)

    async def aclose(self) -> None:
        """Disconnect, stop the timers and close the conversation file."""
        self.timers.cancel_all()
        await self.disconnect()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- settings while talking ----------------------------------------------------------

    async def apply_settings(self, settings: Settings) -> None:
        old, self.settings = self.settings, settings
        live = self._live
        apply_audio = getattr(live.audio, "apply", None) if live is not None else None
        if callable(apply_audio):
            try:
                apply_audio(settings)
            except Exception as exc:
                self._emit(Error(ErrorKind.AUDIO, f"The audio settings could not be applied: {exc}", describe_chain(exc)))
        changed = _changed_fields(old, settings)
        if ("connection", "api_version") in changed:
            self._report_temperature_capability()
        if live is None:
            if ("turn_detection", "mode") in changed:
                self._hands_free = settings.turn_detection.mode is not TurnMode.PUSH_TO_TALK
            return  # everything applies at the next connect
        preview = bool(old.connection.api_version)
        for group, name in changed:
            key = f"{group}.{name}"
            if group in ("audio", "ui"):
                continue
            if group == "model" and name in ("resume_history", "recap_chars", "history_items"):
                continue  # used when a conversation is continued
            if key == "voice.voice":
                if live.audio_heard or settings.model.modalities is not Modalities.AUDIO:
                    self._emit(
                        Notice(
                            "The assistant has already spoken with the current voice; the new "
                            "voice applies when you reconnect (the conversation is kept).",
                            key,
                        )
                    )
                else:
                    live.model.update_options(voice=settings.voice.voice)
            elif key == "voice.speed":
                if live.tts is not None:
                    live.tts.update_options(speed=settings.voice.speed)
                if settings.model.modalities is Modalities.AUDIO:
                    live.model.update_options(speed=settings.voice.speed)
            elif key == "model.instructions":
                try:
                    await live.agent.update_instructions(self._instructions())
                except Exception as exc:  # RealtimeError: the session is going away
                    message = "The new instructions could not be sent; they apply on the next connect."
                    self._emit(Error(ErrorKind.SERVER, message, describe_chain(exc)))
            elif key == "model.temperature":
                if preview:
                    self._send_temperature(live)
                else:
                    self._report_temperature_capability()
            elif key == "connection.transcription_deployment":
                live.model.update_options(
                    input_audio_transcription=transcription_for(settings.connection.transcription_deployment)
                )
            elif group == "turn_detection":
                continue  # handled once below
            elif field_apply_mode(group, name) != "live":
                title = type(getattr(settings, group)).model_fields[name].title or name
                self._emit(
                    Notice(
                        f"{title} changes when you reconnect. Reconnect to apply it now; "
                        "the conversation is kept.",
                        key,
                    )
                )
        if any(group == "turn_detection" for group, _ in changed):
            if ("turn_detection", "mode") in changed:
                self.set_hands_free(settings.turn_detection.mode is not TurnMode.PUSH_TO_TALK)
            elif self._hands_free:
                live.model.update_options(
                    turn_detection=turn_detection_for(settings.turn_detection, hands_free=True)
                )

    def _send_temperature(self, live: _Live) -> None:
        """with_azure accepts ``temperature`` and never sends it. On the preview protocol the
        session still takes one, so it goes out as our own ``session.update``."""
        try:
            rt = live.agent.realtime_llm_session
        except RuntimeError:
            return
        rt.send_event(  # type: ignore[attr-defined]  # the openai plugin's session has it
            {
                "type": "session.update",
                "event_id": f"azassist_temperature_{time.time_ns()}",
                "session": {"temperature": self.settings.model.temperature},
            }
        )

    def _report_temperature_capability(self) -> None:
        if self.settings.connection.api_version:
            self._emit(Capability("model.temperature", True, PREVIEW_TEMPERATURE))
        else:
            self._emit(Capability("model.temperature", False, TEMPERATURE_UNSUPPORTED))

    # --- talking -------------------------------------------------------------------------

    def _not_connected(self, what: str) -> bool:
        if self._live is None or self._connection not in (ConnectionState.CONNECTED, ConnectionState.CONNECTING):
            self._emit(Notice(f"Connect first to {what}."))
            return True
        return False

    def send_text(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self._connection is ConnectionState.RECONNECTING or (self._live is not None and self._live.failed):
            # the connection is being replaced: a message sent to the old one would be lost
            self._waiting_texts.append(text)
            self._emit(Notice("Reconnecting; your message will be sent as soon as the connection is back."))
            return
        if self._not_connected("send a message"):
            return
        live = self._live
        assert live is not None
        self._stop_speech(live)
        self._latency_mark = (time.time(), "typed")
        try:
            handle = live.session.generate_reply(user_input=text)
        except RuntimeError as exc:  # LiveKit is closing the session after a failure
            self._latency_mark = None
            self._emit(
                Error(ErrorKind.UNREACHABLE, "Your message was not sent: the connection is ending. Send it again once connected.",
                      describe_chain(exc))
            )
            return
        live.monitor.expect_reply()

        def done(_: Any) -> None:
            error = handle.exception() if not handle.interrupted else None
            if error is None or live is not self._live:
                return
            failure = describe_failure(error, host=self.settings.connection.host)
            if failure.kind is ErrorKind.INTERNAL and type(error).__name__ == "RealtimeError":
                # the service refused the request or the session ended: its own error
                # event has been shown already, with the words the service used
                failure = Failure(ErrorKind.SERVER, "the service refused it or the connection ended.", failure.detail)
            self._emit(Error(failure.kind, f"Your message got no reply: {failure.message}", failure.detail))

        handle.add_done_callback(done)

    def _stop_speech(self, live: _Live) -> None:
        try:
            live.session.interrupt()
        except RuntimeError:
            log.debug("nothing to interrupt", exc_info=True)

    def interrupt(self) -> None:
        if self._live is not None:
            self._stop_speech(self._live)

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        self._apply_input_enabled()

    def _apply_input_enabled(self) -> None:
        """The microphone reaches the session only when not muted and when hands-free or
        while push-to-talk is held; the audio layer is told about mute too (its meter).
        Hands-free, it hands over whole appends (fewer wake-ups, no later on the wire);
        push-to-talk keeps per-block frames, so a release loses at most one block."""
        live = self._live
        if live is None or live.meter is None:
            return
        mute = getattr(live.audio, "set_muted", None)
        if callable(mute):
            mute(self._muted)
        self._batch_input(live.audio)
        live.session.input.set_audio_enabled(not self._muted and (self._hands_free or self._ptt_pressed))

    def _batch_input(self, audio: Any) -> None:
        """Hands-free, the microphone reaches the loop in whole appends: one every 20 ms
        while someone talks (the server hears the end of a sentence, or a barge-in, as soon
        as it can), five at once while the room is quiet (fewer wake-ups of the loop: idle
        CPU). Set before the session starts too: the plugin cuts its appends from the first
        frame it gets, and batches line up with them only if every frame was a batch."""
        batch = getattr(audio, "batch_input", None)
        if not callable(batch):
            return
        if not self._hands_free:
            batch(0)
        elif self._user_state == "speaking" or self._agent_state == "speaking":
            batch(APPEND_SAMPLES)
        else:
            batch(APPEND_SAMPLES * QUIET_APPENDS_PER_WAKE)

    def set_hands_free(self, hands_free: bool) -> None:
        """Switch live: the server's turn detection is updated on the wire; push-to-talk
        sends ``turn_detection: null`` and the engine commits turns itself."""
        if hands_free == self._hands_free:
            return
        self._hands_free = hands_free
        self._ptt_pressed = False
        live = self._live
        if live is not None:
            live.model.update_options(
                turn_detection=turn_detection_for(self.settings.turn_detection, hands_free=hands_free)
            )
            if not hands_free:
                with contextlib.suppress(RuntimeError):
                    live.session.clear_user_turn()
            self._apply_input_enabled()
        self._refresh_activity()

    def push_to_talk_press(self) -> None:
        live = self._live
        if live is None or self._hands_free or self._ptt_pressed:
            return
        self._ptt_pressed = True
        self._stop_speech(live)
        with contextlib.suppress(RuntimeError):
            live.session.clear_user_turn()
        self._ptt_mark = live.meter.seconds_captured if live.meter else 0.0
        self._apply_input_enabled()
        self._refresh_activity()

    def push_to_talk_release(self) -> None:
        live = self._live
        if live is None or not self._ptt_pressed:
            return
        self._ptt_pressed = False
        self._apply_input_enabled()
        captured = (live.meter.seconds_captured if live.meter else 0.0) - self._ptt_mark
        if captured < self._min_ptt_seconds:
            with contextlib.suppress(RuntimeError):
                live.session.clear_user_turn()
            self._emit(Notice("That press was too short to carry any words, so nothing was sent. Hold the key while you speak."))
        else:
            self._latency_mark = (time.time(), "speech")
            try:
                future = live.session.commit_user_turn()
            except RuntimeError as exc:  # LiveKit is closing the session after a failure
                self._latency_mark = None
                self._emit(Error(ErrorKind.UNREACHABLE, "What you said was not sent: the connection is ending.", describe_chain(exc)))
            else:
                live.monitor.expect_reply()
                future.add_done_callback(_log_future_failure("commit_user_turn"))
        self._refresh_activity()

    def push_to_talk_cancel(self) -> None:
        live = self._live
        if live is None or not self._ptt_pressed:
            return
        self._ptt_pressed = False
        self._apply_input_enabled()
        with contextlib.suppress(RuntimeError):
            live.session.clear_user_turn()
        self._refresh_activity()

    def new_conversation(self) -> None:
        """Forget the conversation (here and on the server); the next turn starts a new file."""
        self._forget_conversation()
        live = self._live
        if live is not None:
            live.monitor.reply_text.clear()  # the old conversation's replies stay in the old file
            self._stop_speech(live)
            task = asyncio.create_task(live.agent.update_chat_ctx(llm.ChatContext.empty()))
            live.tasks.add(task)
            task.add_done_callback(live.tasks.discard)
            task.add_done_callback(_log_future_failure("clearing the conversation"))

    def _forget_conversation(self) -> None:
        self.toolbox.permissions.forget()  # "allow for this conversation" ends with it
        self.tool_calls = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._conversation_path = None
        self._resumed = None
        self._history = llm.ChatContext.empty()
        self.turns = []
        self._recorded_ids.clear()
        self._usage_by_response.clear()
        self._total_input_tokens = self._total_output_tokens = 0
        self._reply = None
        self._latency_mark = None

    async def continue_conversation(self, path: Path) -> Conversation | None:
        """Go on with a saved conversation: its turns become this conversation's earlier
        turns, new ones are appended to the same file (after a ``resumed`` marker), and the
        model is given the past as Settings › Model › Continued conversations says: a recap
        in the instructions, or the exact turns as history with replies in text spoken by
        the TTS deployment. Without one, exact history falls back to the recap, with a
        notice. Connected, it reconnects so all of it applies. A file that cannot be read is
        an ``Error`` and ``None`` (the current conversation goes on unchanged)."""
        try:
            conversation = read_conversation(path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._emit(Error(ErrorKind.CONFIG, f"{path.name} could not be continued: {reason}", describe_chain(exc)))
            return None
        model = self.settings.model
        mode = model.resume_history
        if mode is ResumeHistory.EXACT and model.modalities is Modalities.AUDIO and not self.settings.connection.tts_deployment:
            self._emit(
                Notice(
                    "Exact history needs a text-to-speech deployment (Settings › Connection): the service "
                    "answers loaded history in text, and that voice speaks it. The earlier turns are given "
                    "to the model as a recap instead.",
                    "model.resume_history",
                )
            )
            mode = ResumeHistory.RECAP
        live = self._live
        if live is not None:
            live.monitor.reply_text.clear()  # the old conversation's replies stay in the old file
            self._stop_speech(live)
        self._forget_conversation()
        earlier = list(conversation.turns)
        resumed = _Resumed(path, earlier, mode)
        if mode is ResumeHistory.RECAP:
            resumed.recap = build_recap(earlier, model.recap_chars)
        else:
            kept = [t for t in earlier if t.text.strip()][-model.history_items :]
            for turn in kept:
                self._history.add_message(role=turn.role, content=turn.text, interrupted=turn.interrupted)
            if model.modalities is Modalities.AUDIO:
                self._emit(
                    Notice(
                        f"The last {len(kept)} turns are loaded as history, so in this conversation replies come "
                        "as text spoken by the text-to-speech deployment.",
                        "model.resume_history",
                    )
                )
        self._resumed = resumed
        self.turns = list(earlier)
        self._conversation_path = path
        self._recorded_ids.update(t.id for t in earlier if t.id)
        if self._live is not None:
            await self.reconnect()
        return conversation

    # --- levels and the conversation file -----------------------------------------------

    def _start_levels(self) -> None:
        if self._level_listeners and (self._levels_task is None or self._levels_task.done()):
            self._levels_task = asyncio.create_task(self._levels_loop(), name="azassist-levels")

    async def _levels_loop(self) -> None:
        """Meter readings for the listeners that show them. A quiet room is said once, not
        30 times a second (``SilenceGate``), so meters do not repaint for nothing; then the
        loop stops polling and sleeps until the audio thread hears something (an idle
        window otherwise woke its event loop 60 times a second for this alone)."""
        interval = 1.0 / LEVELS_PER_SECOND
        self._silence_gate.reset()
        source: Any = None  # what gave the last reading
        source_live: _Live | None = None
        while self._level_listeners:
            quiet = self._silence_gate.quiet and source_live is self._live
            if not (quiet and await wait_for_sound_in(source, QUIET_RECHECK_SECONDS)):
                await asyncio.sleep(interval)
            live = source_live = self._live
            if live is None or self._connection is not ConnectionState.CONNECTED:
                continue
            reading, source = read_levels(live.audio), live.audio
            if reading is None and live.meter is not None:
                live.meter.measuring = True  # the audio layer measures nothing itself
                reading, source = live.meter.read_levels(), live.meter
            if reading is None or not self._silence_gate.passes(*reading):
                continue
            self._emit(Levels(*reading))

    def _record(self, turn: TurnRecord | ToolRecord) -> None:
        if isinstance(turn, TurnRecord):
            self.turns.append(turn)
        else:
            self.tool_calls.append(turn)
        if self._conversations_dir is None:
            return
        try:
            if self._writer is None and self._resumed is not None:
                self._writer = ConversationWriter.resume(self._resumed.path)
            elif self._writer is None:
                self._writer = ConversationWriter(self._conversations_dir, conversation_header(self.settings))
                self._conversation_path = self._writer.path
            if isinstance(turn, TurnRecord):
                self._writer.append(turn)
            else:
                self._writer.append_tool(turn)
        except OSError as exc:
            self._emit(
                Error(ErrorKind.INTERNAL, f"The conversation could not be saved: {exc.strerror or exc}", describe_chain(exc))
            )

    # --- tools ----------------------------------------------------------------------------

    def _on_tool_event(self, event: ToolEvent) -> None:
        """A tool call's progress, an MCP server's state, a reminder: to the listeners; a
        finished call is saved in the conversation file as its own row."""
        self._emit(event)
        reply = self._reply
        if isinstance(event, ToolActivity) and event.status in ("asking", "running") and reply is not None and not reply.finished:
            reply.tool_calls += 1
        if isinstance(event, ToolActivity) and event.finished:
            self._record(
                ToolRecord(event.call_id, event.tool, event.arguments, event.status, event.result, event.duration_s, event.server)
            )

    def _on_timer_due(self, timer: Timer) -> None:
        """The tray says it; a connected assistant says it too (a reply of its own)."""
        self._emit(ReminderDue(timer.label, f"Reminder: {timer.label}"))
        live = self._live
        if live is None or not live.started or live.closing or self._connection is not ConnectionState.CONNECTED:
            return
        try:
            live.session.generate_reply(
                instructions=f"A timer the user set has just gone off: '{timer.label}'. Tell them so in one short sentence."
            )
        except RuntimeError:
            log.debug("the reminder could not be spoken", exc_info=True)
            return
        live.monitor.expect_reply()

    def _append_usage(self, turn_id: str, usage: TurnUsage) -> None:
        if self._writer is None:
            return
        try:
            self._writer.append_usage(turn_id, usage)
        except OSError:
            log.exception("could not save token usage")


async def _close_realtime_session(agent: Agent) -> None:
    """LiveKit's realtime session can outlive the AgentSession's close while it retries a
    dropped socket; its task then failed on the closed HTTP session and asyncio logged
    "Task exception was never retrieved". Closed here, before the HTTP session; a task
    still retrying after the timeout is cancelled."""
    try:
        realtime = agent.realtime_llm_session
    except RuntimeError:
        return  # never started
    task = getattr(realtime, "_main_atask", None)  # private; absent in other versions
    if isinstance(task, asyncio.Task):
        task.add_done_callback(_take_exception)
    try:
        await asyncio.wait_for(asyncio.shield(realtime.aclose()), CLOSE_TIMEOUT - 1)
    except Exception:
        log.debug("the realtime session did not close by itself", exc_info=True)
    if isinstance(task, asyncio.Task) and not task.done():
        task.cancel()


def _quiet_livekit_close(session: AgentSession) -> None:
    """On a fatal error LiveKit 1.8.9 closes the session in a task of its own that re-raises
    the error and is never awaited: asyncio then logged "Task exception was never
    retrieved" and the window showed a second, cryptic error for a failure already said in
    plain words. The error is taken here (private attribute; absent in other versions)."""
    task = getattr(session, "_closing_task", None)
    if isinstance(task, asyncio.Task):
        task.add_done_callback(_take_exception)


def _take_exception(task: asyncio.Task[Any]) -> None:
    error = None if task.cancelled() else task.exception()
    if error is not None:
        log.debug("LiveKit's session closed after the failure: %s", describe_chain(error))


def _scrubbed(event: EngineEvent) -> EngineEvent:
    """No secret reaches a listener (the window, stderr, a script): whatever a service's
    message quotes, keys and tokens come out as ***."""
    if isinstance(event, Error):
        message, detail = scrub(event.message), scrub(event.detail)
        if message != event.message or detail != event.detail:
            return dataclasses.replace(event, message=message, detail=detail)
    elif isinstance(event, (Warning, Notice)):
        message = scrub(event.message)
        if message != event.message:
            return dataclasses.replace(event, message=message)
    elif isinstance(event, (AssistantText, UserTranscript)):
        text = redact(event.text)
        if text != event.text:
            return dataclasses.replace(event, text=text)
    return event


def _changed_fields(old: Settings, new: Settings) -> list[tuple[str, str]]:
    changed = []
    for group in GROUPS:
        before, after = getattr(old, group), getattr(new, group)
        for name in type(after).model_fields:
            if getattr(before, name) != getattr(after, name):
                changed.append((group, name))
    return changed


def _log_future_failure(what: str) -> Callable[[asyncio.Future[Any]], None]:
    def callback(future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.warning("%s failed: %s", what, describe_chain(error))

    return callback
