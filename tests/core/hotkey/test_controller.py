"""The global key's rules, with a fake keyboard, a fake connection and a clock moved by hand."""

from __future__ import annotations

import pytest

from azassist.core.hotkey import Cue, Feedback, HotkeyController, Readiness, ReleaseReport
from tests.core.hotkey.fakes import FakeBackend, FakeTarget, ManualClock

GAP = 0.05


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make(
    clock: ManualClock, release: ReleaseReport = ReleaseReport.YES, max_hold: float = 30.0, **target: object
) -> tuple[HotkeyController, FakeBackend, FakeTarget, list[Feedback]]:
    backend, fake_target = FakeBackend(release), FakeTarget(**target)  # type: ignore[arg-type]
    cues: list[Feedback] = []
    controller = HotkeyController(
        backend, fake_target, clock, key="Pause", max_hold=max_hold, repeat_gap=GAP, on_feedback=cues.append
    )
    controller.start()
    assert backend.key == "Pause"
    return controller, backend, fake_target, cues


def test_hold_talks_and_release_sends(clock: ManualClock) -> None:
    controller, key, target, cues = make(clock)
    key.down()
    assert target.calls == ["press"] and controller.talking
    clock.advance(2)
    key.up()
    assert target.calls == ["press"], "the release waits out the autorepeat gap"
    clock.advance(GAP)
    assert target.calls == ["press", "release"] and not controller.talking
    assert [cue.cue for cue in cues] == [Cue.TALKING, Cue.SENT]


def test_autorepeat_presses_never_restart_a_turn(clock: ManualClock) -> None:
    _, key, target, _ = make(clock)
    key.down()
    for _ in range(20):  # X autorepeat without releases (detectable autorepeat, XRecord)
        clock.advance(0.03)
        key.down()
    for _ in range(5):  # autorepeat as release/press pairs
        clock.advance(0.03)
        key.up()
        key.down()
    clock.advance(1)
    assert target.calls == ["press"]
    key.up()
    clock.advance(1)
    assert target.calls == ["press", "release"]


def test_a_tap_is_sent_and_the_target_judges_its_length(clock: ManualClock) -> None:
    """The engine drops a turn too short to carry speech (with a notice): the key only sends."""
    _, key, target, _ = make(clock)
    key.down()
    key.up()
    clock.advance(GAP)
    assert target.calls == ["press", "release"]


def test_a_new_press_after_a_release_starts_a_new_turn(clock: ManualClock) -> None:
    _, key, target, _ = make(clock)
    for _ in range(2):
        key.down()
        clock.advance(1)
        key.up()
        clock.advance(1)
    assert target.calls == ["press", "release", "press", "release"]


def test_max_hold_sends_and_the_held_key_opens_nothing_new(clock: ManualClock) -> None:
    controller, key, target, cues = make(clock, max_hold=10)
    key.down()
    clock.advance(9.9)
    key.down()  # autorepeat
    assert target.calls == ["press"]
    clock.advance(0.2)
    assert target.calls == ["press", "release"]
    assert cues[-1].cue is Cue.SENT and "10 s" in cues[-1].message
    key.down()  # still held: autorepeat after the limit
    clock.advance(30)
    assert target.calls == ["press", "release"]
    key.up()
    clock.advance(1)
    assert target.calls == ["press", "release"], "the late release sends nothing more"
    key.down()
    assert target.calls == ["press", "release", "press"] and controller.talking


def test_backend_lost_while_talking_assumes_release(clock: ManualClock) -> None:
    controller, key, target, cues = make(clock)
    key.down()
    key.lost("The X display went away.")
    assert target.calls == ["press", "release"]
    assert [cue.cue for cue in cues] == [Cue.TALKING, Cue.SENT, Cue.UNAVAILABLE]
    assert controller.unavailable_reason == "The X display went away."
    clock.advance(100)
    assert target.calls == ["press", "release"]


def test_assume_release_and_stop_close_the_microphone(clock: ManualClock) -> None:
    controller, key, target, _ = make(clock)
    key.down()
    controller.assume_release("The screen was locked.")
    assert target.calls == ["press", "release"]
    key.up()
    clock.advance(1)
    key.down()
    controller.stop()
    assert target.calls == ["press", "release", "press", "release"]
    assert key.stopped == 1
    key.down()  # a late event after stop does nothing
    assert target.calls[-1] == "release"


