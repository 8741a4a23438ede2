"""Conversations on disk: one JSON Lines file per conversation, nothing lost.

Line 1 is a header (format version, when, and the settings that shaped the conversation,
never a secret); every later line is one finished turn. Each line is appended and flushed to
the operating system the moment its turn completes, so a process killed mid-reply loses at
most the unfinished turn; the ``fsync`` that makes it survive a power cut follows on a
thread of its own (under load an ``fsync`` on the window's thread froze it for 265 ms) and
``close`` waits for it. Readers tolerate a torn last line for the same reason.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import threading
import time
from dataclasses import asdict, astuple, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from azassist.core.pricing import PriceBook
from azassist.core.secrets import redact

log = logging.getLogger(__name__)

FORMAT = "azassist-conversation"
FORMAT_VERSION = 1
SUFFIX = ".jsonl"

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class TurnUsage:
    """One response's tokens as ``response.done`` reports them.

    The totals are what older files hold; the split (text/audio, and the cached part of the
    input) prices a turn exactly, since audio costs several times text. Cached counts are
    part of the text/audio input counts, as in the service's ``input_token_details``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_cached_text_tokens: int = 0
    input_cached_audio_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0

    @property
    def has_split(self) -> bool:
        """Whether the text/audio split is known (files before it hold totals only)."""
        return (self.input_text_tokens + self.input_audio_tokens + self.output_text_tokens + self.output_audio_tokens) > 0

    def __add__(self, other: TurnUsage) -> TurnUsage:
        return TurnUsage(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnUsage:
        """Known integer fields only: an older or newer file never breaks reading."""
        values: dict[str, int] = {}
        for name in _USAGE_FIELDS:
            try:
                values[name] = max(0, int(data.get(name, 0) or 0))
            except (TypeError, ValueError):
                values[name] = 0
        return cls(**values)

    @classmethod
    def from_metrics(cls, metrics: Any) -> TurnUsage:
        """From LiveKit's ``RealtimeModelMetrics`` (``input_token_details`` and
        ``output_token_details`` mirror ``response.done``'s usage); details may be absent."""
        inp = getattr(metrics, "input_token_details", None)
        out = getattr(metrics, "output_token_details", None)
        cached = getattr(inp, "cached_tokens_details", None)
        return cls(
            input_tokens=int(getattr(metrics, "input_tokens", 0) or 0),
            output_tokens=int(getattr(metrics, "output_tokens", 0) or 0),
            input_text_tokens=int(getattr(inp, "text_tokens", 0) or 0),
            input_audio_tokens=int(getattr(inp, "audio_tokens", 0) or 0),
            input_cached_text_tokens=int(getattr(cached, "text_tokens", 0) or 0),
            input_cached_audio_tokens=int(getattr(cached, "audio_tokens", 0) or 0),
            output_text_tokens=int(getattr(out, "text_tokens", 0) or 0),
            output_audio_tokens=int(getattr(out, "audio_tokens", 0) or 0),
        )


_USAGE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TurnUsage))


@dataclass(frozen=True)
class TurnRecord:
    """One finished turn as it is stored."""

    role: Role
    text: str
    id: str = ""
    interrupted: bool = False
    started_at: float | None = None
    ended_at: float = field(default_factory=time.time)
    source: Literal["speech", "typed", "reply"] = "reply"
    latency_s: float | None = None
    usage: TurnUsage | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = "turn"
        data["text"] = redact(self.text)
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnRecord:
        usage = data.get("usage")
        return cls(
            role="assistant" if data.get("role") == "assistant" else "user",
            text=str(data.get("text", "")),
            id=str(data.get("id", "")),
            interrupted=bool(data.get("interrupted", False)),
            started_at=data.get("started_at"),
            ended_at=float(data.get("ended_at", 0.0)),
            source=data.get("source", "reply"),
            latency_s=data.get("latency_s"),
            usage=TurnUsage.from_json(usage) if isinstance(usage, dict) else None,
        )


