"""How the transcript's cost grows with the conversation (figure 7); prints one JSON line.

Window: a real MainWindow (no engine) receives the engine's events for thousands of turns
through ``handle_event``, exactly as a conversation would deliver them: the user's final
words, then the assistant's reply growing word by word (cumulative partials), then its final
text. A turn's cost is the time of those calls plus the layout and painting they cause
(``processEvents`` until nothing is pending), measured around turn 50 and around turn N.
RSS is read after turn 50 and after turn 1,000, the window's background import of the voice
engine done before the first turn.

File: ``ConversationWriter.append`` (a JSON line, flushed; the fsync follows on its own thread) for the same turns.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

USER_TEXT = "Could you remind me what we said about the weather for the trip on Saturday?"
REPLY_TEXT = (
    "Sure. You asked about Saturday, and I said it should be sunny in the morning with a light "
    "breeze, then clouds after three, so pack a jacket for the evening."
)
REPLY_WORDS = REPLY_TEXT.split(" ")
PARTIALS = 6  # assistant updates per reply before the final one


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def run_window(turns: int, early: int, window: int, rss_at: tuple[int, ...]) -> dict[str, Any]:
    """Turn costs in a window of turns around ``early`` and in the last ``window`` turns.

    The early window is measured twice, in this window's first turns and again in a fresh
    window after the late turns, so a burst of machine noise at either moment moves the
    baseline less.
    """
    from azassist.ui.app import create_application

    app = create_application()  # kept referenced: the windows live in it
    main = _new_window(app)
    costs: dict[int, float] = {}
    rss: dict[int, float] = {}
    late = turns - window
    first, last = max(1, early - window // 2), early + window // 2
    for turn in range(1, turns + 1):
        measured = first <= turn < last or turn > late
        cost = _turn(app, main, f"t{turn}", process_partials=measured)
        if measured:
            costs[turn] = cost
        if turn in rss_at:
            gc.collect()
            app.processEvents()
            rss[turn] = rss_mb()
    entries = len(main.transcript.entries)
    fresh = _new_window(app)
    again = [_turn(app, fresh, f"again{turn}", process_partials=True) for turn in range(1, last)][first - 1 :]
    early_costs = [c for t, c in costs.items() if t <= late] + again
    late_costs = [c for t, c in costs.items() if t > late]
    return {
        "early_turn": early, "late_turn": turns,
        "early_cost": statistics.median(early_costs), "late_cost": statistics.median(late_costs),
        "rss": {str(k): v for k, v in rss.items()},
        "entries": entries,
    }


def _new_window(app: Any) -> Any:
    from azassist.core.environment import EnvironmentOffer
    from azassist.core.paths import resolve_paths
    from azassist.core.settings import LoadResult, Settings
    from azassist.ui.main_window import MainWindow

    paths = resolve_paths(tempfile.mkdtemp(prefix="azassist-bench-transcript-")).ensure()
    settings = Settings.model_validate({"connection": {"endpoint": "http://127.0.0.1:9", "deployment": "d"}})
    window = MainWindow(paths, LoadResult(settings), offer=EnvironmentOffer())
    window.resize(980, 720)
    window.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    _wait_for_the_engine_import(app)
    return window


def _wait_for_the_engine_import(app: Any) -> None:
    """The window imports the voice engine on a thread once it is on screen (issue 24: tens of
    MB of modules). Figure 7 asks what turns cost, so the turns start after that import:
    caught half-way, it showed as growth between turn 50 and turn 1,000. The window's warm-up
    makes the same (idempotent) call 300 ms after the first paint."""
    from azassist.core.preload import preload_engine

    preload_engine().result(timeout=120)
    app.processEvents()


def _turn(app: Any, window: Any, turn_id: str, *, process_partials: bool) -> float:
    """One turn as the engine delivers it; seconds spent, layout and paint included."""
    from azassist.core.events import AssistantText, UserTranscript

    step = max(1, len(REPLY_WORDS) // PARTIALS)
    started = time.perf_counter()
    window.handle_event(UserTranscript(turn_id, USER_TEXT, final=True))
    for end in range(step, len(REPLY_WORDS), step):
        window.handle_event(AssistantText(turn_id, " ".join(REPLY_WORDS[:end]), final=False))
        if process_partials:
            app.processEvents()
    window.handle_event(AssistantText(turn_id, " ".join(REPLY_WORDS), final=True))
    app.processEvents()
    return time.perf_counter() - started


def run_file(turns: int, early: int, window: int) -> dict[str, Any]:
    from azassist.core.transcript import ConversationWriter, TurnRecord

    directory = tempfile.mkdtemp(prefix="azassist-bench-file-")
    writer = ConversationWriter(Path(directory), {"deployment": "d"})
    costs: dict[int, float] = {}
    late = turns - window
    reply = " ".join(REPLY_WORDS)
    for turn in range(1, turns + 1):
        started = time.perf_counter()
        writer.append(TurnRecord("user", USER_TEXT, id=f"u{turn}", source="speech"))
        writer.append(TurnRecord("assistant", reply, id=f"a{turn}"))
        cost = time.perf_counter() - started
        if early - window // 2 <= turn < early + window // 2 or turn > late:
            costs[turn] = cost
    writer.close()
    early_costs = [c for t, c in costs.items() if t < late]
    late_costs = [c for t, c in costs.items() if t > late]
    return {"early_cost": statistics.median(early_costs), "late_cost": statistics.median(late_costs)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--early", type=int, default=50)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--file-turns", type=int, default=5000)
    args = parser.parse_args()
    rss_at = tuple(sorted({args.early, min(1000, args.turns), args.turns}))
    result = {
        "window": run_window(args.turns, args.early, args.window, rss_at),
        "file": run_file(args.file_turns, args.early, args.window),
    }
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
