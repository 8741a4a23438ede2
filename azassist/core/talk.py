"""``azassist talk``: hold a conversation without the window.

The same engine as the window, driven from the command line: saved settings or flags, a
real microphone/speaker or WAV files, typed messages, push-to-talk. It prints the
transcript as it goes and exits 0 on success, 1 when an audio device failed or azassist
itself did, 2 on a usage or settings error, 3 on a connection, authentication or service
error (the plain-words message goes to stderr), 130 when Ctrl+C came before the conversation
began. Whatever the service does, it ends: a
reply that stops arriving is given up after the reply timeout, and SIGINT/SIGTERM stop it
at once with the conversation saved. The
benchmarks drive it; ``--demo`` runs it against the in-process local server.

The API key comes from ``AZURE_OPENAI_API_KEY`` or the keyring, never from the command line;
with Entra ID sign-in (``--entra-id``), the saved sign-in, else the sign-in method chosen
(``--sign-in``: a browser, a device code printed here, or the Azure CLI's login); a token
in ``AZURE_OPENAI_AD_TOKEN`` still wins when set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from pydantic import ValidationError

from azassist.core.paths import AppPaths, resolve_paths
from azassist.core.settings import (
    AuthMode,
    Modalities,
    Settings,
    SettingsStore,
    SignInMethod,
    TurnMode,
    describe_error,
)

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl+C
DEMO_DEPLOYMENT = "gpt-realtime"
EARLIER_TURNS_SHOWN = 6  # --continue: the last turns printed (to stderr) before connecting
ENTRA_TOKEN_ENV = "AZURE_OPENAI_AD_TOKEN"  # a Microsoft Entra ID token, when sign-in is Entra ID


class UsageError(Exception):
    """Bad flags or settings: exit 2 with this message."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azassist talk",
        description=(
            "Talk to your realtime deployment from the terminal. Uses your saved settings; "
            "flags override them for this run. The API key is read from the keyring or "
            "AZURE_OPENAI_API_KEY."
        ),
        epilog=(
            "exit status: 0 success, 1 audio device or internal failure, 2 usage or settings error, "
            "3 connection, sign-in or service error, 130 interrupted before connecting"
        ),
    )
    target = parser.add_argument_group("where to connect")
    target.add_argument("--endpoint", metavar="URL", help="e.g. https://my-resource.openai.azure.com")
    target.add_argument("--deployment", metavar="NAME", help="the realtime deployment")
    target.add_argument("--api-version", metavar="VERSION", help="legacy preview protocol only")
    target.add_argument(
        "--entra-id", action="store_true",
        help=(
            "sign in with Microsoft Entra ID instead of an API key (the saved sign-in, else --sign-in; "
            f"a token in ${ENTRA_TOKEN_ENV} is used as is)"
        ),
    )
    target.add_argument(
        "--sign-in", choices=[m.value.replace("_", "-") for m in SignInMethod], dest="sign_in",
        help="Entra ID: how to sign in (browser, device-code for a terminal with no browser, azure-cli)",
    )
    target.add_argument("--tenant", metavar="TENANT", help="Entra ID: the tenant ID or domain (a guest's resource tenant)")
    target.add_argument("--demo", action="store_true", help="talk to the built-in local demo server (offline)")

    sound = parser.add_argument_group("sound")
    mic = sound.add_mutually_exclusive_group()
    mic.add_argument("--mic", action="store_true", help="listen on the microphone")
    mic.add_argument("--input-wav", metavar="FILE", type=Path, help="speak this WAV file as the microphone")
    out = sound.add_mutually_exclusive_group()
    out.add_argument("--speaker", action="store_true", help="play replies on the speaker")
    out.add_argument("--output-wav", metavar="FILE", type=Path, help="write the replies' audio to this WAV file")
    sound.add_argument(
        "--pace", type=float, default=1.0, metavar="FACTOR",
        help="feed --input-wav and 'play' --output-wav this many times faster than real time (default 1)",
    )

    talk = parser.add_argument_group("conversation")
    talk.add_argument("--say", action="append", default=[], metavar="TEXT", help="send a typed message (repeatable)")
    talk.add_argument("--push-to-talk", action="store_true", help="send --input-wav as one push-to-talk turn")
    talk.add_argument("--text-only", action="store_true", help="replies in text, no audio")
    talk.add_argument("--voice", metavar="NAME", help="assistant voice for this run")
    talk.add_argument("--instructions", metavar="TEXT", help="instructions for this run")
    talk.add_argument("--transcript", metavar="FILE", type=Path, help="also write the transcript here (.md, .json or text)")
    talk.add_argument(
        "--allow-tools", action="store_true",
        help="let tools that ask first (clipboard, opening web addresses, MCP tools that change things) run without "
        "asking: for scripts; without it a script's such calls are refused, and typed input is asked (o/c/N)",
    )
    talk.add_argument(
        "--continue", dest="continue_file", metavar="FILE", type=Path,
        help="continue this saved conversation (.jsonl): the model is given the earlier turns as the settings say, "
        "new turns are appended to the same file",
    )

    until = parser.add_mutually_exclusive_group()
    until.add_argument("--until-idle", action="store_true", help="stop once everything was said and answered")
    until.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    parser.add_argument(
        "--idle-seconds", type=float, default=1.5, metavar="S",
        help="--until-idle: quiet time that counts as idle (default 1.5)",
    )
    parser.add_argument(
        "--reply-timeout", type=int, metavar="S",
        help="give up on a reply the service stops sending after S seconds (5-300; default from settings, 20)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the transcript")
    return parser


