"""The frozen bundle, its archives and the .deb, tried as a user would get them.

Every selftest here runs the bundle's own executable in a scrubbed environment (no venv, no
Python variables, no CA overrides): only the virtual sound server, the private session bus
with its unlocked keyring and a throwaway profile are handed to it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.packaging.conftest import Package, WaylandDisplay, scrubbed_env
from tests.packaging.debian_root import DebianRoot
from tests.support.services import SecretService, VirtualAudio

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

ALL_CHECKS = {
    "imports",
    "livekit-ffi",
    "tls",
    "qt",
    "speech",
    "keyring",
    "audio-devices",
    "microphone",
    "speaker",
    "conversation",
}


def parse_plain_report(stdout: str) -> dict[str, Any]:
    """The human report (``azassist --selftest``): "  <check>  <STATUS>  <detail>  [<s> s]"."""
    checks = []
    kind = "bundle" if "(bundle:" in stdout.splitlines()[0] else "source"
    for line in stdout.splitlines():
        words = line.split(maxsplit=2)
        if (
            line.startswith("  ")
            and len(words) == 3
            and words[1] in ("OK", "FAILED", "SKIPPED")
        ):
            checks.append({"name": words[0], "status": words[1], "detail": words[2]})
    return {"installation": {"kind": kind}, "checks": checks}


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


def assert_all_ok(code: int, report: dict[str, Any], stderr: str) -> None:
    problems = {c["name"]: c["detail"] for c in report["checks"] if c["status"] != "OK"}
    assert not problems and code == 0, (
        f"selftest exit {code}, not OK: {problems}\n{stderr[-3000:]}"
    )
    assert set(statuses(report)) == ALL_CHECKS


def seconds_of_sound(raw: bytes, rate: int = 24_000) -> float:
    """How much of a s16le mono recording is louder than -40 dBFS, in 10 ms windows."""
    samples = (
        np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float64)
        / 32768.0
    )
    windows = samples[: len(samples) // 240 * 240].reshape(-1, 240)
    loud = np.sqrt((windows**2).mean(axis=1)) > 0.01
    return float(loud.sum()) * 0.01


def test_frozen_selftest_passes_and_the_echo_reaches_the_speaker(
    package: Package,
    virtual_audio: VirtualAudio,
    secret_service: SecretService,
    tmp_path: Path,
) -> None:
    env = scrubbed_env(
        **virtual_audio.env,
        **secret_service.env,
        AZASSIST_CONFIG_DIR=str(tmp_path / "profile"),
    )
    default_sink = subprocess.run(
        ["pactl", "get-default-sink"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    assert default_sink == "spk", (
        f"the virtual sound server's default sink is {default_sink!r}, not 'spk'"
    )
    recording = (
        tmp_path / "speaker.raw"
    )  # a file, not a pipe: a full pipe would stall parec
    with recording.open("wb") as sink:
        recorder = subprocess.Popen(
            [
                "parec",
                "--latency-msec=20",
                "--device=spk.monitor",
                "--rate=24000",
                "--channels=1",
                "--format=s16le",
                "--raw",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
        try:
            # the issue's own words: the frozen `azassist --selftest`, human report
            result = subprocess.run(
                [str(package.executable), "--selftest"],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        finally:
            recorder.terminate()
            recorder.wait(timeout=10)
    recorded = recording.read_bytes()
    if not result.stdout.strip():
        pytest.fail(f"no report (exit {result.returncode}):\n{result.stderr[-3000:]}")
    report = parse_plain_report(result.stdout)
    assert_all_ok(result.returncode, report, result.stdout + result.stderr[-3000:])
    assert report["installation"]["kind"] == "bundle"
    # The tone (0.3 s) and the spoken reply with the echo of ~2 s of speech reached the sink.
    heard = seconds_of_sound(recorded)
    assert heard >= 2.0, (
        f"{heard:.2f} s of sound in {len(recorded) / 48_000:.1f} s recorded from the speaker's sink"
    )


def test_bundle_opens_a_real_x_display_through_its_xcb_plugin(
    package: Package, xvfb_display: str, tmp_path: Path
) -> None:
    env = scrubbed_env(
        DISPLAY=xvfb_display, AZASSIST_CONFIG_DIR=str(tmp_path / "profile")
    )
    result = subprocess.run(
        [str(package.executable), "selftest", "--only", "qt", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    (check,) = report["checks"]
    assert check["status"] == "OK", check["detail"] + result.stderr[-2000:]
    assert check["detail"].startswith("platform xcb, window shown")


def test_bundle_shows_a_window_on_a_wayland_compositor(
    package: Package, wayland_display: WaylandDisplay, tmp_path: Path
) -> None:
    env = scrubbed_env(
        **wayland_display.env, AZASSIST_CONFIG_DIR=str(tmp_path / "profile")
    )
    result = subprocess.run(
        [str(package.executable), "selftest", "--only", "qt", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    (check,) = json.loads(result.stdout)["checks"]
    assert check["status"] == "OK", check["detail"] + result.stderr[-2000:]
    assert check["detail"].startswith("platform wayland, window shown")


def top_level_windows(display: str) -> list[tuple[str, int, int]]:
    """(title, width, height) of the X server's windows, from xwininfo (x11-utils); UTF-8 so a
    title with a dash is not garbled."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"],
        env={"PATH": "/usr/bin:/bin", "DISPLAY": display, "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for match in re.finditer(
        r'^\s+0x[0-9a-f]+ "([^"]*)":.*?\s(\d+)x(\d+)\+', tree, re.MULTILINE
    ):
        found.append((match.group(1), int(match.group(2)), int(match.group(3))))
    return found


