"""What the bundle weighs, and where the weight is: the tables the README quotes.

Sizes are the bytes of regular files (symlinks inside the bundle are not counted twice),
in MB of 1,000,000 bytes as file managers show them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

MB = 1_000_000
# Folders worth showing one level deeper: the Qt tree dominates and mixes several parts.
SPLIT_DEEPER = ("PySide6", "PySide6/Qt")


@dataclass(frozen=True)
class Part:
    name: str
    bytes: int
    files: int


def _files(bundle: Path) -> list[Path]:
    return [
        path for path in bundle.rglob("*") if path.is_file() and not path.is_symlink()
    ]


def total_size(bundle: Path) -> tuple[int, int]:
    """(bytes, number of files)."""
    files = _files(bundle)
    return sum(path.stat().st_size for path in files), len(files)


def _part_of(relative: Path) -> str:
    parts = relative.parts
    depth = 1
    while depth < len(parts) - 1 and "/".join(parts[:depth]) in SPLIT_DEEPER:
        depth += 1
    return "/".join(parts[:depth]) if len(parts) > depth else relative.as_posix()


def biggest_parts(bundle: Path, limit: int = 15) -> list[Part]:
    """Top-level parts of the app's library folder (``_internal``): packages, Qt pieces, and
    loose libraries one by one."""
    internal = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    sizes: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for path in _files(internal):
        name = _part_of(path.relative_to(internal))
        sizes[name] += path.stat().st_size
        counts[name] += 1
    ranked = sorted(sizes, key=sizes.__getitem__, reverse=True)[:limit]
    return [Part(name, sizes[name], counts[name]) for name in ranked]


def biggest_files(bundle: Path, limit: int = 10) -> list[Part]:
    files = sorted(_files(bundle), key=lambda path: path.stat().st_size, reverse=True)[
        :limit
    ]
    return [
        Part(path.relative_to(bundle).as_posix(), path.stat().st_size, 1)
        for path in files
    ]


def markdown(
    bundle: Path,
    *,
    version: str,
    artefacts: dict[str, Path],
    timings: dict[str, float],
    startup: dict[str, float] | None = None,
) -> str:
    """The build report: sizes, biggest parts, artefacts and how long each step took."""
    size, count = total_size(bundle)
    lines = [
        f"# azassist {version} bundle",
        "",
        f"Bundle `{bundle.name}/`: **{size / MB:.0f} MB** in {count} files.",
        "",
        "| artefact | size |",
        "| --- | ---: |",
    ]
    lines += [
        f"| `{path.name}` | {path.stat().st_size / MB:.0f} MB |"
        for path in artefacts.values()
        if path.exists()
    ]
    lines += [
        "",
        "Biggest parts (`_internal/`):",
        "",
        "| part | MB | files |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| `{part.name}` | {part.bytes / MB:.1f} | {part.files} |"
        for part in biggest_parts(bundle)
    ]
    lines += ["", "Biggest files:", "", "| file | MB |", "| --- | ---: |"]
    lines += [
        f"| `{part.name}` | {part.bytes / MB:.1f} |" for part in biggest_files(bundle)
    ]
    lines += ["", "| step | seconds |", "| --- | ---: |"]
    lines += [f"| {step} | {seconds:.1f} |" for step, seconds in timings.items()]
    if startup:
        lines += [
            "",
            "Start-up (`azassist --version`, best of runs):",
            "",
            "| how | seconds |",
            "| --- | ---: |",
        ]
        lines += [f"| {how} | {seconds:.2f} |" for how, seconds in startup.items()]
    return "\n".join(lines) + "\n"
