"""Start and stop the real services tests use: a virtual PulseAudio server with a virtual
microphone and speaker, a session D-Bus with gnome-keyring, and Xvfb.

Recipes from ../shared/notes/headless-testing.md. Every process started here is stopped by
the same object, so a test run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie counts as gone: its folder is no longer in use)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    """Poll until ``predicate`` holds; a service that never comes up is a clear failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise RuntimeError(f"timed out waiting for {what}")


@dataclass
class VirtualAudio:
    """PulseAudio with two null sinks: ``spk`` (the app's speaker) and ``mic`` whose monitor,
    remapped as source ``vmic``, is the app's default microphone. Tests play into ``mic``
    (``paplay --device=mic``) and record ``spk.monitor``."""

    runtime_dir: Path
    keepalive: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"XDG_RUNTIME_DIR": str(self.runtime_dir), "PULSE_SERVER": f"unix:{self.runtime_dir}/pulse/native"}

    @classmethod
    def start(cls) -> VirtualAudio:
        if not shutil.which("pulseaudio"):
            raise RuntimeError("pulseaudio is not installed: run 'make test' (it installs it)")
        runtime = Path(tempfile.mkdtemp(prefix="azassist-pulse-"))
        runtime.chmod(0o700)
        audio = cls(runtime)
        env = {**os.environ, **audio.env, "HOME": str(runtime)}
        env.pop("PULSE_SERVER", None)
        subprocess.run(
            [
                "pulseaudio", "-D", "-n", "--exit-idle-time=-1", "--disallow-exit",
                "--disable-shm=true", "--system=false", "--log-target=stderr",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=spk rate=24000 channels=1 sink_properties=device.description=Virtual-Speaker",
                "--load=module-null-sink sink_name=mic rate=24000 channels=1 sink_properties=device.description=Virtual-Mic-Feed",
                "--load=module-remap-source source_name=vmic master=mic.monitor source_properties=device.description=Virtual-Microphone",
            ],
            env=env, check=True, capture_output=True, timeout=20,
        )
        full_env = {**os.environ, **audio.env}
        wait_for(lambda: audio._pactl(["info"], full_env) is not None, 10, "pulseaudio")
        audio._pactl(["set-default-sink", "spk"], full_env)
        audio._pactl(["set-default-source", "vmic"], full_env)
        # Idle null sinks sleep with a 2 s latency; a reader on each keeps them awake.
        for device in ("mic.monitor", "spk.monitor"):
            audio.keepalive.append(
                subprocess.Popen(
                    ["parec", "--latency-msec=20", f"--device={device}", "--raw"],
                    env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(0.5)
        return audio

    @staticmethod
    def _pactl(args: list[str], env: dict[str, str]) -> str | None:
        result = subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=10)
        return result.stdout if result.returncode == 0 else None

    def stop(self) -> None:
        for proc in self.keepalive:
            proc.terminate()
        for proc in self.keepalive:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        pid_file = self.runtime_dir / "pulse" / "pid"
        pid = None
        if pid_file.exists():
            try:
                pid = int(pid_file.read_text().strip())
                os.kill(pid, signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pid = None
        if pid is not None:
            # The daemon writes into its folder while it shuts down (pid file, state under
            # .config): removing the folder before it is gone left it behind in /tmp.
            try:
                wait_for(lambda: not _alive(pid), 10, "pulseaudio to exit")
            except RuntimeError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


@dataclass
class SecretService:
    """A private session bus with gnome-keyring's Secret Service, unlocked or locked."""

    bus_address: str
    procs: list[subprocess.Popen[bytes]]
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.bus_address}

    @classmethod
    def start(cls, *, password: str = "test-password", unlock: bool = True) -> SecretService:
        for tool in ("dbus-daemon", "gnome-keyring-daemon"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is not installed: run 'make test' (it installs it)")
        home = Path(tempfile.mkdtemp(prefix="azassist-keyring-"))
        runtime = home / "run"
        runtime.mkdir(mode=0o700)
        env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
               "XDG_DATA_HOME": str(home / "data")}
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
            + (["--unlock"] if unlock else []),
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        if unlock:
            assert keyring.stdin is not None
            keyring.stdin.write(password.encode())
        if keyring.stdin is not None:
            keyring.stdin.close()
        service = cls(address, [keyring, bus], home)
        try:
            wait_for(lambda: (runtime / "keyring" / "control").exists(), 10, "gnome-keyring")
        except RuntimeError:
            service.stop()
            raise
        return service

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class Xvfb:
    display: str
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, size: str = "1280x800x24") -> Xvfb:
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is not installed: run 'make test' (it installs it)")
        read_fd, write_fd = os.pipe()
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            proc.kill()
            raise RuntimeError("Xvfb did not start")
        return cls(f":{number}", proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def reset_keyring_backend() -> None:
    """keyring caches its backend choice, and which backends are viable, once per process;
    tests switch buses, so forget both."""
    import contextlib

    import keyring.backend
    import keyring.core

    with contextlib.suppress(KeyError):  # nothing decided yet
        keyring.backend.get_all_keyring.reset()
    keyring.core._keyring_backend = None