@dataclass
class TalkOptions:
    args: argparse.Namespace
    settings: Settings
    demo_key: str | None = None


def _override(settings: Settings, changes: dict[str, dict[str, Any]]) -> Settings:
    data = settings.model_dump()
    for group, values in changes.items():
        data[group].update(values)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise UsageError("; ".join(describe_error(exc))) from exc


def settings_for(args: argparse.Namespace, saved: Settings) -> Settings:
    """Saved settings with this run's flags on top; invalid combinations are usage errors."""
    if args.push_to_talk and not args.input_wav:
        raise UsageError("--push-to-talk needs --input-wav (the window handles push-to-talk on the microphone)")
    if args.pace < 0:
        raise UsageError("--pace must be 0 (as fast as possible) or more")
    connection: dict[str, Any] = {}
    if args.endpoint is not None:
        connection["endpoint"] = args.endpoint
    if args.deployment is not None:
        connection["deployment"] = args.deployment
    if args.api_version is not None:
        connection["api_version"] = args.api_version
    if args.entra_id:
        connection["auth_mode"] = AuthMode.ENTRA_ID
    if args.sign_in:
        connection["entra_method"] = SignInMethod(args.sign_in.replace("-", "_"))
    if args.tenant:
        connection["entra_tenant"] = args.tenant
    if args.reply_timeout is not None:
        connection["reply_timeout_s"] = args.reply_timeout
    changes: dict[str, dict[str, Any]] = {"connection": connection, "voice": {}, "model": {}, "turn_detection": {}}
    if args.voice:
        changes["voice"]["voice"] = args.voice
    if args.instructions:
        changes["model"]["instructions"] = args.instructions
    if args.text_only:
        changes["model"]["modalities"] = Modalities.TEXT
    if args.push_to_talk:
        changes["turn_detection"]["mode"] = TurnMode.PUSH_TO_TALK
    elif (args.input_wav or args.mic) and saved.turn_detection.mode is TurnMode.PUSH_TO_TALK:
        changes["turn_detection"]["mode"] = TurnMode.SERVER_VAD
    settings = _override(saved, changes)
    if not args.demo and not settings.connection.is_configured:
        raise UsageError(
            "No endpoint and deployment are set: pass --endpoint URL --deployment NAME, "
            "save them in the window's settings, or use --demo"
        )
    return settings


