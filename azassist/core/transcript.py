"""Conversations on disk: one JSON Lines file per conversation, nothing lost.

Line 1 is a header (format version, when, and the settings that shaped the conversation,
never a secret); every later line is one finished turn. Each line is appended, flushed and
``fsync``-ed the moment its turn completes, so a process killed mid-reply loses at most the
unfinished turn. Readers tolerate a torn last line for the same reason.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from azassist.core.secrets import redact

log = logging.getLogger(__name__)

FORMAT = "azassist-conversation"
FORMAT_VERSION = 1
SUFFIX = ".jsonl"

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class TurnUsage:
    input_tokens: int = 0
    output_tokens: int = 0


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
            usage=TurnUsage(**{k: int(v) for k, v in usage.items() if k in ("input_tokens", "output_tokens")})
            if isinstance(usage, dict)
            else None,
        )


@dataclass(frozen=True)
class Conversation:
    path: Path
    header: dict[str, Any]
    turns: list[TurnRecord]

    @property
    def started_at(self) -> float:
        return float(self.header.get("started_at", 0.0))

    @property
    def title(self) -> str:
        """The first thing the user said, shortened: what a history list shows."""
        for turn in self.turns:
            if turn.role == "user" and turn.text.strip():
                text = " ".join(turn.text.split())
                return text if len(text) <= 60 else text[:57].rstrip() + "…"
        return "(no words yet)"

    @property
    def total_tokens(self) -> tuple[int, int]:
        usages = [t.usage for t in self.turns if t.usage]
        return sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages)


@dataclass(frozen=True)
class ConversationSummary:
    """What the UI's history list needs, without holding every turn."""

    path: Path
    started_at: float
    title: str
    turn_count: int
    deployment: str


class ConversationWriter:
    """Appends finished turns to a new conversation file, durably."""

    def __init__(self, directory: Path, header_settings: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.started_at = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.started_at))
        self.path = directory / f"{stamp}-{secrets.token_hex(3)}{SUFFIX}"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
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

    def append(self, turn: TurnRecord) -> None:
        self._write(turn.to_json())

    def append_usage(self, turn_id: str, usage: TurnUsage) -> None:
        """Token usage that arrived after its turn was saved (e.g. a cut-off reply)."""
        self._write({"type": "usage", "turn_id": turn_id, **asdict(usage)})

    def _write(self, record: dict[str, Any]) -> None:
        line = redact(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
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
            elif record.get("type") == "usage":
                late_usage[str(record.get("turn_id"))] = TurnUsage(
                    int(record.get("input_tokens", 0)), int(record.get("output_tokens", 0))
                )
    if header.get("format") != FORMAT:
        raise ValueError(f"{path.name} is not an azassist conversation")
    turns = [
        replace(turn, usage=late_usage[turn.id]) if turn.usage is None and turn.id in late_usage else turn
        for turn in turns
    ]
    return Conversation(path, header, turns)


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


def export_markdown(conversation: Conversation) -> str:
    """A readable document: title, settings summary, then each turn."""
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
    for turn in conversation.turns:
        who = "You" if turn.role == "user" else "Assistant"
        mark = " *(interrupted)*" if turn.interrupted else ""
        lines.append(f"**{who}** ({_clock(turn.started_at or turn.ended_at)}){mark}:")
        lines.append("")
        lines.append(turn.text.strip() or "*(no words)*")
        lines.append("")
    input_tokens, output_tokens = conversation.total_tokens
    if input_tokens or output_tokens:
        lines.append(f"*Tokens: {input_tokens} in, {output_tokens} out.*")
        lines.append("")
    return "\n".join(lines)


def export_json(conversation: Conversation) -> str:
    """One JSON document (header + turns), for other tools."""
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "started_at": conversation.started_at,
        "settings": conversation.header.get("settings", {}),
        "turns": [turn.to_json() for turn in conversation.turns],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_to(conversation: Conversation, target: Path) -> Path:
    """Write ``.md`` or ``.json`` by the target's suffix."""
    if target.suffix.lower() == ".md":
        text = export_markdown(conversation)
    elif target.suffix.lower() == ".json":
        text = export_json(conversation)
    else:
        raise ValueError("Export to a .md (Markdown) or .json file")
    target.write_text(text, encoding="utf-8")
    return target