def test_turn_ended_elsewhere_needs_a_new_press(clock: ManualClock) -> None:
    controller, key, target, _ = make(clock)
    key.down()
    controller.turn_ended()  # Esc in the window, or the connection dropped
    key.down()
    key.up()
    clock.advance(1)
    assert target.calls == ["press"], "the turn was already over: nothing to send"
    key.down()
    assert target.calls == ["press", "press"]


def test_not_connected_connects_first_and_says_so(clock: ManualClock) -> None:
    _, key, target, cues = make(clock, state=Readiness.DISCONNECTED)
    key.down()
    assert target.calls == ["connect"]
    assert cues[-1].cue is Cue.CONNECTING
    key.up()
    clock.advance(1)
    target.state = Readiness.CONNECTING
    key.down()
    assert cues[-1].cue is Cue.CONNECTING and target.calls == ["connect"]
    key.up()
    clock.advance(1)
    target.state = Readiness.READY
    key.down()
    assert target.calls == ["connect", "press"]


def test_cannot_connect_says_why(clock: ManualClock) -> None:
    _, key, _target, cues = make(clock, state=Readiness.DISCONNECTED, connect_problem="No endpoint is set.")
    key.down()
    assert cues[-1] == Feedback(Cue.REFUSED, "No endpoint is set.")


def test_hands_free_and_a_busy_turn_are_refused(clock: ManualClock) -> None:
    _, key, target, cues = make(clock, state=Readiness.HANDS_FREE)
    key.down()
    assert target.calls == [] and cues[-1].cue is Cue.REFUSED and "Hands-free" in cues[-1].message
    key.up()
    clock.advance(1)
    target.state, target.accepts = Readiness.READY, False
    key.down()
    assert target.calls == ["press-refused"] and cues[-1].cue is Cue.REFUSED
    key.up()
    clock.advance(1)
    assert target.calls == ["press-refused"], "nothing was opened, nothing is sent"


def test_toggle_mode_where_no_release_is_reported(clock: ManualClock) -> None:
    controller, key, target, _cues = make(clock, release=ReleaseReport.NO)
    assert controller.toggle
    key.down()
    clock.advance(0.01)
    key.down()  # a repeat within the gap is not a second press
    assert target.calls == ["press"]
    clock.advance(3)
    key.down()
    assert target.calls == ["press", "release"]
    clock.advance(1)
    key.down()
    assert target.calls == ["press", "release", "press"]


def test_unverified_release_switches_to_toggle_on_a_second_press(clock: ManualClock) -> None:
    controller, key, target, cues = make(clock, release=ReleaseReport.UNVERIFIED)
    assert not controller.toggle
    key.down()
    clock.advance(4)  # the user let go; the desktop said nothing
    key.down()
    assert target.calls == ["press", "release"] and controller.toggle
    assert cues[-1].cue is Cue.TOGGLE_MODE
    clock.advance(1)
    key.down()
    clock.advance(1)
    key.down()
    assert target.calls == ["press", "release", "press", "release"]


def test_unverified_release_that_arrives_keeps_hold_to_talk(clock: ManualClock) -> None:
    controller, key, target, _ = make(clock, release=ReleaseReport.UNVERIFIED)
    key.down()
    clock.advance(1)
    key.up()
    clock.advance(1)
    key.down()
    clock.advance(3)
    key.down()  # held, repeating: with releases known to arrive this is autorepeat
    key.up()
    clock.advance(1)
    assert target.calls == ["press", "release", "press", "release"] and not controller.toggle


def test_a_failing_feedback_listener_does_not_break_the_turn(clock: ManualClock) -> None:
    backend, target = FakeBackend(), FakeTarget()

    def broken(_feedback: Feedback) -> None:
        raise RuntimeError("tray gone")

    controller = HotkeyController(backend, target, clock, key="Pause", on_feedback=broken)
    controller.start()
    backend.down()
    backend.up()
    clock.advance(1)
    assert target.calls == ["press", "release"]
