"""From a backend's key edges to push-to-talk intents: the rules of the global key.

- Hold = talk, release = send. The engine (the target) ignores a tap too short to carry
  speech, as it does for the window's key.
- Autorepeat never restarts a turn: a press while the key is down is ignored, and so is a
  release followed by a press within ``repeat_gap`` (X11 autorepeat sends such pairs).
- The microphone never stays open by accident: a release is assumed when the backend fails
  or is lost, when the front end says so (screen lock, suspend, quitting) and after
  ``max_hold`` seconds; a key still held after that opens no new turn until it is let go.
- Toggle mode (press to start, press to send) where the backend cannot report a release; a
  backend whose releases are unverified (the desktop portal) switches to it the first time a
  second press arrives with no release in between, and says so.
- Not connected: the press starts connecting (and says so); the next press talks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from azassist.core.hotkey.base import HotkeyBackend, ReleaseReport, ThreadSafeListener

log = logging.getLogger(__name__)

DEFAULT_REPEAT_GAP_S = 0.05  # X autorepeat's release/press pairs arrive together; people are slower


class Readiness(str, Enum):
    READY = "ready"
    DISCONNECTED = "disconnected"  # connecting is possible
    CONNECTING = "connecting"
    HANDS_FREE = "hands_free"  # the conversation listens by itself; there is no turn to hold


class TalkTarget(Protocol):
    """Where turns go: the engine, or the window that owns it (and its other talk sources)."""

    def readiness(self) -> Readiness: ...
    def connect(self) -> str | None:
        """Start connecting; None, or why it cannot (plain words)."""
        ...
    def press(self) -> bool:
        """Open the microphone for a turn; False when another source holds the turn."""
        ...
    def release(self) -> None: ...
    def cancel(self) -> None: ...


class Cue(str, Enum):
    TALKING = "talking"
    SENT = "sent"
    CONNECTING = "connecting"
    REFUSED = "refused"  # the press did nothing, with the reason
    UNAVAILABLE = "unavailable"  # the backend cannot listen (any more)
    TOGGLE_MODE = "toggle_mode"


@dataclass(frozen=True)
class Feedback:
    cue: Cue
    message: str = ""


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The loop's clock and timers (an asyncio loop is one)."""

    def time(self) -> float: ...
    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer: ...
    def call_soon_threadsafe(self, callback: Callable[[], object]) -> object: ...


class _State(str, Enum):
    IDLE = "idle"
    TALKING = "talking"
    SPENT = "spent"  # the turn ended (max hold, elsewhere) while the key is still down