def _check_continue_file(path: Path) -> None:
    """A --continue file that is not a readable conversation is a usage error."""
    from azassist.core.transcript import read_conversation

    try:
        read_conversation(path)
    except OSError as exc:
        raise UsageError(f"Cannot continue {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UsageError(f"Cannot continue {path}: {exc}") from exc


def read_wav(path: Path) -> np.ndarray:
    """The --input-wav file as 24 kHz mono int16; an unusable file is a usage error."""
    from azassist.core.audio.files import AudioFileError
    from azassist.core.audio.files import read_wav as read_audio_file

    try:
        return read_audio_file(path)
    except AudioFileError as exc:
        raise UsageError(f"Cannot read {path}: {exc}") from exc


@dataclass
class _Run:
    """What the conversation has done so far, for deciding when it is over."""

    user_turns: int = 0
    assistant_turns: int = 0
    fatal: Any = None
    last_change: float = field(default_factory=time.monotonic)
    activity: Any = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)


class _Printer:
    """Prints final turns to stdout (and the --transcript text file) as they complete."""

    def __init__(self, quiet: bool, transcript: Path | None) -> None:
        self.quiet = quiet
        self._file: TextIO | None = None
        if transcript is not None and transcript.suffix.lower() not in (".md", ".json"):
            transcript.parent.mkdir(parents=True, exist_ok=True)
            self._file = transcript.open("w", encoding="utf-8")

    def turn(self, who: str, text: str, interrupted: bool = False) -> None:
        line = f"{who}: {text}" + (" [interrupted]" if interrupted else "")
        print(line, flush=True)
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()

    def status(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@contextlib.asynccontextmanager
async def _demo_server(options: TalkOptions) -> AsyncIterator[TalkOptions]:
    """The local realtime server in this process, with the demo responder."""
    if not options.args.demo:
        yield options
        return
    from azassist.core.preload import import_off_thread

    LocalRealtimeServer = (await import_off_thread("azassist.simulator.server")).LocalRealtimeServer
    key = secrets.token_urlsafe(24)
    async with LocalRealtimeServer(
        api_key=key, deployments=(DEMO_DEPLOYMENT,), responder="demo", pace=options.args.pace or 0
    ) as server:
        settings = _override(
            options.settings,
            {"connection": {"endpoint": server.endpoint, "deployment": DEMO_DEPLOYMENT, "api_version": ""}},
        )
        yield TalkOptions(options.args, settings, demo_key=key)


def _audio_factory(args: argparse.Namespace, opened: list[Any], report: Any) -> Any:
    """Microphone/speaker, WAV files, or nothing, as asked. The --input-wav samples are fed
    after connecting (so push-to-talk can be pressed first): the input is a memory array."""
    from azassist.core.audio.facade import open_device_audio, open_file_audio
    from azassist.core.engine import AudioPair

    async def factory(settings: Settings) -> Any:
        if args.mic or args.speaker:
            devices = await open_device_audio(settings.audio, on_event=report)
            audio = AudioPair(
                input=devices.input if args.mic else None,
                output=devices.output if args.speaker else None,
                levels=devices.read_levels,
                close=devices.aclose,
                on_settings=devices.apply,
                batch=devices.batch_input if args.mic else None,
            )
            if args.input_wav or args.output_wav:
                files = open_file_audio(None, args.output_wav, pace=args.pace)
                audio.input = audio.input or files.input
                audio.output = audio.output or files.output

                async def close_both() -> None:
                    await files.aclose()
                    await devices.aclose()

                audio.close = close_both
        else:
            audio = open_file_audio(None, args.output_wav, pace=args.pace)  # type: ignore[assignment]
        opened.append(audio)
        return audio

    return factory


async def _talk(options: TalkOptions, paths: AppPaths) -> int:
    from azassist.core.preload import load_engine

    await load_engine()  # begun on its thread by main(); the local demo server started meanwhile
    from azassist.core.credentials import CredentialStore
    from azassist.core.engine import Engine, EnvironmentKeySource, MemoryKeySource, StaticTokenProvider
    from azassist.core.events import (
        Activity,
        AssistantText,
        ConnectionState,
        Error,
        ErrorKind,
        Levels,
        Notice,
        StateChanged,
        UserTranscript,
        Warning,
    )

    args = options.args
    printer = _Printer(args.quiet, args.transcript)
    run = _Run()
    samples = read_wav(args.input_wav) if args.input_wav else None
    opened: list[Any] = []
    keys = MemoryKeySource(_secret(options.demo_key)) if options.demo_key else EnvironmentKeySource(CredentialStore())
    token = os.environ.get(ENTRA_TOKEN_ENV, "").strip()
    from azassist.core.tools.policy import ReminderDue, ToolActivity, ToolServerStatus, allow_everything, refuse_everything

    # typed lines are the messages: a tool that asks first is asked on the same input;
    # a script (--say, a WAV, --until-idle, --duration) has no one to ask: --allow-tools or no
    interactive = not (args.say or samples is not None or args.until_idle or args.duration is not None)
    asker = _TerminalQuestions()

    engine = Engine(
        options.settings,
        keys=keys,
        token_provider=StaticTokenProvider(_secret(token)) if token else _entra_provider(options.settings, paths),
        conversations_dir=paths.conversations_dir,
        confirm_tool=(
            allow_everything if args.allow_tools else asker.confirm if interactive else refuse_everything
        ),
    )
    engine.audio_factory = _audio_factory(args, opened, engine.report)

    def on_event(event: Any) -> None:
        if not isinstance(event, Levels):
            run.last_change = time.monotonic()
        if isinstance(event, StateChanged):
            run.activity = event.activity
            if event.connection is ConnectionState.CONNECTED and not run.connected.is_set():
                run.connected.set()
                printer.status(f"Connected to {options.settings.connection.host} ({options.settings.connection.deployment}).")
        elif isinstance(event, UserTranscript) and event.final:
            run.user_turns += 1
            printer.turn("You", event.text)
        elif isinstance(event, AssistantText) and event.final:
            run.assistant_turns += 1
            printer.turn("Assistant", event.text, event.interrupted)
        elif isinstance(event, Error):
            print(f"error: {event.message}", file=sys.stderr, flush=True)
            if event.fatal:
                run.fatal = event
                run.connected.set()
        elif isinstance(event, (Warning, Notice)):
            printer.status(f"note: {event.message}")
        elif isinstance(event, ToolActivity) and event.finished:
            printer.status(_tool_row(event))
            if event.status == "refused" and not args.allow_tools and not interactive:
                printer.status("note: that tool asks first; run with --allow-tools to let it run without asking.")
        elif isinstance(event, ToolServerStatus):
            printer.status(f"{'' if event.ok else 'note: '}{event.message}")
        elif isinstance(event, ReminderDue):
            printer.status(event.message)

    engine.subscribe(on_event, levels=False)  # no meters in a terminal
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    def idle() -> bool:
        audio_input = opened[-1].input if opened else None
        input_done = audio_input is None or not hasattr(audio_input, "idle") or audio_input.idle
        answered = not engine.busy  # a refused request or a given-up reply counts as answered
        quiet = time.monotonic() - run.last_change >= args.idle_seconds
        calm = run.activity in (Activity.LISTENING, Activity.IDLE, None)
        return input_done and answered and quiet and calm

    try:
        if args.continue_file is not None:
            conversation = await engine.continue_conversation(args.continue_file)
            if conversation is None:  # the file went away since it was checked: said as an error
                return EXIT_USAGE  # after the finally below closes everything
            printer.status(f"Continuing {args.continue_file} ({len(conversation.turns)} earlier turns).")
            for turn in conversation.turns[-EARLIER_TURNS_SHOWN:]:
                printer.status(f"  earlier: {'You' if turn.role == 'user' else 'Assistant'}: {turn.text}")
        await engine.connect()
        await _first_of(run.connected.wait(), stop.wait())
        if run.fatal is None and not stop.is_set():
            audio_input = opened[-1].input if opened else None
            if samples is not None and audio_input is not None:
                if args.push_to_talk:
                    engine.push_to_talk_press()
                audio_input.feed(samples)
                if args.push_to_talk:
                    while not audio_input.idle and run.fatal is None:
                        await asyncio.sleep(0.02)
                    await asyncio.sleep(0.05)  # the last frame reaches the session
                    engine.push_to_talk_release()
            for text in args.say:
                if run.fatal is not None or stop.is_set():
                    break
                engine.send_text(text)
                await _wait_while_busy(engine, run, stop, options.settings.connection.reply_timeout_s)
            scripted = bool(args.say or samples is not None)
            if args.duration is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), args.duration)
            elif args.until_idle or scripted:
                while run.fatal is None and not stop.is_set() and not idle():
                    await asyncio.sleep(0.05)
            else:
                await _read_stdin_messages(engine, stop, run, asker)
    except Exception as exc:  # a bug of ours: said plainly, the conversation still saved
        log.exception("talk failed")
        message = f"azassist failed ({type(exc).__name__}); the log has the details. The conversation is saved."
        print(f"error: {message}", file=sys.stderr, flush=True)
        run.fatal = Error(ErrorKind.INTERNAL, message, fatal=True)
    finally:
        await engine.aclose()
        printer.close()
        _write_outputs(args, engine, printer)
        for sig in (signal.SIGINT, signal.SIGTERM):  # before the loop closes its wake-up pipe
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    if run.fatal is not None:
        if run.fatal.kind is ErrorKind.CONFIG:
            return EXIT_USAGE
        if run.fatal.kind in (ErrorKind.AUDIO, ErrorKind.INTERNAL):
            return EXIT_FAILURE
        return EXIT_CONNECTION
    return EXIT_OK


