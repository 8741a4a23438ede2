"""azassist's window launched as a user launches it (``azassist --connect`` / ``azassist --demo``),
observed from inside without changing what it does; prints one JSON line when done.

    python -m bench.probes.launch --demo|--connect [--say TEXT] [--stall [--sample]] [--until-reply]

Runs ``azassist.__main__.main`` itself in this process (same imports, same order, same
threads) with four observers added from outside:

* the window's engine events, through a wrapper around ``MainWindow.handle_event``: when it
  is first CONNECTED (monotonic clock, the bench's clock too) and when the first reply's text
  starts and ends;
* with ``--say``: the text typed as soon as the window accepts it (at that first CONNECTED);
* with ``--stall``: a chain of 10 ms precise single-shot Qt timers started as the
  QApplication is created (as figure 4 measures the loop), so every moment the window's
  thread could not run the loop shows up as lateness, counted from the window's first show;
* with ``--sample`` too: a sampler thread that looks at the window thread's stack every 2 ms,
  to say what ran during the longest stalls (it takes the interpreter lock 500 times a
  second: it slows the launch it watches, so the bench times launches without it);
* the API key for the local server (AZURE_OPENAI_API_KEY) is given to the window's
  credential store for this run only, as an unsaved key is.

Stops (quits the window) once the first reply is over (``--until-reply``) or it connected.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import threading
import time
from typing import Any

INTERVAL_S = 0.010
SAMPLE_S = 0.002


class StackSampler(threading.Thread):
    """What the main thread runs, every few ms: the innermost azassist frame and the
    outermost module being imported, compact enough to count."""

    def __init__(self) -> None:
        super().__init__(name="stack-sampler", daemon=True)
        self.samples: list[tuple[float, str, list[str]]] = []
        self._main = threading.main_thread().ident
        self._stop = threading.Event()

    def run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(SAMPLE_S):
            frames = sys._current_frames()
            frame = frames.get(self._main)  # type: ignore[arg-type]
            if frame is None:
                continue
            what = describe(frame)
            others = sorted({describe(f) for ident, f in frames.items()
                             if ident not in (self._main, me) and not _waiting(f)})
            self.samples.append((time.monotonic(), what, others))

    def stop(self) -> None:
        self._stop.set()

    def during(self, start: float, end: float) -> list[tuple[str, int]]:
        """The commonest things the window's thread ran in [start, end]. When it was inside
        Qt (C++) or the sampler got no turn at all (some thread held the interpreter in C),
        what the other threads ran then, or right after: the likely holder."""
        inside = [(what, others) for t, what, others in self.samples if start <= t <= end]
        if not inside:
            after = [(what, others) for t, what, others in self.samples if t > end][:1]
            return [(f"(no sample: the interpreter was held) then other threads: {', '.join(o) or '-'}", 0)
                    for _, o in after]
        counts = collections.Counter(
            what + (" | other threads: " + ", ".join(others) if what.endswith((":run_gui", ":main")) else "")
            for what, others in inside
        )
        return counts.most_common(3)


def _waiting(frame: Any) -> bool:
    """A thread parked in a wait (threading, queue, selectors): not what holds anything."""
    return frame.f_code.co_name in ("wait", "_wait_for_tstate_lock", "select", "get", "_worker", "poll")


def describe(frame: Any) -> str:
    ours = ""
    importing = ""
    innermost = f"{_short(frame.f_code.co_filename)}:{frame.f_code.co_name}"
    while frame is not None:
        code = frame.f_code
        if not ours and "/azassist/" in code.co_filename and "bench/probes" not in code.co_filename:
            ours = f"{_short(code.co_filename)}:{code.co_name}"
        if code.co_name == "_find_and_load" and "importlib" in code.co_filename:
            importing = str(frame.f_locals.get("name", ""))  # the outermost wins (loop continues)
        frame = frame.f_back
    parts = [ours or innermost]
    if importing:
        parts.append(f"importing {importing}")
    return " > ".join(parts)


def _short(path: str) -> str:
    for marker in ("/site-packages/", "/azassist/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


class LagChain:
    """10 ms precise single-shot timers, each due 10 ms after the last one fired."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.events: list[tuple[float, float]] = []  # (due, fired)
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._fired)
        self._due = time.monotonic() + INTERVAL_S
        self._timer.start(int(INTERVAL_S * 1000))
        self.running = True

    def _fired(self) -> None:
        now = time.monotonic()
        self.events.append((self._due, now))
        if self.running:
            self._due = now + INTERVAL_S
            self._timer.start(int(INTERVAL_S * 1000))


