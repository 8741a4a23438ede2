"""Meters and the silence gate, without devices: a silent block still counts towards the
average, and a quiet room is reported for a short hold, then no more until sound returns."""

from __future__ import annotations

import math

import numpy as np

from azassist.core.audio.levels import SILENCE_DBFS, LevelMeter, SilenceGate, to_dbfs


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
