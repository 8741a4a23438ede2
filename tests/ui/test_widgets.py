"""The level meter: sound shows at once, falls to an empty bar in a bounded number of
readings, and readings that change nothing on screen cost no repaint. A style property
restyles a widget whether it changes before or after the widget is shown."""

from __future__ import annotations

import math

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from azassist.core.audio.levels import SILENCE_HOLD_SECONDS
from azassist.ui.widgets import LevelMeter, set_style_property

SILENT = -math.inf


class CountingMeter(LevelMeter):
    """Counts the repaints it asks for."""

    def __init__(self) -> None:
        super().__init__("Microphone level")
        self.repaints = 0

    def update(self) -> None:  # type: ignore[override]
        self.repaints += 1
        super().update()


def test_sound_rises_at_once_and_falls_to_empty_within_the_silence_hold(qtbot: QtBot) -> None:
    meter = CountingMeter()
    qtbot.addWidget(meter)
    meter.set_level(-3.0, 0.0)
    assert meter.repaints == 1 and meter._shown_rms > 0.9 and meter._shown_peak == 1.0
    readings = 0
    while meter._shown_rms or meter._shown_peak:
        meter.set_level(SILENT, SILENT)
        readings += 1
        assert readings < 200, "the meter never emptied"
    # the engine keeps sending silent readings this long (30 a second) before it stops
    assert readings <= SILENCE_HOLD_SECONDS * 30
    assert meter.accessibleDescription() == "silent"


def test_readings_that_change_nothing_cost_no_repaint(qtbot: QtBot) -> None:
    meter = CountingMeter()
    qtbot.addWidget(meter)
    for _ in range(10):
        meter.set_level(SILENT, SILENT)
        meter.set_level(-75.0, -70.0)  # under the meter's -60 dB floor: still an empty bar
    assert meter.repaints == 0 and meter.updates == 20
    meter.set_level(-20.0, -10.0)
    meter.set_level(-20.0, -10.0)
    assert meter.repaints == 2  # rising, then the peak mark falling towards the level


def test_a_style_property_restyles_before_and_after_the_first_show(qtbot: QtBot) -> None:
    parent = QWidget()
    parent.setStyleSheet('QLabel { color: #102030; } QLabel[active="true"] { color: #c01020; }')
    qtbot.addWidget(parent)
    early, late = QLabel("early", parent), QLabel("late", parent)
    set_style_property(early, "active", True)  # not yet polished: the first polish reads it
    parent.show()
    qtbot.waitExposed(parent)

    def colour(label: QLabel) -> str:
        return label.palette().color(QPalette.ColorRole.WindowText).name()

    assert colour(early) == QColor("#c01020").name() and colour(late) == QColor("#102030").name()
    set_style_property(late, "active", True)  # shown: restyled at once
    set_style_property(early, "active", False)
    assert colour(late) == "#c01020" and colour(early) == "#102030"
    set_style_property(late, "active", True)  # unchanged: nothing to do, still right
    assert colour(late) == "#c01020"
