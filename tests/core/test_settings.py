"""The settings schema: defaults, ranges, persistence, and a bad file kept aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from azassist.core.settings import (
    GROUPS,
    SCHEMA_VERSION,
    Modalities,
    Settings,
    SettingsStore,
    TurnMode,
    describe_error,
    field_apply_mode,
    with_value,
)


def test_defaults_are_valid_and_sensible() -> None:
    settings = Settings()
    assert settings.schema_version == SCHEMA_VERSION
    assert settings.voice.voice == "marin"
    assert settings.turn_detection.mode is TurnMode.SERVER_VAD
    assert settings.turn_detection.threshold == 0.5
    assert settings.turn_detection.prefix_padding_ms == 300
    assert settings.turn_detection.silence_duration_ms == 500
    assert settings.model.modalities is Modalities.AUDIO
    assert not settings.connection.is_configured


def test_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    settings = Settings()
    settings.connection.endpoint = "https://res.openai.azure.com/"
    settings.connection.deployment = "gpt-realtime"
    settings.voice.speed = 1.25
    settings.turn_detection.mode = TurnMode.SEMANTIC_VAD
    store.save(settings)
    loaded = store.load()
    assert loaded.notices == []
    assert loaded.settings == settings
    assert loaded.settings.connection.endpoint == "https://res.openai.azure.com"  # normalised
    text = (tmp_path / "settings.json").read_text()
    assert json.loads(text)["voice"]["speed"] == 1.25  # human-readable JSON


@pytest.mark.parametrize(
    ("group", "name", "value", "words"),
    [
        ("voice", "speed", 0.1, "Speaking speed"),
        ("voice", "speed", 2.0, "Speaking speed"),
        ("model", "temperature", 0.5, "Temperature"),
        ("model", "temperature", 1.3, "Temperature"),
        ("turn_detection", "threshold", -0.1, "Threshold"),
        ("turn_detection", "threshold", 1.5, "Threshold"),
        ("turn_detection", "prefix_padding_ms", -1, "Prefix padding"),
        ("turn_detection", "silence_duration_ms", 50, "Silence duration"),
        ("connection", "endpoint", "http://example.com", "https://"),
        ("connection", "endpoint", "not a url", "full address"),
        ("connection", "deployment", "has space", "spaces"),
        ("voice", "voice", "two words", "single word"),
        ("model", "modalities", "video", "Replies"),
    ],
)
def test_out_of_range_values_are_rejected_with_a_message(group: str, name: str, value: object, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        with_value(Settings(), group, name, value)
    messages = describe_error(caught.value)
    assert len(messages) == 1
    assert words in messages[0]


def test_loopback_http_is_allowed_for_the_local_server() -> None:
    settings = with_value(Settings(), "connection", "endpoint", "http://127.0.0.1:8765")
    assert settings.connection.host == "127.0.0.1"


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", json.dumps({"voice": {"speed": 99}}), json.dumps({"schema_version": 999}), "\xff\xfe"],
)
def test_corrupt_file_is_moved_aside_and_reported(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="latin-1" if "\xff" in content else "utf-8")
    result = SettingsStore(path).load()
    assert result.settings == Settings()
    assert len(result.notices) == 1 and "could not be read" in result.notices[0]
    assert result.moved_aside is not None and result.moved_aside.exists()
    assert result.moved_aside.read_bytes() == content.encode("latin-1" if "\xff" in content else "utf-8")
    assert not path.exists()
    # A second bad file on the same second does not overwrite the first one kept aside.
    path.write_text("{again")
    second = SettingsStore(path).load()
    assert second.moved_aside != result.moved_aside and result.moved_aside.exists()


def test_unknown_keys_from_an_older_or_newer_layout_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "voice": {"voice": "cedar", "pitch": 3}, "extra": 1}))
    result = SettingsStore(path).load()
    assert result.notices == [] and result.settings.voice.voice == "cedar"


def test_every_field_is_described_for_the_settings_panes() -> None:
    for group in GROUPS:
        model = Settings.model_fields[group].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for name, info in model.model_fields.items():
            assert info.title and info.description, f"{group}.{name} lacks a title or hint"
            assert field_apply_mode(group, name) in {"live", "reconnect", "restart"}


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    for speed in (0.5, 1.0, 1.5):
        store.save(with_value(Settings(), "voice", "speed", speed))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]
