"""Meters and the silence gate, without devices: a silent block still counts towards the
average, and a quiet room is reported for a short hold, then no more until sound returns."""

from __future__ import annotations

import asyncio
import math
import threading

import numpy as np
import pytest

from azassist.core.audio.levels import QUIET_DBFS, SILENCE_DBFS, LevelMeter, SilenceGate, to_dbfs, wait_for_sound


def test_silent_blocks_count_towards_the_average() -> None:
    meter = LevelMeter()
    meter.add(np.zeros(240, np.int16))
    assert meter.take() == (SILENCE_DBFS, SILENCE_DBFS)
    tone = np.full(240, 1000, np.int16)
    tone[::2] = -1000
    meter.add(tone)
    meter.add(np.zeros(240, np.int16))  # half the samples silent: half the power
    rms, peak = meter.take()
    assert math.isclose(rms, to_dbfs(1000 / math.sqrt(2)), abs_tol=0.01)
    assert math.isclose(peak, to_dbfs(1000), abs_tol=0.01)


def test_declared_silence_counts_like_added_zeros() -> None:
    added, declared = LevelMeter(), LevelMeter()
    tone = np.full(240, 1000, np.int16)
    for meter in (added, declared):
        meter.add(tone)
    added.add(np.zeros(720, np.int16))
    declared.add_silence(720)
    assert declared.take() == added.take()


def test_negative_full_scale_peak() -> None:
    meter = LevelMeter()
    meter.add(np.array([0, -32768, 5], np.int16))
    assert meter.take()[1] == 0.0


def test_gate_holds_silence_then_stops_until_sound_returns() -> None:
    gate = SilenceGate(hold_seconds=0.1, rate=30)  # 3 readings
    silent = (SILENCE_DBFS, SILENCE_DBFS, -95.0, SILENCE_DBFS)
    loud = (-20.0, -10.0, SILENCE_DBFS, SILENCE_DBFS)
    assert [gate.passes(*silent) for _ in range(5)] == [True, True, True, False, False]
    assert gate.passes(*loud)
    assert [gate.passes(*silent) for _ in range(4)] == [True, True, True, False]
    gate.reset()
    assert gate.passes(*silent)


def test_the_gate_says_when_it_is_holding_back() -> None:
    gate = SilenceGate(hold_seconds=0.1, rate=30)
    silent = (SILENCE_DBFS,) * 4
    for _ in range(3):
        gate.passes(*silent)
        assert not gate.quiet
    gate.passes(*silent)
    assert gate.quiet
    gate.passes(-20.0, -10.0, SILENCE_DBFS, SILENCE_DBFS)
    assert not gate.quiet


def test_a_meter_calls_once_when_sound_arrives_and_not_for_quiet_blocks() -> None:
    meter = LevelMeter()
    calls: list[str] = []
    meter.call_on_sound(lambda: calls.append("heard"))
    meter.add(np.zeros(240, np.int16))
    meter.add(np.full(240, 3, np.int16))  # 3 LSB: below QUIET_DBFS
    assert to_dbfs(3) < QUIET_DBFS < to_dbfs(4)
    assert calls == []
    meter.add(np.full(240, 4, np.int16))
    meter.add(np.full(240, 9000, np.int16))
    assert calls == ["heard"]  # once: it disarms itself


def test_a_meter_calls_at_once_for_sound_since_the_last_reading_and_can_be_disarmed() -> None:
    meter = LevelMeter()
    meter.add(np.full(240, 500, np.int16))
    calls: list[str] = []
    meter.call_on_sound(lambda: calls.append("already"))
    assert calls == ["already"]
    meter.take()
    meter.call_on_sound(lambda: calls.append("late"))
    meter.call_on_sound(None)
    meter.add(np.full(240, 500, np.int16))
    assert calls == ["already"]


@pytest.mark.asyncio
async def test_waiting_for_sound_is_woken_by_another_thread() -> None:
    quiet_meter, speaker_meter = LevelMeter(), LevelMeter()
    waiter = asyncio.create_task(wait_for_sound(quiet_meter, speaker_meter))
    await asyncio.sleep(0)
    assert quiet_meter.waiting_for_sound and speaker_meter.waiting_for_sound
    threading.Thread(target=quiet_meter.add, args=(np.zeros(480, np.int16),)).start()
    await asyncio.sleep(0.05)
    assert not waiter.done()
    threading.Thread(target=speaker_meter.add, args=(np.full(480, 2000, np.int16),)).start()
    await asyncio.wait_for(waiter, 5)
    assert not quiet_meter.waiting_for_sound and not speaker_meter.waiting_for_sound