@dataclass(frozen=True)
class ToolRecord:
    """A finished tool call, saved as its own line (``type: tool``) between the turns: readers
    that know only turns skip it, and the turns' roles stay user and assistant."""

    call_id: str
    tool: str
    arguments: str
    status: str  # done, refused or failed
    result: str = ""
    duration_s: float | None = None
    server: str | None = None
    ended_at: float = field(default_factory=time.time)
    after_turns: int = 0  # how many turns came before it (set when read)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("after_turns")
        data["type"] = "tool"
        for key in ("arguments", "result"):
            data[key] = redact(str(data[key]))
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any], after_turns: int) -> ToolRecord:
        duration = data.get("duration_s")
        return cls(
            call_id=str(data.get("call_id", "")),
            tool=str(data.get("tool", "")),
            arguments=str(data.get("arguments", "")),
            status=str(data.get("status", "done")),
            result=str(data.get("result", "")),
            duration_s=float(duration) if isinstance(duration, (int, float)) else None,
            server=data.get("server") if isinstance(data.get("server"), str) else None,
            ended_at=float(data.get("ended_at", 0.0) or 0.0),
            after_turns=after_turns,
        )

    def summary(self) -> str:
        """The compact row: 'set_timer(seconds=600) → Timer set… · 0.01 s'."""
        name = f"{self.server} › {self.tool}" if self.server else self.tool
        outcome = {"refused": "refused", "failed": "failed"}.get(self.status, "")
        result = f"{outcome}: {self.result}" if outcome else self.result
        took = f" · {self.duration_s:.2f} s" if self.duration_s is not None else ""
        return f"{name}({self.arguments}) → {result}{took}"


@dataclass(frozen=True)
class Conversation:
    path: Path
    header: dict[str, Any]
    turns: list[TurnRecord]
    custom_title: str = ""  # the last ``title`` line: a rename appends one, history stays as it was
    resumed_at: tuple[int, ...] = ()  # turn counts at each ``resumed`` marker: where a session continued it
    tools: tuple[ToolRecord, ...] = ()  # tool calls, each knowing how many turns preceded it

    @property
    def started_at(self) -> float:
        return float(self.header.get("started_at", 0.0))

    @property
    def title(self) -> str:
        """The user's own title, else the first thing the user said, shortened."""
        if self.custom_title.strip():
            return self.custom_title.strip()
        for turn in self.turns:
            if turn.role == "user" and turn.text.strip():
                text = " ".join(turn.text.split())
                return text if len(text) <= 60 else text[:57].rstrip() + "…"
        return "(no words yet)"

    @property
    def total_tokens(self) -> tuple[int, int]:
        usages = [t.usage for t in self.turns if t.usage]
        return sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages)

    @property
    def usage(self) -> TurnUsage:
        """Every turn's usage added up (text/audio split where the turns have it)."""
        total = TurnUsage()
        for turn in self.turns:
            if turn.usage is not None:
                total = total + turn.usage
        return total

    @property
    def duration_s(self) -> float:
        """Time spent talking: first to last turn, leaving out pauses over ``MAX_GAP_S``
        (a conversation continued the next day did not last a day)."""
        return conversation_duration([(t.started_at or t.ended_at, t.ended_at) for t in self.turns])


MAX_GAP_S = 600.0


def conversation_duration(spans: list[tuple[float, float]]) -> float:
    """The union of the turns' (start, end) spans plus the pauses between them, pauses longer
    than ``MAX_GAP_S`` left out. Spans come in conversation order."""
    total = 0.0
    previous_end: float | None = None
    for raw_start, end in spans:
        start = min(raw_start, end)
        if previous_end is None:
            total += end - start
        elif start >= previous_end:
            gap = start - previous_end
            total += (gap if gap <= MAX_GAP_S else 0.0) + (end - start)
        else:
            total += max(0.0, end - previous_end)  # overlapping turns (barge-in) count once
        previous_end = end if previous_end is None else max(previous_end, end)
    return total


@dataclass(frozen=True)
class ConversationSummary:
    """What the UI's history list needs, without holding every turn."""

    path: Path
    started_at: float
    title: str
    turn_count: int
    deployment: str


class _Syncer:
    """One thread that ``fsync``s conversation files after their lines were written (the
    writers' callers are the window's and the event loop's threads, which must not wait on
    the disk)."""

    def __init__(self) -> None:
        self._pending: queue.SimpleQueue[ConversationWriter] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def request(self, writer: ConversationWriter) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="azassist-fsync", daemon=True)
                self._thread.start()
        self._pending.put(writer)

    def _run(self) -> None:
        while True:
            self._pending.get().sync()


_syncer = _Syncer()