class HotkeyController:
    """Owns one backend and turns its edges into ``TalkTarget`` calls; see the module docstring.

    Every method runs on the loop's thread; the backend's own threads reach it through
    ``ThreadSafeListener``.
    """

    def __init__(
        self,
        backend: HotkeyBackend,
        target: TalkTarget,
        clock: Clock,
        *,
        key: str,
        max_hold: float = 60.0,
        repeat_gap: float = DEFAULT_REPEAT_GAP_S,
        on_feedback: Callable[[Feedback], None] = lambda _feedback: None,
    ) -> None:
        self.backend = backend
        self.target = target
        self.clock = clock
        self.key = key
        self.max_hold = max_hold
        self.repeat_gap = repeat_gap
        self.on_feedback = on_feedback
        self.toggle = backend.release is ReleaseReport.NO
        self.running = False
        self.unavailable_reason: str | None = None
        self._state = _State.IDLE
        self._key_down = False
        self._release_seen = backend.release is ReleaseReport.YES
        self._last_press = float("-inf")
        self._release_timer: Timer | None = None
        self._hold_timer: Timer | None = None

    # --- life ------------------------------------------------------------------------------
    @property
    def talking(self) -> bool:
        return self._state is _State.TALKING

    @property
    def key_held(self) -> bool:
        """The key is down as far as the rules know (a release waiting out the gap still counts)."""
        return self._key_down

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self.unavailable_reason = None
        self.backend.start(self.key, ThreadSafeListener(self, self.clock.call_soon_threadsafe))

    def stop(self) -> None:
        """Stop listening; a turn in progress is sent, as if the key had been let go."""
        if self.running:
            self.running = False
            try:
                self.backend.stop()
            except Exception:  # stopping must never keep the microphone open
                log.exception("global key backend failed to stop")
        self.assume_release()

    def assume_release(self, why: str = "") -> None:
        """The key may have come up unseen (backend lost, screen locked, suspend, quitting)."""
        self._cancel_timers()
        self._key_down = False
        if self._state is _State.TALKING:
            self.target.release()
            self._feedback(Cue.SENT, why)
        self._state = _State.IDLE

    def turn_ended(self) -> None:
        """The turn this key opened was ended elsewhere (Esc, the connection dropped)."""
        if self._state is _State.TALKING:
            self._cancel_hold_timer()
            self._state = _State.SPENT if self._key_down and not self.toggle else _State.IDLE

    # --- the backend's listener ------------------------------------------------------------
    def pressed(self) -> None:
        if not self.running:
            return
        now = self.clock.time()
        since_last, self._last_press = now - self._last_press, now
        if self._release_timer is not None:  # a release and a press together: autorepeat
            self._release_timer.cancel()
            self._release_timer = None
            return
        if self.toggle:
            if since_last < self.repeat_gap:
                return
            if self._state is _State.TALKING:
                self._send()
            else:
                self._begin()
            return
        if self._key_down:
            if (
                not self._release_seen
                and self._state is _State.TALKING
                and since_last >= self.repeat_gap
            ):
                # A second press with no release between: this desktop sends no key-up.
                self.toggle = True
                self._key_down = False
                self._send()
                self._feedback(
                    Cue.TOGGLE_MODE,
                    "Your desktop does not report when the key is let go, so the global key now toggles: "
                    "press once to talk, press again to send.",
                )
            return  # autorepeat, or the key is still down after the turn ended
        self._key_down = True
        if self._state is _State.IDLE:
            self._begin()

    def released(self) -> None:
        if not self.running or self.toggle:
            return
        self._release_seen = True
        if not self._key_down or self._release_timer is not None:
            return
        if self.backend.filters_autorepeat:
            self._let_go()
        else:
            self._release_timer = self.clock.call_later(self.repeat_gap, self._let_go)

    def unavailable(self, reason: str) -> None:
        if not self.running:
            return  # a stopped backend's last word
        log.warning("global key unavailable: %s", reason)
        self.unavailable_reason = reason
        self.assume_release()
        self._feedback(Cue.UNAVAILABLE, reason)

    # --- rules ------------------------------------------------------------------------------
    def _let_go(self) -> None:
        self._release_timer = None
        self._key_down = False
        if self._state is _State.TALKING:
            self._send()
        self._state = _State.IDLE

    def _begin(self) -> None:
        readiness = self.target.readiness()
        if readiness is Readiness.HANDS_FREE:
            self._feedback(Cue.REFUSED, "Hands-free is on: just talk. The global key talks in push-to-talk mode.")
        elif readiness is Readiness.CONNECTING:
            self._feedback(Cue.CONNECTING, "Still connecting: press the key again in a moment.")
        elif readiness is Readiness.DISCONNECTED:
            problem = self.target.connect()
            if problem:
                self._feedback(Cue.REFUSED, problem)
            else:
                self._feedback(Cue.CONNECTING, "Connecting: press the key again to talk once connected.")
        elif self.target.press():
            self._state = _State.TALKING
            self._hold_timer = self.clock.call_later(self.max_hold, self._held_too_long)
            self._feedback(Cue.TALKING)
        else:
            self._feedback(Cue.REFUSED, "Another push-to-talk turn is in progress.")

    def _send(self, why: str = "") -> None:
        self._cancel_hold_timer()
        self._state = _State.IDLE
        self.target.release()
        self._feedback(Cue.SENT, why)

    def _held_too_long(self) -> None:
        self._hold_timer = None
        if self._state is not _State.TALKING:
            return
        self._send(f"Sent after {self.max_hold:g} s, the longest a turn may be held.")
        if self._key_down:
            self._state = _State.SPENT  # a new turn needs the key let go and pressed again

    def _cancel_hold_timer(self) -> None:
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_hold_timer()
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None

    def _feedback(self, cue: Cue, message: str = "") -> None:
        try:
            self.on_feedback(Feedback(cue, message))
        except Exception:  # feedback is a nicety; the turn logic must go on
            log.exception("global key feedback failed")
