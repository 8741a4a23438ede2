"""A clean Debian root: debootstrap's minbase (no Python, no X, no sound libraries), plus
whatever packages are asked for, entered with chroot inside a private mount namespace so
every mount made for it vanishes with the process. The packaging tests install the .deb into
one; ``.ci/fresh-check`` runs the README's commands in one (only git, make and python3 added).

debootstrap takes about 30 s and needs the Debian mirror this machine's apt uses; the result
is kept as a tarball under the test cache (``AZASSIST_TEST_CACHE``, default
~/.cache/azassist-tests) so later runs on the same machine start from it in a few seconds.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEBOOTSTRAP_TIMEOUT = 300  # normally ~30 s
APT_TIMEOUT = 300  # normally ~20 s


class DebianRootError(RuntimeError):
    pass


def host_release() -> tuple[str, str]:
    """(distribution id, codename) of this machine, e.g. ("debian", "bookworm")."""
    fields = dict(
        line.split("=", 1)
        for line in Path("/etc/os-release").read_text().splitlines()
        if "=" in line
    )
    return fields.get("ID", "").strip('"'), fields.get("VERSION_CODENAME", "").strip(
        '"'
    )


def host_mirror() -> str:
    """The main archive URL this machine's apt uses (deb822 or one-line sources)."""
    sources = [
        Path("/etc/apt/sources.list"),
        *sorted(Path("/etc/apt/sources.list.d").glob("*")),
    ]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(
            r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.MULTILINE
        ):
            url = match.group(1)
            if "security" not in url:
                return url
    raise DebianRootError("no apt mirror found in /etc/apt/sources.list*")


def _cache_dir() -> Path:
    return Path(
        os.environ.get("AZASSIST_TEST_CACHE", Path.home() / ".cache" / "azassist-tests")
    )


@dataclass
class DebianRoot:
    path: Path
    binds: list[tuple[Path, Path]] = field(
        default_factory=list
    )  # (host path, path inside)

    @classmethod
    def create(
        cls, target: Path, include: Sequence[str] = (), codename: str | None = None
    ) -> DebianRoot:
        """A minbase root at ``target`` with ``include`` (package names) added by debootstrap,
        of this machine's release unless ``codename`` names another."""
        if not shutil.which("debootstrap"):
            raise DebianRootError(
                "debootstrap is not installed (apt-get install debootstrap)"
            )
        distribution, host_codename = host_release()
        if distribution != "debian" or not host_codename:
            raise DebianRootError(
                f"a Debian root needs a Debian host, this is {distribution} {host_codename}"
            )
        codename = codename or host_codename
        mirror = host_mirror()
        extra = "".join(f"+{name}" for name in sorted(include))
        cached = _cache_dir() / f"debootstrap-{codename}-minbase{extra}.tar"
        target.mkdir(parents=True)
        if cached.is_file():
            subprocess.run(["tar", "-xpf", str(cached), "-C", str(target)], check=True)
        else:
            options = [f"--include={','.join(sorted(include))}"] if include else []
            result = subprocess.run(
                ["debootstrap", "--variant=minbase", *options, codename, str(target), mirror],
                capture_output=True,
                text=True,
                timeout=DEBOOTSTRAP_TIMEOUT,
                check=False,
            )
            if result.returncode != 0:
                raise DebianRootError(
                    "debootstrap failed:\n"
                    + result.stdout[-2000:]
                    + result.stderr[-2000:]
                )
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".partial")
            subprocess.run(
                ["tar", "-cpf", str(partial), "-C", str(target), "."], check=True
            )
            partial.replace(cached)
        shutil.copyfile(
            "/etc/resolv.conf", target / "etc/resolv.conf"
        )  # apt inside needs DNS
        hosts = target / "etc/hosts"
        if not hosts.exists():
            # debootstrap writes none (the installer does): without it "localhost" does not
            # resolve, and a sign-in's loopback redirect server cannot start
            hosts.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", encoding="utf-8")
        return cls(target)

    def bind(self, host_path: Path, inside: Path | None = None) -> None:
        """Make a host file or folder visible inside (a socket, the audio server's folder)."""
        self.binds.append((host_path, inside or host_path))

    def run(
        self, command: str, *, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command inside, with exactly ``env`` (plus nothing from this process)."""
        return subprocess.run(
            self._enter(command, env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def session(
        self, command: str, *, env: dict[str, str], timeout: float | None = None
    ) -> int:
        """Run a shell command inside as on a booted machine, its output going to this
        process's: besides /proc and /dev also /sys, a fresh /dev/shm, and tmpfs on /tmp and
        /run, in a private PID namespace too, so the daemons it starts end with it. Returns
        the exit status."""
        return subprocess.run(
            self._enter(command, env, machine=True), timeout=timeout, check=False
        ).returncode

    def _enter(
        self, command: str, env: dict[str, str], *, machine: bool = False
    ) -> list[str]:
        root = shlex.quote(str(self.path))
        setup = [f"mount -t proc proc {root}/proc", f"mount --rbind /dev {root}/dev"]
        if machine:
            # The root is a mount point of its own, as / is on a real machine: unshare and
            # anything else that changes the propagation of / fail with EINVAL otherwise
            # (the packaging tests' own Debian root, made inside this one).
            setup.insert(0, f"mount --bind {root} {root}")
            setup += [
                f"mount --rbind /sys {root}/sys",
                f"mkdir -p {root}/dev/shm && mount -t tmpfs -o mode=1777 shm {root}/dev/shm",
                f"mount -t tmpfs -o mode=1777 tmp {root}/tmp",
                f"mount -t tmpfs -o mode=755 run {root}/run",
            ]
        for host_path, inside in self.binds:
            target = shlex.quote(f"{self.path}{inside}")
            make = (
                f"mkdir -p {target}"
                if host_path.is_dir()
                else f"mkdir -p $(dirname {target}) && touch {target}"
            )
            setup += [make, f"mount --bind {shlex.quote(str(host_path))} {target}"]
        assignments = " ".join(
            shlex.quote(f"{key}={value}") for key, value in env.items()
        )
        script = (
            " && ".join(setup)
            + f" && exec chroot {root} /usr/bin/env -i {assignments} /bin/sh -c {shlex.quote(command)}"
        )
        namespaces = ["--mount", "--propagation", "private"]
        if machine:
            namespaces += ["--pid", "--fork", "--kill-child"]
        return ["unshare", *namespaces, "/bin/sh", "-c", script]

    def install(
        self, packages: list[str], files: list[Path]
    ) -> subprocess.CompletedProcess[str]:
        """``apt-get install`` inside: local .deb files resolve their Depends from the mirror.
        Recommends are left out, so only what the package declares is pulled in."""
        inside = []
        for file in files:
            shutil.copyfile(file, self.path / "tmp" / file.name)
            inside.append(f"/tmp/{file.name}")
        command = (
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
            + " ".join(shlex.quote(item) for item in [*inside, *packages])
        )
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "DEBIAN_FRONTEND": "noninteractive",
            "LANG": "C.UTF-8",
        }
        return self.run(command, env=env, timeout=APT_TIMEOUT)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