def test_bundle_opens_its_window_on_a_real_x_display(
    package: Package, xvfb_display: str, virtual_audio: VirtualAudio, tmp_path: Path
) -> None:
    env = scrubbed_env(
        **virtual_audio.env,
        DISPLAY=xvfb_display,
        AZASSIST_CONFIG_DIR=str(tmp_path / "profile"),
    )
    app = subprocess.Popen(
        [str(package.executable), "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        windows: list[tuple[str, int, int]] = []
        while time.monotonic() < deadline and app.poll() is None:
            windows = [
                w
                for w in top_level_windows(xvfb_display)
                if "azassist" in w[0] and w[1] >= 300
            ]
            if windows:
                break
            time.sleep(0.2)
        assert windows, f"no azassist window appeared (exit code {app.poll()})"
    finally:
        app.terminate()
        try:
            output = app.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            app.kill()
            output = app.communicate()[0]
    assert "Traceback" not in output, output[-3000:]


def test_bundle_leaves_out_what_the_app_does_not_use(package: Package) -> None:
    internal = package.bundle / "_internal"
    names = {path.relative_to(internal).as_posix() for path in internal.rglob("*")}
    forbidden = [
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",  # drags in the build machine's GTK
        "PySide6/Qt/lib/libQt6Qml.so.6",
        "PySide6/Qt/lib/libQt6Quick.so.6",
        "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
        "PySide6/Qt/translations",
        "pytest",
        "_pytest",
        "PyInstaller",
        "setuptools",
        "PIL",
        "grpc",
        "tkinter",
        "livekit/local_inference",  # replaced by a stand-in module
        "libasound.so.2",
        "libstdc++.so.6",
        "libfontconfig.so.1",
        "libjack.so.0",  # the system's
        "libgtk-3.so.0",
        "libgdk-3.so.0",
    ]
    present = [name for name in forbidden if name in names]
    assert not present, f"the bundle carries {present}"
    dictionaries = sorted(
        p.name for p in (internal / "espeakng_loader/espeak-ng-data").glob("*_dict")
    )
    assert dictionaries == ["en_dict"]
    for needed in (
        "livekit/rtc/resources/liblivekit_ffi.so",
        "libportaudio.so.2",
        "espeakng_loader/libespeak-ng.so",
        "certifi/cacert.pem",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "resources/icons/azassist.svg",
    ):
        assert needed in names, f"{needed} is missing from the bundle"
    assert f"azassist-{package.version}.dist-info/METADATA" in names, (
        "no version metadata"
    )


def test_build_report_names_the_size_and_biggest_parts(package: Package) -> None:
    report = package.report.read_text()
    assert "Biggest parts" in report and "| `PySide6/Qt/lib` |" in report
    assert package.deb.name in report and package.tarball.name in report


def extract_all(archive: tarfile.TarFile, target: Path) -> None:
    """Unpack with the "tar" extraction filter where the tarfile module has one (3.11.4+,
    backported to some older point releases); Debian 12's Python 3.11.2 has none, so there
    the same refusals are made by hand: nothing outside ``target``, no device files."""
    if hasattr(tarfile, "tar_filter"):
        archive.extractall(target, filter="tar")
        return
    root = target.resolve()
    for member in archive.getmembers():
        destination = (target / member.name).resolve()
        assert destination.is_relative_to(root), f"{member.name} would land outside"
        if member.issym():
            link = (destination.parent / member.linkname).resolve()
            assert link.is_relative_to(root), f"{member.name} links outside: {member.linkname}"
        if member.islnk():
            assert (target / member.linkname).resolve().is_relative_to(root), member.name
        assert not (member.ischr() or member.isblk() or member.isfifo()), member.name
    archive.extractall(target)  # members checked above


def test_tarball_runs_from_wherever_it_is_unpacked(
    package: Package, tmp_path: Path
) -> None:
    with tarfile.open(package.tarball) as archive:
        members = archive.getmembers()
        assert {m.name.split("/")[0] for m in members} == {"azassist"}
        assert all(m.uid == 0 and m.gid == 0 for m in members)
        extract_all(archive, tmp_path)
    unpacked = tmp_path / "azassist" / "azassist"
    result = subprocess.run(
        [str(unpacked), "--version"],
        env=scrubbed_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (
        result.returncode == 0
        and result.stdout.strip() == f"azassist {package.version}"
    )


def deb_field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_deb_declares_the_system_libraries_it_links_and_installs_a_launcher(
    package: Package, tmp_path: Path
) -> None:
    depends = [entry.strip() for entry in deb_field(package.deb, "Depends").split(",")]
    names = {entry.split()[0] for entry in depends}
    # linked by Qt, PortAudio and the C/C++ runtime, and deliberately not bundled
    assert {
        "libc6",
        "libasound2",
        "libgl1",
        "libegl1",
        "libxcb1",
        "libfontconfig1",
        "libstdc++6",
    } <= names
    assert any(entry.startswith("libc6 (>= 2.") for entry in depends)
    # carried inside the bundle, so not declared
    assert not names & {
        "libportaudio2",
        "libpython3.11",
        "libqt6core6",
        "libxcb-cursor0",
        "python3",
    }
    subprocess.run(["dpkg-deb", "-x", str(package.deb), str(tmp_path)], check=True)
    launcher = tmp_path / "usr/bin/azassist"
    assert (
        launcher.is_symlink() and str(launcher.readlink()) == "/opt/azassist/azassist"
    )
    assert (tmp_path / "opt/azassist/azassist").is_file()
    desktop = (tmp_path / "usr/share/applications/azassist.desktop").read_text()
    assert "Exec=azassist" in desktop and "Icon=azassist" in desktop
    assert (tmp_path / "usr/share/icons/hicolor/scalable/apps/azassist.svg").is_file()
    assert (tmp_path / "usr/share/icons/hicolor/256x256/apps/azassist.png").is_file()


def test_deb_installs_on_a_clean_debian_and_its_selftest_passes(
    debian_root: DebianRoot, virtual_audio: VirtualAudio, secret_service: SecretService
) -> None:
    assert not (debian_root.path / "usr/bin/python3").exists(), (
        "the clean root must have no Python"
    )
    bus_socket = Path(
        secret_service.bus_address.split("unix:path=", 1)[1].split(",", 1)[0]
    )
    debian_root.binds.clear()
    debian_root.bind(virtual_audio.runtime_dir)
    debian_root.bind(bus_socket)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        **virtual_audio.env,
        **secret_service.env,
        "AZASSIST_CONFIG_DIR": "/tmp/azassist-profile",
    }
    result = debian_root.run("azassist selftest --json", env=env, timeout=180)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"no report from the installed app (exit {result.returncode}):\n{result.stdout}\n{result.stderr[-3000:]}"
        )
    assert_all_ok(result.returncode, report, result.stderr)
    assert report["installation"]["executable"] == "/opt/azassist/azassist"
