"""The saved conversations as a library: list, search, rename, delete, retention. Qt-free.

Thousands of conversation files are too many to read whenever the history opens, so the
library keeps an index beside them (``.library-index.jsonl``, private like the
conversations): one JSON line per conversation with what the list shows and every turn's
text, keyed by the file's name, modification time and size. A refresh only stats the
directory and reads the files that changed since; search runs over the texts in memory.
The index is a cache: deleting it costs one full read, and a file it does not know is read.
It is JSON Lines, so loading it parses many small lines, never one big document that would
hold the interpreter lock for long while the window's thread waits.

Every slow method takes ``should_stop`` and ``progress`` callbacks and works in slices, so a
worker thread can run it while the window stays responsive, and a newer search can cancel an
older one. A ``threading.Lock`` keeps one refresh at a time.

Renaming never rewrites history: it appends a ``{"type": "title"}`` line to the conversation
file (the last one wins; an empty title goes back to the first words), so the title travels
with the file. Deleting moves the file to the system trash (send2trash); where there is no
trash the caller is told, asks the user, and may then delete it for good.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from azassist.core.secrets import redact
from azassist.core.transcript import SUFFIX, TurnUsage, read_conversation

log = logging.getLogger(__name__)

INDEX_NAME = ".library-index.jsonl"
INDEX_FORMAT = "azassist-library-index"
INDEX_VERSION = 1
TITLE_LIMIT = 200
SNIPPET_CHARS = 48
SLICE = 100  # conversations per slice between should_stop/progress checks

StopCheck = Callable[[], bool]
Progress = Callable[[int, int], None]


def _never() -> bool:
    return False


def _quiet(_done: int, _total: int) -> None:
    return None


def first_words(text: str, limit: int = 60) -> str:
    """The automatic title: the first user words on one line, shortened."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "…"


@dataclass
class ConversationInfo:
    """One conversation as the index knows it: the list's columns and the turns' text."""

    path: Path
    mtime_ns: int
    size: int
    started_at: float
    turn_count: int
    duration_s: float
    deployment: str
    first_words: str
    custom_title: str = ""
    usage: TurnUsage = field(default_factory=TurnUsage)
    roles: str = ""  # one letter a turn: "u" user, "a" assistant
    texts: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    _haystack: str | None = field(default=None, repr=False, compare=False)
    _starts: list[int] | None = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:
        return self.custom_title.strip() or self.first_words or "(no words yet)"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.path.name,
            "mtime_ns": self.mtime_ns,
            "size": self.size,
            "started_at": self.started_at,
            "turn_count": self.turn_count,
            "duration_s": self.duration_s,
            "deployment": self.deployment,
            "first_words": self.first_words,
            "custom_title": self.custom_title,
            "usage": asdict(self.usage),
            "roles": self.roles,
            "texts": self.texts,
            "ids": self.ids,
        }

    @classmethod
    def from_json(cls, directory: Path, data: dict[str, Any]) -> ConversationInfo:
        texts = [str(t) for t in data.get("texts", [])]
        return cls(
            path=directory / str(data["name"]),
            mtime_ns=int(data["mtime_ns"]),
            size=int(data["size"]),
            started_at=float(data.get("started_at", 0.0)),
            turn_count=int(data.get("turn_count", len(texts))),
            duration_s=float(data.get("duration_s", 0.0)),
            deployment=str(data.get("deployment", "")),
            first_words=str(data.get("first_words", "")),
            custom_title=str(data.get("custom_title", "")),
            usage=TurnUsage.from_json(data.get("usage") or {}),
            roles=str(data.get("roles", "")),
            texts=texts,
            ids=[str(i) for i in data.get("ids", [])],
        )

    @classmethod
    def read(cls, path: Path, stat: os.stat_result) -> ConversationInfo:
        """Read one conversation file (raises OSError/ValueError as ``read_conversation``)."""
        conversation = read_conversation(path)
        first = next((t.text for t in conversation.turns if t.role == "user" and t.text.strip()), "")
        return cls(
            path=path,
            mtime_ns=stat.st_mtime_ns,
            size=stat.st_size,
            started_at=conversation.started_at,
            turn_count=len(conversation.turns),
            duration_s=conversation.duration_s,
            deployment=str(conversation.header.get("settings", {}).get("deployment", "")),
            first_words=first_words(first),
            custom_title=conversation.custom_title,
            usage=conversation.usage,
            roles="".join("u" if t.role == "user" else "a" for t in conversation.turns),
            texts=[t.text for t in conversation.turns],
            ids=[t.id for t in conversation.turns],
        )

    def haystack(self) -> tuple[str, list[int]]:
        """All turns' lower-cased text joined by newlines, and where each turn starts."""
        if self._haystack is None or self._starts is None:
            starts: list[int] = []
            position = 0
            for text in self.texts:
                starts.append(position)
                position += len(text) + 1
            lowered = "\n".join(self.texts).lower()
            if len(lowered) != position - 1 and self.texts:  # lower() changed a length (rare)
                lowered = "\n".join(t.lower() for t in self.texts)
                starts, position = [], 0
                for text in self.texts:
                    starts.append(position)
                    position += len(text.lower()) + 1
            self._haystack, self._starts = lowered, starts
        return self._haystack, self._starts