def _tool_row(event: Any) -> str:
    """'tool: set_timer(seconds=600) → Timer set… (0.01 s)': the transcript's compact row."""
    name = f"{event.server} › {event.tool}" if event.server else event.tool
    outcome = "" if event.status == "done" else f"{event.status}: "
    took = f" ({event.duration_s:.2f} s)" if event.duration_s is not None else ""
    return f"tool: {name}({event.arguments}) → {outcome}{event.result}{took}"


async def _wait_while_busy(engine: Any, run: _Run, stop: asyncio.Event, reply_timeout_s: float) -> None:
    """Until the reply to the last message is over, however it ends. The engine gives up on a
    silent service after the reply timeout; the bound here is only a last resort."""
    from azassist.core.events import Error, ErrorKind

    bound = 4 * reply_timeout_s + 30
    deadline = time.monotonic() + bound
    while engine.busy and run.fatal is None and not stop.is_set():
        if time.monotonic() > deadline:
            message = f"No reply ended within {bound:.0f} s; stopping."
            print(f"error: {message}", file=sys.stderr, flush=True)
            run.fatal = Error(ErrorKind.SERVER, message, fatal=True)
            return
        await asyncio.sleep(0.05)


def _entra_provider(settings: Settings, paths: AppPaths) -> Any:
    """Entra ID sign-in for a terminal: the saved sign-in if it still holds, else the chosen
    method runs here (a device code is printed to stderr, even with --quiet). A new sign-in
    is saved (the non-secret record only, into the saved settings, not this run's flags)."""
    if settings.connection.auth_mode is not AuthMode.ENTRA_ID:
        return None
    from azassist.core.entra import DeviceCodePrompt, EntraConfig, EntraTokenProvider

    def show(prompt: DeviceCodePrompt) -> None:
        print(
            f"To sign in to Microsoft Entra ID, open {prompt.verification_uri} in a browser and enter the code "
            f"{prompt.user_code}",
            file=sys.stderr,
            flush=True,
        )

    def remember(record: str) -> None:
        from azassist.core.settings import with_value

        store = SettingsStore(paths.settings_file)
        try:
            saved = store.load().settings
            if saved.connection.entra_record != record:
                store.save(with_value(saved, "connection", "entra_record", record))
        except Exception:  # the sign-in works for this run even if it cannot be saved
            log.warning("the Entra ID sign-in could not be saved in the settings", exc_info=True)

    return EntraTokenProvider(
        EntraConfig.from_settings(settings.connection), interactive=True, on_device_code=show, on_record=remember
    )


