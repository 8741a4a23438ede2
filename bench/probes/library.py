"""Saved conversations at scale (figure 10); prints one JSON line.

Generates N conversations of T turns in the format ``ConversationWriter`` writes (written
directly, without its per-line fsync, which only the writing of the bench would feel), then:

- baseline: every file read once with ``read_conversation`` (what listing cost before the
  library: the old ``list_conversations``);
- list, first time: ``Library.refresh`` with no index (reads every file, writes the index);
- list, later: a new ``Library`` (a new start) with the index present;
- search: a few queries over the listed library (median);
- the UI loop: a real ``ConversationsDialog`` on the X display, opened on the big library
  (index loaded by the worker) and searched three times, while a chain of 10 ms precise
  single-shot Qt timers measures how late the loop runs; against the same chain with the
  dialog idle.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

_PROSE = (
    "weather trip saturday morning breeze clouds jacket evening train ticket station museum garden basil "
    "recipe dinner guests wine cheese bread market list budget invoice meeting project deadline report "
    "slides river bridge mountain hiking boots map route coffee tea library novel chapter poem song piano"
)
WORDS = _PROSE.split(" ")
QUERIES = ("lisbon", "piano chapter", "zanzibar")  # rare, common pair, none


def generate(directory: Path, conversations: int, turns: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    started = time.time() - conversations * 3600
    for number in range(conversations):
        at = started + number * 3600
        lines = [json.dumps({"type": "header", "format": "azassist-conversation", "version": 1, "started_at": at,
                             "settings": {"deployment": "gpt-realtime", "voice": "marin"}})]
        for turn in range(turns):
            role = "user" if turn % 2 == 0 else "assistant"
            words = rng.choices(WORDS, k=rng.randint(8, 30))
            if rng.random() < 0.002:
                words.insert(3, "Lisbon")
            record: dict[str, object] = {
                "role": role, "text": " ".join(words).capitalize() + ".", "id": f"item_{number}_{turn}",
                "interrupted": False, "started_at": at + 4 * turn, "ended_at": at + 4 * turn + 3,
                "source": "speech" if role == "user" else "reply", "type": "turn",
            }
            if role == "assistant":
                record["latency_s"] = 0.6
                record["usage"] = {"input_tokens": 900, "output_tokens": 300, "input_text_tokens": 400,
                                   "input_audio_tokens": 500, "input_cached_text_tokens": 256,
                                   "input_cached_audio_tokens": 0, "output_text_tokens": 60,
                                   "output_audio_tokens": 240}
            lines.append(json.dumps(record, separators=(",", ":")))
        (directory / f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(at))}-{number:06x}.jsonl").write_text(
            "\n".join(lines) + "\n", encoding="utf-8")


def core(directory: Path) -> dict[str, object]:
    from azassist.core.library import Library
    from azassist.core.transcript import read_conversation

    t0 = time.perf_counter()
    turns = sum(len(read_conversation(path).turns) for path in sorted(directory.glob("*.jsonl")))
    read_once = time.perf_counter() - t0
    t0 = time.perf_counter()
    Library(directory).refresh()
    first_list = time.perf_counter() - t0
    t0 = time.perf_counter()
    library = Library(directory)
    library.refresh()
    later_list = time.perf_counter() - t0
    library.search("warm")  # builds the lower-cased texts once, as the first search in a dialog does
    searches: dict[str, float] = {}
    hits: dict[str, int] = {}
    for query in QUERIES:
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            found = library.search(query)
            samples.append(time.perf_counter() - t0)
        searches[query] = statistics.median(samples)
        hits[query] = len(found)
    return {"turns": turns, "read_once": read_once, "first_list": first_list, "later_list": later_list,
            "search": searches, "hits": hits, "index_mb": library.index_path.stat().st_size / 1e6}


def loop_lag(directory: Path, idle_seconds: float) -> dict[str, object]:
    """Lateness of a 10 ms timer chain: idle dialog, then open + three searches."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from azassist.ui.conversations import ConversationsDialog

    app = QApplication.instance() or QApplication(sys.argv[:1])
    lateness: list[float] = []
    state = {"due": 0.0, "on": False}
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setTimerType(Qt.TimerType.PreciseTimer)

    def tick() -> None:
        now = time.perf_counter()
        if state["due"]:
            lateness.append(max(0.0, now - state["due"]))
        if state["on"]:
            state["due"] = time.perf_counter() + 0.010
            timer.start(10)

    timer.timeout.connect(tick)

    def run_for(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def wait_for(signal: object, limit: float) -> float:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(int(limit * 1000), loop.quit)
        t0 = time.perf_counter()
        loop.exec()
        signal.disconnect(loop.quit)  # type: ignore[attr-defined]
        return time.perf_counter() - t0

    small = directory.parent / "one"
    small.mkdir(exist_ok=True)
    generate(small, 1, 50)
    idle_dialog = ConversationsDialog(small)
    idle_dialog.show()
    app.processEvents()
    state["on"] = True
    tick()
    run_for(idle_seconds)
    idle = lateness[:]
    lateness.clear()
    state["due"] = 0.0
    t0 = time.perf_counter()
    dialog = ConversationsDialog(directory)  # a big index: loaded by the worker
    dialog.show()
    open_call = time.perf_counter() - t0
    listed = wait_for(dialog.listed, 120) + open_call
    searched = []
    for query in QUERIES:
        t0 = time.perf_counter()
        dialog.search(query)
        wait_for(dialog.searchFinished, 60)
        searched.append(time.perf_counter() - t0)
    run_for(0.2)
    state["on"] = False
    return {"idle": idle, "busy": lateness[:], "open_call": open_call, "listed": listed,
            "rows": dialog.list.count(), "search_wall": searched}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="azassist-bench-library-") as scratch:
        directory = Path(scratch) / "conversations"
        directory.mkdir()
        generate(directory, args.conversations, args.turns)
        result = core(directory)
        result["window"] = loop_lag(directory, args.idle_seconds)
        result["conversations"] = args.conversations
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