@dataclass(frozen=True)
class SearchHit:
    """One matching turn: which conversation, which turn (its index and id), and a snippet."""

    path: Path
    turn_index: int
    turn_id: str
    role: str
    snippet: str
    title: str
    started_at: float


@dataclass(frozen=True)
class RefreshReport:
    total: int
    read: int
    removed: int
    unreadable: int


def _snippet(text: str, word: str) -> str:
    """A short line around the first occurrence of ``word`` in ``text``."""
    flat = " ".join(text.split())
    at = flat.lower().find(word)
    if at < 0:
        return first_words(flat, SNIPPET_CHARS * 2)
    start = max(0, at - SNIPPET_CHARS)
    end = min(len(flat), at + len(word) + SNIPPET_CHARS)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def query_words(query: str) -> list[str]:
    """The words a turn must all contain (case-insensitive), longest first."""
    return sorted({w for w in query.lower().split() if w}, key=len, reverse=True)


class Library:
    """The conversations in one directory, indexed. See the module docstring."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.index_path = directory / INDEX_NAME
        self._lock = threading.Lock()
        self._entries: dict[str, ConversationInfo] = {}
        self._index_loaded = False
        self._dirty = False

    # ----------------------------------------------------------------- listing

    def conversations(self) -> list[ConversationInfo]:
        """What is known now, newest first (cheap: no disk)."""
        entries = list(self._entries.values())
        entries.sort(key=lambda e: e.started_at, reverse=True)
        return entries

    def get(self, path: Path) -> ConversationInfo | None:
        return self._entries.get(path.name)

    def pending(self) -> int:
        """How many files a refresh would read (one directory scan, no reading): the window
        refreshes inline when this is small and on a worker thread otherwise."""
        if not self._index_loaded:
            return 1 << 30 if self.index_path.exists() else len(self._scan())
        return sum(1 for name, stat in self._scan().items() if self._changed(name, stat))

    def _scan(self) -> dict[str, os.stat_result]:
        found: dict[str, os.stat_result] = {}
        try:
            with os.scandir(self.directory) as listing:
                for item in listing:
                    if item.name.endswith(SUFFIX) and not item.name.startswith("."):
                        try:
                            found[item.name] = item.stat()
                        except OSError:
                            continue
        except OSError:
            pass
        return found

    def _changed(self, name: str, stat: os.stat_result) -> bool:
        known = self._entries.get(name)
        return known is None or known.mtime_ns != stat.st_mtime_ns or known.size != stat.st_size

    def refresh(self, should_stop: StopCheck = _never, progress: Progress = _quiet) -> RefreshReport:
        """Bring the index up to date: load it once, read new or changed files, drop removed
        ones, save it. Stopped early, it keeps what it read and saves nothing."""
        with self._lock:
            if not self._index_loaded:
                self._load_index(should_stop)
                if should_stop():
                    return RefreshReport(len(self._entries), 0, 0, 0)
                self._index_loaded = True
            found = self._scan()
            removed = [name for name in self._entries if name not in found]
            for name in removed:
                del self._entries[name]
            todo = [name for name, stat in found.items() if self._changed(name, stat)]
            read = unreadable = 0
            for number, name in enumerate(todo, start=1):
                if should_stop():
                    break
                path = self.directory / name
                try:
                    self._entries[name] = ConversationInfo.read(path, found[name])
                    read += 1
                except (OSError, ValueError) as exc:
                    log.debug("library: %s skipped: %s", name, exc)
                    self._entries.pop(name, None)
                    unreadable += 1
                if number % SLICE == 0 or number == len(todo):
                    progress(number, len(todo))
            if read or removed:
                self._dirty = True
            if self._dirty and not should_stop():
                self._save_index()
            return RefreshReport(len(self._entries), read, len(removed), unreadable)

    def _load_index(self, should_stop: StopCheck) -> None:
        try:
            handle = self.index_path.open(encoding="utf-8")
        except OSError:
            return
        entries: dict[str, ConversationInfo] = {}
        with handle:
            header = handle.readline()
            try:
                meta = json.loads(header)
            except json.JSONDecodeError:
                return
            if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT or meta.get("version") != INDEX_VERSION:
                return
            for number, line in enumerate(handle, start=1):
                if number % SLICE == 0 and should_stop():
                    return
                try:
                    entry = ConversationInfo.from_json(self.directory, json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn line: that file is simply read again
                entries[entry.path.name] = entry
        self._entries.update(entries)

    def _save_index(self) -> None:
        """Atomic (temporary file + rename), private, fsync-ed: a crash leaves the old one."""
        tmp = self.index_path.with_name(f"{INDEX_NAME}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps({"format": INDEX_FORMAT, "version": INDEX_VERSION}) + "\n")
                for entry in self._entries.values():
                    handle.write(json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.index_path)
            self._dirty = False
        except OSError as exc:
            log.warning("library: the index could not be saved (%s); it is rebuilt next time", exc)
            tmp.unlink(missing_ok=True)

    # ----------------------------------------------------------------- search

    def search(self, query: str, should_stop: StopCheck = _never, limit: int = 500,
               per_conversation: int = 20) -> list[SearchHit]:
        """Turns whose text holds every word of ``query`` (any case), newest conversation
        first, in turn order within one. Empty query: no hits."""
        hits: list[SearchHit] = []
        for batch in self.search_slices(query, should_stop, per_conversation):
            hits.extend(batch)
            if len(hits) >= limit:
                return hits[:limit]
        return hits

    def search_slices(self, query: str, should_stop: StopCheck = _never,
                      per_conversation: int = 20) -> Iterator[list[SearchHit]]:
        """The same search, a slice of conversations at a time (for showing hits as they come)."""
        words = query_words(query)
        if not words:
            return
        entries = self.conversations()
        for start in range(0, len(entries), SLICE):
            if should_stop():
                return
            batch: list[SearchHit] = []
            for entry in entries[start : start + SLICE]:
                batch.extend(self._search_one(entry, words, per_conversation))
            yield batch

    @staticmethod
    def _search_one(entry: ConversationInfo, words: list[str], limit: int) -> Iterable[SearchHit]:
        haystack, starts = entry.haystack()
        key, others = words[0], words[1:]
        if any(word not in haystack for word in others):
            return []
        hits: list[SearchHit] = []
        seen: set[int] = set()
        at = haystack.find(key)
        while at >= 0 and len(hits) < limit:
            turn = bisect.bisect_right(starts, at) - 1
            if turn not in seen:
                seen.add(turn)
                end = starts[turn + 1] - 1 if turn + 1 < len(starts) else len(haystack)
                text = haystack[starts[turn] : end]
                if all(word in text for word in others):
                    hits.append(
                        SearchHit(
                            path=entry.path,
                            turn_index=turn,
                            turn_id=entry.ids[turn] if turn < len(entry.ids) else "",
                            role="user" if entry.roles[turn : turn + 1] == "u" else "assistant",
                            snippet=_snippet(entry.texts[turn], key),
                            title=entry.title,
                            started_at=entry.started_at,
                        )
                    )
                # continue after this turn: one hit per turn
                at = haystack.find(key, end + 1) if end + 1 < len(haystack) else -1
            else:
                at = haystack.find(key, at + 1)
        return hits

    # ----------------------------------------------------------------- changes

    def rename(self, path: Path, title: str) -> str:
        """Append a title line (the file's history is untouched); returns the title shown."""
        title = " ".join(title.split())[:TITLE_LIMIT]
        line = redact(json.dumps({"type": "title", "title": title, "at": time.time()}, ensure_ascii=False,
                                 separators=(",", ":")))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with self._lock:
            entry = self._entries.get(path.name)
            if entry is not None:
                stat = path.stat()
                entry.custom_title, entry.mtime_ns, entry.size = title, stat.st_mtime_ns, stat.st_size
                self._dirty = True
                self._save_index()
                return entry.title
        return title or "(no words yet)"

    def move_to_trash(self, path: Path) -> bool:
        """Move to the system trash; False where there is none (nothing was changed then)."""
        if not trash(path):
            return False
        self._forget(path)
        return True

    def delete_permanently(self, path: Path) -> None:
        """Only after the user confirmed (there was no trash)."""
        path.unlink(missing_ok=True)
        self._forget(path)

    def _forget(self, path: Path) -> None:
        with self._lock:
            if self._entries.pop(path.name, None) is not None:
                self._dirty = True
                self._save_index()


def trash(path: Path) -> bool:
    """send2trash, saying False instead of raising where the system has no usable trash."""
    try:
        from send2trash import send2trash
        from send2trash.exceptions import TrashPermissionError
    except ImportError:
        return False
    try:
        send2trash(str(path))
    except (OSError, TrashPermissionError) as exc:
        log.warning("library: %s could not go to the trash: %s", path.name, exc)
        return False
    return True


def expired(directory: Path, keep_days: int, now: float | None = None,
            keep: Iterable[Path] = ()) -> list[Path]:
    """Conversations last written more than ``keep_days`` ago (0: none ever). By the file's
    modification time, so a continued conversation counts from its last turn."""
    if keep_days <= 0:
        return []
    cutoff = (time.time() if now is None else now) - keep_days * 86_400
    kept = {Path(p).name for p in keep}
    old: list[Path] = []
    try:
        with os.scandir(directory) as listing:
            for item in listing:
                if not item.name.endswith(SUFFIX) or item.name.startswith(".") or item.name in kept:
                    continue
                try:
                    if item.stat().st_mtime < cutoff:
                        old.append(Path(item.path))
                except OSError:
                    continue
    except OSError:
        return []
    return sorted(old)


def apply_retention(directory: Path, keep_days: int, now: float | None = None,
                    keep: Iterable[Path] = ()) -> list[Path]:
    """The retention setting, at start: expired conversations go to the trash, or are deleted
    where there is none (the user chose to keep them only so long). Returns what went."""
    gone: list[Path] = []
    for path in expired(directory, keep_days, now, keep):
        if not trash(path):
            try:
                path.unlink()
            except OSError as exc:
                log.warning("retention: %s could not be removed: %s", path.name, exc)
                continue
        gone.append(path)
    if gone:
        log.info("retention: %d conversation(s) older than %d days removed", len(gone), keep_days)
    return gone
