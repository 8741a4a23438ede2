"""The Debian package: the bundle under /opt/azassist, ``azassist`` on PATH, a menu entry,
icons, and ``Depends:`` computed from what the bundle's binaries really link against.

How Depends is computed (no guessing, no hand-kept list to rot):
  1. every ELF file in the bundle is read with ``objdump -p``: its NEEDED libraries and the
     glibc symbol versions it requires;
  2. NEEDED names that the bundle itself carries are dropped;
  3. each remaining name is found on the build machine (``ldconfig -p``) and mapped to the
     Debian package that owns it (``dpkg -S``);
  4. libc6 gets ``>=`` the highest GLIBC_x.y any binary requires; the others stay
     unversioned (their sonames carry the ABI, and unversioned names also match the
     "t64"-renamed packages of newer releases, which Provide the old names).
Libraries opened at run time without being linked (ALSA's PulseAudio/PipeWire plugin, a
Secret Service, CA certificates) go to Recommends.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "azassist"
INSTALL_DIR = Path("/opt/azassist")
MAINTAINER = "azassist developers <azassist@users.noreply.github.com>"
# glibc's own libraries: PyInstaller never bundles them; their package is versioned by symbols.
GLIBC_PACKAGE = "libc6"
# Where one package has drop-in alternatives, accept either (as Debian's own packages do).
ALTERNATIVES = {"libjack-jackd2-0": "libjack-jackd2-0 | libjack-0.125"}
RECOMMENDS = (
    "ca-certificates",  # the system's CA store is preferred over the bundled certifi one
    "libasound2-plugins | pipewire-alsa",  # ALSA -> PulseAudio / PipeWire for PortAudio
    "gnome-keyring | kwalletmanager | keepassxc",  # a Secret Service to keep the API key
)
_GLIBC_VERSION = re.compile(r"GLIBC_(\d+(?:\.\d+)+)")


class DependencyError(RuntimeError):
    """A library the bundle needs could not be traced to a Debian package."""


@dataclass
class ElfInfo:
    needed: list[str] = field(default_factory=list)
    glibc_versions: set[str] = field(default_factory=set)


def is_elf(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def elf_files(bundle: Path) -> list[Path]:
    return sorted(path for path in bundle.rglob("*") if is_elf(path))


def read_elf(path: Path) -> ElfInfo:
    """NEEDED entries and required GLIBC_ versions, from ``objdump -p``."""
    output = subprocess.run(
        ["objdump", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    info = ElfInfo()
    for line in output.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "NEEDED":
            info.needed.append(words[1])
        info.glibc_versions.update(_GLIBC_VERSION.findall(line))
    return info


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass
class SystemNeeds:
    """What the bundle needs from the system: soname -> bundle files that need it."""

    libraries: dict[str, list[str]]
    glibc: str | None


def system_needs(bundle: Path) -> SystemNeeds:
    carried = {path.name for path in bundle.rglob("*")}
    libraries: dict[str, list[str]] = defaultdict(list)
    glibc: set[str] = set()
    for path in elf_files(bundle):
        info = read_elf(path)
        glibc |= info.glibc_versions
        for soname in info.needed:
            if soname not in carried:
                libraries[soname].append(path.relative_to(bundle).as_posix())
    newest = max(glibc, key=_version_key) if glibc else None
    return SystemNeeds(dict(libraries), newest)


def _ldconfig_cache() -> dict[str, str]:
    """soname -> path for this machine's architecture, from the dynamic linker's cache."""
    output = subprocess.run(
        ["ldconfig", "-p"], capture_output=True, text=True, check=True
    ).stdout
    machine = os.uname().machine
    wanted_tag = {"x86_64": "x86-64", "aarch64": "AArch64"}.get(machine, "")
    cache: dict[str, str] = {}
    for line in output.splitlines()[1:]:
        match = re.match(r"\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)", line)
        if match and (not wanted_tag or wanted_tag in match.group(2)):
            cache.setdefault(match.group(1), match.group(3))
    return cache


def _path_variants(path: str) -> list[str]:
    """Merged-/usr systems list a library under /lib or /usr/lib: dpkg knows only one."""
    real = os.path.realpath(path)
    variants = [path, real]
    for candidate in (path, real):
        if candidate.startswith("/usr/lib/"):
            variants.append(candidate.removeprefix("/usr"))
        elif candidate.startswith("/lib/"):
            variants.append("/usr" + candidate)
    return list(dict.fromkeys(variants))


def owning_package(path: str) -> str | None:
    for candidate in _path_variants(path):
        result = subprocess.run(
            ["dpkg", "-S", candidate], capture_output=True, text=True, check=False
        )
        for line in result.stdout.splitlines():
            if line.startswith("diversion "):
                continue
            package = line.split(":", 1)[0].split(",")[0].strip()
            if package:
                return package
    return None


def compute_depends(bundle: Path) -> tuple[list[str], dict[str, str]]:
    """(Depends entries, soname -> package) for the bundle; DependencyError if a needed
    library is not installed here or belongs to no package."""
    needs = system_needs(bundle)
    cache = _ldconfig_cache()
    packages: dict[str, str] = {}
    problems = []
    for soname, users in sorted(needs.libraries.items()):
        path = cache.get(soname)
        package = owning_package(path) if path else None
        if package is None:
            problems.append(
                f"{soname} (needed by {users[0]}{' and others' if len(users) > 1 else ''})"
            )
            continue
        packages[soname] = package
    if problems:
        raise DependencyError("no Debian package found for: " + ", ".join(problems))
    names = set(packages.values())
    if needs.glibc:
        names.add(GLIBC_PACKAGE)
    depends = []
    for name in sorted(names):
        if name == GLIBC_PACKAGE and needs.glibc:
            depends.append(f"{GLIBC_PACKAGE} (>= {needs.glibc})")
        else:
            depends.append(ALTERNATIVES.get(name, name))
    return depends, packages


def debian_architecture() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def control_file(
    *, version: str, architecture: str, installed_kib: int, depends: Iterable[str]
) -> str:
    return textwrap.dedent(
        f"""\
        Package: {PACKAGE}
        Version: {version}
        Architecture: {architecture}
        Maintainer: {MAINTAINER}
        Installed-Size: {installed_kib}
        Depends: {", ".join(depends)}
        Recommends: {", ".join(RECOMMENDS)}
        Section: sound
        Priority: optional
        Description: desktop voice assistant for Azure OpenAI realtime deployments
         Talk to your own Azure OpenAI realtime deployment from the desktop: a window
         with push-to-talk or hands-free conversation, echo cancellation, transcripts
         and an offline demo. API keys stay in the system keyring.
         .
         Self-contained: Python and its libraries are bundled under /opt/azassist.
         Run "azassist selftest" to check sound, keyring and the conversation engine.
        """
    )


DESKTOP_ENTRY = textwrap.dedent(
    """\
    [Desktop Entry]
    Type=Application
    Name=azassist
    GenericName=Voice assistant
    Comment=Talk to your Azure OpenAI realtime deployment
    Exec=azassist
    Icon=azassist
    Terminal=false
    Categories=AudioVideo;Audio;Utility;
    Keywords=voice;assistant;azure;openai;realtime;speech;
    StartupWMClass=azassist
    """
)

COPYRIGHT = textwrap.dedent(
    """\
    Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
    Upstream-Name: azassist

    Files: *
    License: MIT

    Files: opt/azassist/_internal/*
    Comment: Python and the third-party libraries azassist is built on (Qt for Python,
     LiveKit, PortAudio, espeak-ng, ...) under their own licences; licence texts ship
     inside the package folders where upstream provides them.
    """
)


def find_desktop_entry(resources: Path) -> Path | None:
    """The UI's own .desktop file if resources/ has one (outside packaging/)."""
    for path in sorted(resources.rglob("*.desktop")):
        if "packaging" not in path.relative_to(resources).parts:
            return path
    return None


def _copy_tree(source: Path, target: Path) -> None:
    """Hard links where possible (fast, no second 300 MB), copies across file systems."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy)


def stage(
    bundle: Path,
    root: Path,
    *,
    version: str,
    depends: list[str],
    icons: dict[int, Path],
    svg_icon: Path | None,
    desktop_entry: Path | None,
) -> Path:
    """Lay out the package tree under ``root`` (DEBIAN/ + the files)."""
    if root.exists():
        shutil.rmtree(root)
    opt = root / INSTALL_DIR.relative_to("/")
    opt.parent.mkdir(parents=True)
    _copy_tree(bundle, opt)
    bin_dir = root / "usr/bin"
    bin_dir.mkdir(parents=True)
    # A symlink: PyInstaller's bootloader finds its folder through /proc/self/exe.
    (bin_dir / PACKAGE).symlink_to(INSTALL_DIR / PACKAGE)
    applications = root / "usr/share/applications"
    applications.mkdir(parents=True)
    entry = (
        desktop_entry.read_text(encoding="utf-8") if desktop_entry else DESKTOP_ENTRY
    )
    (applications / f"{PACKAGE}.desktop").write_text(entry, encoding="utf-8")
    for size, png in icons.items():
        target = root / f"usr/share/icons/hicolor/{size}x{size}/apps/{PACKAGE}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
    if svg_icon is not None:
        target = root / f"usr/share/icons/hicolor/scalable/apps/{PACKAGE}.svg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(svg_icon, target)
    doc = root / f"usr/share/doc/{PACKAGE}"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT, encoding="utf-8")
    _normalise_modes(root)
    installed_kib = (
        sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir()) // 1024 + 1
    )
    debian = root / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(
        control_file(
            version=version,
            architecture=debian_architecture(),
            installed_kib=installed_kib,
            depends=depends,
        ),
        encoding="utf-8",
    )
    return root


def _normalise_modes(root: Path) -> None:
    """Directories 0755, executables 0755, everything else 0644 (whatever the build umask)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir() or os.stat(path).st_mode & 0o111:
            path.chmod(0o755)
        else:
            path.chmod(0o644)


def build(root: Path, output_dir: Path, *, compression: str = "xz") -> Path:
    """``dpkg-deb --build`` with root ownership and the standard file name."""
    control = (root / "DEBIAN/control").read_text(encoding="utf-8")
    fields = dict(
        line.split(": ", 1)
        for line in control.splitlines()
        if ": " in line and not line.startswith(" ")
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    target = (
        output_dir
        / f"{fields['Package']}_{fields['Version']}_{fields['Architecture']}.deb"
    )
    subprocess.run(
        [
            "dpkg-deb",
            "--root-owner-group",
            f"-Z{compression}",
            "--build",
            str(root),
            str(target),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return target
