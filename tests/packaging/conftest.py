"""Packaging tests build the real artefacts once per run (``make package``'s own driver) and
try them the way a user would: the frozen bundle with no Python around it, the .deb in a
clean Debian root. Deselect locally with ``-m "not packaging"``; CI runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.packaging.debian_root import DebianRoot
from tests.support.services import wait_for

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 900


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "packaging: builds the bundle and installers (slow; -m 'not packaging' skips)",
    )


@dataclass(frozen=True)
class Package:
    """What ``resources/packaging/build.py`` produced."""

    version: str
    dist: Path
    bundle: Path
    tarball: Path
    deb: Path
    report: Path
    log: Path

    @property
    def executable(self) -> Path:
        return self.bundle / "azassist"


def scrubbed_env(**extra: str) -> dict[str, str]:
    """An environment like a fresh login: no venv, no Python variables, no CA overrides."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    base = tmp_path_factory.mktemp("package")
    dist, work, log = base / "dist", base / "work", base / "build.log"
    with log.open("w") as output:
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "resources/packaging/build.py"),
                "--dist",
                str(dist),
                "--work",
                str(work),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        pytest.fail(
            "the package build failed:\n"
            + "\n".join(log.read_text().splitlines()[-40:])
        )
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    debs = sorted(dist.glob("azassist_*.deb"))
    tarballs = sorted(dist.glob("azassist-*.tar.gz"))
    assert debs and tarballs, (
        f"build finished without artefacts: {sorted(p.name for p in dist.iterdir())}"
    )
    return Package(
        version,
        dist,
        dist / "azassist",
        tarballs[0],
        debs[0],
        dist / f"azassist-{version}-build-report.md",
        log,
    )


@pytest.fixture(scope="session")
def debian_root(
    tmp_path_factory: pytest.TempPathFactory, package: Package
) -> Iterator[DebianRoot]:
    """A debootstrap minbase root with the .deb installed through apt (Depends from the
    mirror, no Recommends) plus the ALSA PulseAudio plugin a desktop would have."""
    if os.geteuid() != 0:
        pytest.skip(
            "a clean Debian root needs root (debootstrap, chroot, mounts); CI runs as root"
        )
    root = DebianRoot.create(tmp_path_factory.mktemp("debian") / "root")
    try:
        result = root.install(["libasound2-plugins"], [package.deb])
        if result.returncode != 0:
            pytest.fail(
                f"apt could not install the .deb:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        # What pulseaudio / pipewire-alsa configure on a desktop: ALSA's default is the sound server.
        conf = root.path / "etc/alsa/conf.d/99-sound-server.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        yield root
    finally:
        root.remove()


@dataclass(frozen=True)
class WaylandDisplay:
    runtime_dir: Path
    socket: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "WAYLAND_DISPLAY": self.socket,
        }


@pytest.fixture(scope="session")
def wayland_display() -> Iterator[WaylandDisplay]:
    """A real Wayland compositor with no screen: weston's headless backend."""
    if not shutil.which("weston"):
        raise RuntimeError("weston is not installed: run 'make test' (it installs it)")
    runtime = Path(tempfile.mkdtemp(prefix="azassist-wayland-"))
    runtime.chmod(0o700)
    display = WaylandDisplay(runtime, "wayland-azassist")
    compositor = subprocess.Popen(
        [
            "weston",
            "--backend=headless-backend.so",
            f"--socket={display.socket}",
            "--idle-time=0",
        ],
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: (
                (runtime / display.socket).exists() or compositor.poll() is not None
            ),
            20,
            "weston",
        )
        if compositor.poll() is not None:
            raise RuntimeError(f"weston exited with {compositor.returncode}")
        yield display
    finally:
        compositor.terminate()
        try:
            compositor.wait(timeout=10)
        except subprocess.TimeoutExpired:
            compositor.kill()
        shutil.rmtree(runtime, ignore_errors=True)