def _secret(value: str | None) -> Any:
    from azassist.core.secrets import Secret

    return Secret(value) if value else None


async def _first_of(*awaitables: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class _TerminalQuestions:
    """Interactive talk: a tool that asks first asks on the terminal, and the next line typed
    answers it (o: once, c: for this conversation, anything else: no)."""

    def __init__(self) -> None:
        self.pending: asyncio.Future[Any] | None = None

    async def confirm(self, request: Any) -> Any:
        from azassist.core.tools.policy import Decision

        self.pending = asyncio.get_running_loop().create_future()
        print(
            f"The assistant wants to: {request.title} ({request.arguments or 'nothing more'}). {request.why}\n"
            "Allow it? [o]nce, for this [c]onversation, or [N]o: ",
            end="", file=sys.stderr, flush=True,
        )
        try:
            answer = str(await self.pending).strip().lower()
        finally:
            self.pending = None
        if answer in ("o", "once", "y", "yes"):
            return Decision.ALLOW_ONCE
        if answer in ("c", "conversation"):
            return Decision.ALLOW_CONVERSATION
        return Decision.DENY

    def answer(self, line: str) -> bool:
        """True if ``line`` answered a question (so it is not a message)."""
        if self.pending is None or self.pending.done():
            return False
        self.pending.set_result(line)
        return True


async def _read_stdin_messages(engine: Any, stop: asyncio.Event, run: _Run, asker: _TerminalQuestions) -> None:
    """Interactive: each line typed is a message (or answers a tool's question); end of
    input (Ctrl+D) ends the talk."""
    loop = asyncio.get_running_loop()
    while not stop.is_set() and run.fatal is None:
        reader = loop.run_in_executor(None, sys.stdin.readline)
        await _first_of(reader, stop.wait())
        if not reader.done() or reader.cancelled():
            return
        line = reader.result()
        if not line:
            return
        if not asker.answer(line):
            engine.send_text(line)


def _write_outputs(args: argparse.Namespace, engine: Any, printer: _Printer) -> None:
    """--transcript as Markdown or JSON (the text form was written as the talk went)."""
    from azassist.core.transcript import export_to, read_conversation

    if args.transcript and args.transcript.suffix.lower() in (".md", ".json"):
        path = engine.conversation_path
        if path is not None:
            try:
                export_to(read_conversation(path), args.transcript)
            except OSError as exc:
                print(f"error: the transcript could not be written to {args.transcript}: {exc.strerror or exc}", file=sys.stderr)
    if engine.conversation_path is not None:
        printer.status(f"Conversation saved to {engine.conversation_path}")


def main(argv: list[str], paths: AppPaths) -> int:
    """Entry point for ``azassist talk``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    os.environ.pop("OPENAI_API_VERSION", None)  # only our settings choose the protocol
    try:
        loaded = SettingsStore(paths.settings_file).load()
        for notice in loaded.notices:
            print(f"note: {notice}", file=sys.stderr)
        options = TalkOptions(args, settings_for(args, loaded.settings))
        if args.input_wav:
            read_wav(args.input_wav)  # a bad file is a usage error before connecting
        if args.continue_file is not None:
            _check_continue_file(args.continue_file)
        from azassist.core.preload import preload_engine

        preload_engine()  # on the import thread, while the loop starts (and the demo server)
        return asyncio.run(_main_async(options, paths))
    except UsageError as exc:
        print(f"azassist talk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl+C before the conversation began (it handles its own)
        return EXIT_INTERRUPTED


async def _main_async(options: TalkOptions, paths: AppPaths) -> int:
    async with _demo_server(options) as ready:
        return await _talk(ready, paths)


if __name__ == "__main__":
    from azassist.core.logs import setup_logging

    _paths = resolve_paths().ensure()
    setup_logging(_paths)
    sys.exit(main(sys.argv[1:], _paths))
