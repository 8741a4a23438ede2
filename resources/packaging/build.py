"""``make package``: the standalone bundle, a .tar.gz of it and a .deb, plus a size report.

    .venv/bin/python resources/packaging/build.py [--clean] [--skip-tar] [--skip-deb]

Outputs in dist/:
    azassist/                                the onedir bundle (run dist/azassist/azassist)
    azassist-<version>-linux-<arch>.tar.gz   that folder, for any glibc-based distribution
    azassist_<version>-1_<arch>.deb          installs to /opt/azassist, `azassist` on PATH
    azassist-<version>-build-report.md       sizes, biggest parts, step times, start-up
Windows (Inno Setup) and macOS (dmg) recipes are beside this file; see README.md here.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import bundle_report  # noqa: E402 - found through the sys.path line above
import deb  # noqa: E402
import icons  # noqa: E402

APP = "azassist"
DEBIAN_REVISION = "1"
T = TypeVar("T")


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"
    ]["version"]


def run_pyinstaller(dist: Path, work: Path, icon_dir: Path, *, clean: bool) -> Path:
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
    ]
    if clean:
        command.append("--clean")
    command.append(str(ROOT / "build.spec"))
    env = {**os.environ, "AZASSIST_ICON_DIR": str(icon_dir)}
    subprocess.run(command, check=True, cwd=ROOT, env=env)
    bundle = dist / APP
    if not (bundle / APP).is_file():
        raise SystemExit(f"PyInstaller finished but {bundle / APP} is missing")
    return bundle


def make_tarball(bundle: Path, target: Path) -> Path:
    """Reproducible-ish: sorted names, root ownership; pigz when installed (2x faster)."""
    compressor = ["-I", "pigz -6"] if shutil.which("pigz") else ["-z"]
    subprocess.run(
        [
            "tar",
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            *compressor,
            "-cf",
            str(target),
            "-C",
            str(bundle.parent),
            bundle.name,
        ],
        check=True,
    )
    return target


def measure_startup(bundle: Path, runs: int = 3) -> dict[str, float]:
    """Best-of-N wall time of ``azassist --version``: frozen bundle vs the source install."""

    def best(command: list[str]) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        return min(times)

    result = {
        "bundle (dist/azassist/azassist --version)": best(
            [str(bundle / APP), "--version"]
        )
    }
    result["source (python -m azassist --version)"] = best(
        [sys.executable, "-m", APP, "--version"]
    )
    return result


def timed(timings: dict[str, float], step: str, action: Callable[[], T]) -> T:
    print(f"== {step}", flush=True)
    started = time.monotonic()
    value = action()
    timings[step] = time.monotonic() - started
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build",
        help="scratch folder (default build/)",
    )
    parser.add_argument(
        "--clean", action="store_true", help="rebuild PyInstaller's cache from scratch"
    )
    parser.add_argument("--skip-tar", action="store_true", help="no .tar.gz")
    parser.add_argument("--skip-deb", action="store_true", help="no .deb")
    # zstd: 2 s and 118 MB here; xz: 160 s and 90 MB. Every system new enough for the
    # bundle's glibc (Debian 12, Ubuntu 22.04 and later) has a dpkg that reads zstd.
    parser.add_argument(
        "--deb-compression",
        default="zstd",
        choices=["zstd", "xz", "gzip", "none"],
        help="dpkg-deb compression (default zstd; xz for the smallest download)",
    )
    parser.add_argument(
        "--no-startup", action="store_true", help="do not time `azassist --version`"
    )
    options = parser.parse_args(argv)

    version = project_version()
    linux = sys.platform.startswith("linux")
    dist, work = options.dist.resolve(), options.work.resolve()
    timings: dict[str, float] = {}
    artefacts: dict[str, Path] = {}

    svg = ROOT / "resources" / "icons" / f"{APP}.svg"
    icon_dir = work / "icons"
    rendered = timed(
        timings,
        "icons",
        lambda: icons.render_icons(svg, icon_dir) if svg.exists() else {},
    )
    if rendered:
        icons.write_windows_and_mac_icons(rendered, icon_dir)
    bundle = timed(
        timings,
        "pyinstaller",
        lambda: run_pyinstaller(
            dist, work / "pyinstaller", icon_dir, clean=options.clean
        ),
    )
    startup = (
        None
        if options.no_startup
        else timed(timings, "start-up timing", lambda: measure_startup(bundle))
    )

    if linux and not options.skip_tar:
        arch = platform.machine()
        tarball = dist / f"{APP}-{version}-linux-{arch}.tar.gz"
        artefacts["tar"] = timed(
            timings, "tar.gz", lambda: make_tarball(bundle, tarball)
        )
    if linux and not options.skip_deb:
        depends, _ = timed(timings, "deb: Depends", lambda: deb.compute_depends(bundle))
        root = timed(
            timings,
            "deb: stage",
            lambda: deb.stage(
                bundle,
                work / "deb-root",
                version=f"{version}-{DEBIAN_REVISION}",
                depends=depends,
                icons=rendered,
                svg_icon=svg if svg.exists() else None,
                desktop_entry=deb.find_desktop_entry(ROOT / "resources"),
            ),
        )
        artefacts["deb"] = timed(
            timings,
            "deb: dpkg-deb",
            lambda: deb.build(root, dist, compression=options.deb_compression),
        )
        shutil.rmtree(root)
        print("Depends: " + ", ".join(depends))

    report = bundle_report.markdown(
        bundle, version=version, artefacts=artefacts, timings=timings, startup=startup
    )
    report_path = dist / f"{APP}-{version}-build-report.md"
    report_path.write_text(report, encoding="utf-8")
    print(report)
    for path in [bundle, *artefacts.values(), report_path]:
        print(f"built {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
