"""The global key's settings: off by default, a harmless default key, a bounded hold."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from azassist.core.settings import Settings, field_apply_mode


def test_defaults_are_off_with_a_key_that_does_nothing_elsewhere() -> None:
    ui = Settings().ui
    assert ui.global_push_to_talk is False
    assert ui.global_push_to_talk_key == "Pause"
    assert ui.global_push_to_talk_earcon is True
    assert ui.global_push_to_talk_max_hold_s == 60.0
    for name in ("global_push_to_talk", "global_push_to_talk_key", "global_push_to_talk_earcon",
                 "global_push_to_talk_max_hold_s"):
        assert field_apply_mode("ui", name) == "live"


@pytest.mark.parametrize("seconds", [0, 4.9, 601])
def test_the_longest_hold_is_bounded(seconds: float) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"ui": {"global_push_to_talk_max_hold_s": seconds}})


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"ui": {"global_push_to_talk_key": ""}})