class ConversationWriter:
    """Appends finished turns to a new conversation file, durably."""

    def __init__(self, directory: Path, header_settings: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.started_at = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.started_at))
        self.path = directory / f"{stamp}-{secrets.token_hex(3)}{SUFFIX}"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._sync_lock = threading.Lock()
        self._unsynced = False
        self._write(
            {
                "type": "header",
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "started_at": self.started_at,
                "settings": header_settings,
            }
        )
        _fsync_directory(directory)

    @classmethod
    def resume(cls, path: Path) -> ConversationWriter:
        """Appends to an existing conversation file, after a ``resumed`` marker line (the
        reader tells the earlier turns from the new ones by it). OSError if it is gone."""
        writer = cls.__new__(cls)
        writer.path = path
        writer.started_at = time.time()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        writer._file = os.fdopen(fd, "a", encoding="utf-8")
        writer._sync_lock = threading.Lock()
        writer._unsynced = False
        writer._write({"type": "resumed", "at": writer.started_at})
        return writer

    def append(self, turn: TurnRecord) -> None:
        self._write(turn.to_json())

    def append_tool(self, record: ToolRecord) -> None:
        self._write(record.to_json())

    def append_usage(self, turn_id: str, usage: TurnUsage) -> None:
        """Token usage that arrived after its turn was saved (e.g. a cut-off reply)."""
        self._write({"type": "usage", "turn_id": turn_id, **asdict(usage)})

    def _write(self, record: dict[str, Any]) -> None:
        line = redact(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        with self._sync_lock:
            self._file.write(line + "\n")
            self._file.flush()  # the operating system has it: a killed process loses nothing
            self._unsynced = True
        _syncer.request(self)

    def sync(self) -> None:
        """``fsync`` what was written (the syncer's thread; ``close`` too)."""
        with self._sync_lock:
            if self._unsynced and not self._file.closed:
                try:
                    os.fsync(self._file.fileno())
                except OSError as exc:  # a full or vanished disk: the lines were written, say so
                    log.warning("could not make %s durable: %s", self.path.name, exc)
                self._unsynced = False

    @property
    def unsynced(self) -> bool:
        """Lines written but not yet ``fsync``-ed."""
        return self._unsynced

    def close(self) -> None:
        self.sync()
        with self._sync_lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> ConversationWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_directory(directory: Path) -> None:
    """Make the new file's name itself durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_conversation(path: Path) -> Conversation:
    """Read a conversation file; a torn or unreadable line (a crash mid-write) is skipped."""
    header: dict[str, Any] = {}
    turns: list[TurnRecord] = []
    late_usage: dict[str, TurnUsage] = {}
    resumed: list[int] = []
    tools: list[ToolRecord] = []
    custom_title = ""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw_line in enumerate(handle, start=1):
            line = raw_line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s: line %d is incomplete and was skipped", path.name, number)
                continue
            if not isinstance(record, dict):
                continue
            if record.get("type") == "header" and not header:
                header = record
            elif record.get("type") == "turn":
                turns.append(TurnRecord.from_json(record))
            elif record.get("type") == "tool":
                tools.append(ToolRecord.from_json(record, len(turns)))
            elif record.get("type") == "resumed":
                resumed.append(len(turns))
            elif record.get("type") == "usage":
                late_usage[str(record.get("turn_id"))] = TurnUsage.from_json(record)
            elif record.get("type") == "title":
                custom_title = str(record.get("title", ""))
    if header.get("format") != FORMAT:
        raise ValueError(f"{path.name} is not an azassist conversation")
    turns = [
        replace(turn, usage=late_usage[turn.id]) if turn.usage is None and turn.id in late_usage else turn
        for turn in turns
    ]
    return Conversation(path, header, turns, custom_title, resumed_at=tuple(resumed), tools=tuple(tools))


def list_conversations(directory: Path) -> list[ConversationSummary]:
    """Every readable conversation, newest first."""
    summaries: list[ConversationSummary] = []
    if not directory.is_dir():
        return summaries
    for path in directory.glob(f"*{SUFFIX}"):
        try:
            conversation = read_conversation(path)
        except (OSError, ValueError):
            continue
        summaries.append(
            ConversationSummary(
                path=path,
                started_at=conversation.started_at,
                title=conversation.title,
                turn_count=len(conversation.turns),
                deployment=str(conversation.header.get("settings", {}).get("deployment", "")),
            )
        )
    summaries.sort(key=lambda s: s.started_at, reverse=True)
    return summaries


def _clock(at: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) if at else ""


def usage_line(usage: TurnUsage) -> str:
    """'1,234 in (text 34, audio 1,200), 456 out (…)': the split where it is known."""

    def side(total: int, label: str, text: int, audio: int, cached: int) -> str:
        parts = [f"text {text:,}", f"audio {audio:,}"] if text + audio else []
        if cached:
            parts.append(f"cached {cached:,}")
        return f"{total:,} {label}" + (f" ({', '.join(parts)})" if parts else "")

    cached = usage.input_cached_text_tokens + usage.input_cached_audio_tokens
    return (
        f"{side(usage.input_tokens, 'in', usage.input_text_tokens, usage.input_audio_tokens, cached)}, "
        f"{side(usage.output_tokens, 'out', usage.output_text_tokens, usage.output_audio_tokens, 0)}"
    )


def _deployment(conversation: Conversation) -> str:
    return str(conversation.header.get("settings", {}).get("deployment", ""))


def export_markdown(conversation: Conversation, prices: PriceBook | None = None) -> str:
    """A readable document: title, settings summary, then each turn with its tokens and
    estimated cost (``prices``: the user's table; the defaults without one)."""
    prices = prices or PriceBook()
    deployment = _deployment(conversation)
    settings = conversation.header.get("settings", {})
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.started_at))
    lines = [f"# Conversation of {when}", ""]
    for key in ("deployment", "endpoint_host", "voice", "modalities", "turn_detection"):
        if settings.get(key):
            value = settings[key]
            if isinstance(value, dict):
                value = value.get("mode", "")
            lines.append(f"- **{key.replace('_', ' ')}**: {value}")
    lines.append("")
    for number, turn in enumerate(conversation.turns):
        lines += [f"> 🔧 {record.summary()}\n" for record in conversation.tools if record.after_turns == number]
        who = "You" if turn.role == "user" else "Assistant"
        mark = " *(interrupted)*" if turn.interrupted else ""
        lines.append(f"**{who}** ({_clock(turn.started_at or turn.ended_at)}){mark}:")
        lines.append("")
        lines.append(turn.text.strip() or "*(no words)*")
        lines.append("")
        if turn.usage is not None:
            cost = prices.cost(turn.usage, deployment)
            lines.append(f"*Tokens: {usage_line(turn.usage)}" + (f" · ≈ {cost.label}*" if cost else "*"))
            lines.append("")
    late = len(conversation.turns)
    lines += [f"> 🔧 {record.summary()}\n" for record in conversation.tools if record.after_turns >= late]
    usage = conversation.usage
    if usage.input_tokens or usage.output_tokens:
        cost = prices.cost(usage, deployment)
        estimate = f" Estimated cost: {cost.label} (prices per 1M tokens from Settings › Conversations)." if cost else ""
        lines.append(f"*Tokens in all: {usage_line(usage)}.{estimate}*")
        lines.append("")
    return "\n".join(lines)


