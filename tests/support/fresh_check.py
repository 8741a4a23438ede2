"""``make fresh-check``: the README's commands on a fresh Debian 12, as a new user runs them.

A debootstrap minbase root of bookworm with only git, make and python3 added (Debian's own
Python, /usr/bin/python3), the repository's committed HEAD cloned into it with git, and
``make test`` run inside with chroot: the Makefile installs every other system package with
apt-get inside, builds the venvs from PyPI, and the suite starts its own services (PulseAudio,
D-Bus, gnome-keyring, Xvfb). Not part of ``make test`` or CI: it takes 15-25 minutes.

Run as root on a Debian host (debootstrap, chroot, mounts). Kept between runs, under
``.cache/fresh-check/`` (gitignored): the debootstrap tarball, and the .deb files, wheels and
pip downloads the run fetched, so a second run does not download them again; the installed
root itself is made anew every run from the tarball and removed afterwards. After the run
the checkout must be clean (``git status``) and /tmp free of the suite's folders. ``--no-cache``
downloads everything again (the tarball is still reused).

Mounts (/proc, /sys, /dev, /dev/pts, a fresh /dev/shm, tmpfs /tmp and /run) live in a
private mount namespace, and the commands in a private PID namespace: when the run ends, by
itself or interrupted, its daemons end and its mounts go with it; nothing needs unmounting.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.packaging.debian_root import DebianRoot, DebianRootError  # noqa: E402

RELEASE = "bookworm"  # Debian 12
BASE_PACKAGES = ["git", "make", "python3"]  # what the README tells a new user to install
CHECKOUT = "/root/azassist"
# What a login shell of root has; nothing of this process (no venv, no pyenv, no pip config).
ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "USER": "root",
    "LOGNAME": "root",
    "SHELL": "/bin/bash",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}
# This machine's own network set-up, not the project's: a TLS-inspecting egress proxy has its
# CA among the host's local certificates and these variables point at the host's bundle. The
# certificates are copied into the root (the ca-certificates package, installed by make test,
# adds them to its bundle) and the variables set there are passed on; a host without them
# passes nothing.
HOST_CA_FOLDER = Path("/usr/local/share/ca-certificates")
HOST_TLS_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                      "GIT_SSL_CAINFO")
# Download caches shared between runs (host folder under the cache -> path inside).
CACHES = {
    "apt-archives": "/var/cache/apt/archives",
    "uv": "/root/.cache/uv",
    "pip": "/root/.cache/pip",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "fresh-check",
                        help="where the debootstrap tarball and downloads are kept (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="download packages and wheels again")
    parser.add_argument("--command", default="make test",
                        help="what to run in the checkout (default: %(default)s)")
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("fresh-check needs root (debootstrap, chroot, mounts): run it with sudo", file=sys.stderr)
        return 2
    subprocess.run(["bash", str(REPO / ".ci/system-deps.sh"), "debootstrap", "git"], check=True)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    if subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                      capture_output=True, text=True, check=True).stdout.strip():
        print("note: the work tree has uncommitted changes; fresh-check tries the committed HEAD only")

    cache: Path = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    lock = (cache / "lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another fresh-check is running (it holds {cache / 'lock'})", file=sys.stderr)
        return 2
    for stale in cache.glob("root-*"):  # left by a run that was killed: its mounts died with it
        shutil.rmtree(stale, ignore_errors=True)
    os.environ["AZASSIST_TEST_CACHE"] = str(cache)

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="root-", dir=cache))
    try:
        print(f"== debootstrap {RELEASE} minbase + {' '.join(BASE_PACKAGES)} (cached as a tarball after the first run)",
              flush=True)
        try:
            root = DebianRoot.create(work / "root", include=BASE_PACKAGES, codename=RELEASE)
        except DebianRootError as error:
            print(f"fresh-check: {error}", file=sys.stderr)
            return 2
        root.bind(REPO, Path("/src"))
        if HOST_CA_FOLDER.is_dir():
            shutil.copytree(HOST_CA_FOLDER, root.path / HOST_CA_FOLDER.relative_to("/"), dirs_exist_ok=True)
        env = {**ENV, **{name: os.environ[name] for name in HOST_TLS_VARIABLES if name in os.environ}}
        if not args.no_cache:
            for name, inside in CACHES.items():
                (cache / name).mkdir(exist_ok=True)
                root.bind(cache / name, Path(inside))
        script = "\n".join([
            "set -e",
            "echo '== inside:' $(. /etc/os-release; echo $PRETTY_NAME), $(/usr/bin/python3 --version)",
            f"git clone --quiet --no-local /src {CHECKOUT}",
            f"cd {CHECKOUT}",
            f"git checkout --quiet --detach {head}",
            f"echo '== {args.command} in {CHECKOUT} at {head[:12]}'",
            "set +e",
            f"{args.command}",
            "status=$?",
            # What a run must not leave behind: changes in the checkout, the suite's folders in /tmp.
            "echo '== after the run: git status --porcelain'; dirty=$(git status --porcelain); echo \"$dirty\"",
            "echo '== after the run: ls -A /tmp'; ls -A /tmp",
            "left=$(ls -A /tmp | grep -E '^(azassist-|pytest-of-)')",
            'if [ $status -eq 0 ] && [ -n "$dirty$left" ]; then echo "== the run left files behind"; status=3; fi',
            "exit $status",
        ])
        print(f"== root ready after {time.monotonic() - started:.0f} s", flush=True)
        status = root.session(f"exec /bin/bash -c {shlex.quote(script)}", env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60
    verdict = "PASSED" if status == 0 else f"FAILED (exit {status})"
    print(f"== fresh-check {verdict} in {minutes:.1f} min: '{args.command}' at {head[:12]} on a fresh Debian 12")
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