def main() -> int:
    parser = argparse.ArgumentParser()
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--demo", action="store_true")
    how.add_argument("--connect", action="store_true")
    parser.add_argument("--say", default="")
    parser.add_argument("--stall", action="store_true")
    parser.add_argument("--sample", action="store_true")
    parser.add_argument("--until-reply", action="store_true")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()

    sampler = StackSampler() if args.stall and args.sample else None
    if sampler is not None:
        sampler.start()
    seen: dict[str, Any] = {}
    chain: list[LagChain] = []

    import azassist.ui.app as app_module

    create_application = app_module.create_application

    def create_and_watch(argv: list[str] | None = None) -> Any:
        app = create_application(argv)
        seen["app"] = time.monotonic()
        if args.stall:
            chain.append(LagChain())
        return app

    app_module.create_application = create_and_watch

    from PySide6.QtCore import QTimer

    import azassist.ui.main_window as main_window

    window_class = main_window.MainWindow
    finish_start_up = window_class.finish_start_up
    handle_event = window_class.handle_event

    show_event = window_class.showEvent

    def first_show(self: Any, event: Any) -> None:
        seen.setdefault("shown", time.monotonic())
        show_event(self, event)

    from azassist.__main__ import build_parser
    from azassist.__main__ import main as azassist_main

    # (an azassist without --connect, e.g. an older commit measured for comparison: the probe
    # connects the window right after its start-up, where --connect does)
    knows_connect = "--connect" in build_parser().format_help()

    def finish_and_key(self: Any, load: Any, **kwargs: Any) -> None:
        finish_start_up(self, load, **kwargs)
        key = os.environ.get("AZURE_OPENAI_API_KEY")
        if key and self.settings.connection.is_configured:
            from azassist.core.secrets import Secret

            self.credentials.use_for_this_run(self.settings.connection.host, Secret(key))
        if args.connect and not knows_connect:
            QTimer.singleShot(0, self.connect_engine)

    def stop(window: Any) -> None:
        if "stopping" not in seen:
            seen["stopping"] = time.monotonic()
            if chain:
                chain[0].running = False
            QTimer.singleShot(0, window.quit)

    def observe(self: Any, event: Any) -> None:
        handle_event(self, event)
        kind = type(event).__name__
        now = time.monotonic()
        if kind == "StateChanged" and event.connection.value == "connected" and "connected" not in seen:
            seen["connected"] = now
            if args.say:
                self.send_text(args.say)
                seen["said"] = time.monotonic()
            if not args.until_reply:
                stop(self)
        elif kind == "AssistantText":
            seen.setdefault("reply_text", now)
            if event.final and "reply_final" not in seen:
                seen["reply_final"] = now
                QTimer.singleShot(1000, lambda: stop(self))  # the reply plays out; stalls still count
        elif kind == "Error" and getattr(event, "fatal", False):
            seen["error"] = event.message
            stop(self)

    window_class.showEvent = first_show  # type: ignore[method-assign]
    window_class.finish_start_up = finish_and_key  # type: ignore[method-assign]
    window_class.handle_event = observe  # type: ignore[method-assign]

    def give_up() -> None:
        time.sleep(args.timeout)
        seen["timeout"] = True
        print(json.dumps(_result(seen, chain, sampler)), flush=True)
        os._exit(3)

    threading.Thread(target=give_up, daemon=True).start()

    status = azassist_main(["--demo"] if args.demo else ["--connect"] if knows_connect else [])
    if sampler is not None:
        sampler.stop()
    print(json.dumps(_result(seen, chain, sampler) | {"status": status}), flush=True)
    return 0


def _result(seen: dict[str, Any], chain: list[LagChain], sampler: StackSampler | None) -> dict[str, Any]:
    result = dict(seen)
    if chain:
        # from the window's first show (before it, no window could look frozen: that is start-up,
        # figure 5) until the probe stops after the first reply
        shown, stopping = seen.get("shown", 0.0), seen.get("stopping", float("inf"))
        events = [(due, fired) for due, fired in chain[0].events if due >= shown and fired <= stopping]
        lags = [max(0.0, fired - due) for due, fired in events]
        result["lags"] = lags
        ranked = sorted(range(len(events)), key=lambda i: lags[i], reverse=True)[:5]
        result["stalls"] = [{"lag": lags[i], "due": events[i][0], "fired": events[i][1],
                             "during": sampler.during(*events[i]) if sampler is not None else []} for i in ranked]
        if ranked:
            result["worst"] = result["stalls"][0]
    return result


if __name__ == "__main__":
    sys.exit(main())
