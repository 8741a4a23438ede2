"""``azassist selftest`` from the source tree: the report, the exit code, and that a broken
part really turns the result red. (The frozen bundle runs the same checks in test_bundle.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from azassist.core.paths import resolve_paths
from azassist.selftest import _best_match, main
from tests.support.services import SecretService

DEVICE_CHECKS = ("audio-devices", "microphone", "speaker")


def selftest(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "azassist", "selftest", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        return result.returncode, json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"no JSON report (exit {result.returncode}):\n{result.stdout}\n{result.stderr[-3000:]}"
        )


def selftest_here(
    capsys: pytest.CaptureFixture[str], config_dir: Path, *args: str
) -> tuple[int, dict[str, Any]]:
    """In this process (no second start-up): the checks do not care who calls them."""
    capsys.readouterr()
    code = main(["--json", *args], resolve_paths(config_dir).ensure())
    return code, json.loads(capsys.readouterr().out)


def only(*names: str) -> list[str]:
    return [item for name in names for item in ("--only", name)]


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


@pytest.mark.timeout(180)
def test_devices_and_conversation_pass_on_the_virtual_sound_server(
    secret_service: SecretService, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = selftest_here(
        capsys, config_dir, *only(*DEVICE_CHECKS, "keyring", "conversation")
    )
    checks = by_name(report)
    assert code == 0, checks
    assert {name: c["status"] for name, c in checks.items()} == dict.fromkeys(
        (*DEVICE_CHECKS, "keyring", "conversation"), "OK"
    )
    assert "played on the speaker" in checks["conversation"]["detail"]
    assert report["installation"]["kind"] == "source"


def test_skipping_devices_says_skipped_and_the_echo_is_compared(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = selftest_here(
        capsys, config_dir, "--no-audio-devices", *only(*DEVICE_CHECKS, "conversation")
    )
    checks = by_name(report)
    assert code == 0, checks
    assert [checks[name]["status"] for name in DEVICE_CHECKS] == ["SKIPPED"] * 3
    assert checks["conversation"]["status"] == "OK"
    assert "echo matches the speech" in checks["conversation"]["detail"]


def test_no_keyring_is_skipped_with_the_reason(
    no_session_bus: None, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = selftest_here(capsys, config_dir, *only("keyring"))
    check = by_name(report)["keyring"]
    assert code == 0 and check["status"] == "SKIPPED"
    assert "no system keyring" in check["detail"]


def test_a_broken_part_fails_the_run(
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    code, report = selftest_here(capsys, config_dir, *only("tls", "livekit-ffi"))
    checks = by_name(report)
    assert code == 1
    assert (
        checks["tls"]["status"] == "FAILED"
        and "does not exist" in checks["tls"]["detail"]
    )
    assert checks["livekit-ffi"]["status"] == "OK"


def test_a_missing_device_fails_unless_skipping_was_asked(config_dir: Path) -> None:
    # a process of its own: PortAudio enumerates devices once per process
    env = {
        **os.environ,
        "PULSE_SERVER": "unix:/nonexistent/pulse/native",
    }  # no sound server at all
    code, report = selftest(*only("audio-devices", "microphone"), env=env)
    checks = by_name(report)
    assert code == 1
    assert checks["microphone"]["status"] == "FAILED"


def test_the_plain_report_lists_every_check(config_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "azassist", "selftest", *only("tls", "speech")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["tls", "OK"] for line in lines)
    assert any(line.split()[:2] == ["speech", "OK"] for line in lines)
    assert lines[-1] == "2 ok, 0 failed, 0 skipped"


def test_echo_similarity_finds_the_speech_and_rejects_noise() -> None:
    rng = np.random.default_rng(7)
    speech = (rng.standard_normal(4_800) * 3_000).astype(np.int16)
    reply = np.concatenate(
        [
            np.zeros(2_000, np.int16),
            (rng.standard_normal(3_000) * 3_000).astype(np.int16),
            speech,
        ]
    )
    assert _best_match(reply, speech) > 0.99
    other = (rng.standard_normal(12_000) * 3_000).astype(np.int16)
    assert _best_match(other, speech) < 0.2