def export_json(conversation: Conversation, prices: PriceBook | None = None) -> str:
    """One JSON document (header + turns, each turn's usage with its text/audio split and
    estimated cost), for other tools."""
    prices = prices or PriceBook()
    deployment = _deployment(conversation)
    turns = []
    for turn in conversation.turns:
        data = turn.to_json()
        cost = prices.cost(turn.usage, deployment) if turn.usage is not None else None
        if cost is not None:
            data["estimated_cost_usd"] = round(cost.usd, 6)
        turns.append(data)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "started_at": conversation.started_at,
        "title": conversation.title,
        "settings": conversation.header.get("settings", {}),
        "turns": turns,
        "tools": [{**record.to_json(), "after_turns": record.after_turns} for record in conversation.tools],
        "usage": asdict(conversation.usage),
    }
    total = prices.cost(conversation.usage, deployment)
    if total is not None:
        document["estimated_cost_usd"] = round(total.usd, 6)
        document["estimated_cost_complete"] = total.complete
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_to(conversation: Conversation, target: Path, prices: PriceBook | None = None) -> Path:
    """Write ``.md`` or ``.json`` by the target's suffix."""
    if target.suffix.lower() == ".md":
        text = export_markdown(conversation, prices)
    elif target.suffix.lower() == ".json":
        text = export_json(conversation, prices)
    else:
        raise ValueError("Export to a .md (Markdown) or .json file")
    target.write_text(text, encoding="utf-8")
    return target
