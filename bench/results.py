"""One figure per benchmark, written as JSON and a Markdown table.

These machines are noisy, so a figure is only meaningful next to its baseline from the
same run: ``ratio = value / baseline`` and the target is stated on the ratio (or on the
value where the issue says so, e.g. p99 lag in ms).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None
    target: str  # human-readable, e.g. "<= 0.3x console"
    met: bool | None
    ratio: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline not in (None, 0):
            self.ratio = self.value / float(self.baseline)


def ratio_figure(
    name: str, value: float, baseline: float, unit: str, *, at_most: float | None = None,
    at_least: float | None = None, baseline_name: str = "baseline", note: str = "",
) -> Figure:
    """A figure whose target is a bound on value / baseline."""
    ratio = value / baseline if baseline else math.inf
    if at_most is not None:
        target, met = f"<= {at_most}x {baseline_name}", ratio <= at_most
    elif at_least is not None:
        target, met = f">= {at_least}x {baseline_name}", ratio >= at_least
    else:
        target, met = f"report vs {baseline_name}", None
    return Figure(name, value, unit, baseline, target, met, ratio, note)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = (len(ordered) - 1) * q
    low, high = math.floor(index), math.ceil(index)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _jsonable(record: dict[str, object]) -> dict[str, object]:
    """NaN and infinity are not JSON: a figure that could not be measured has null there."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()}


def write_results(figures: list[Figure], directory: Path = RESULTS_DIR, stem: str = "latest") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{stem}.json"
    json_path.write_text(json.dumps([_jsonable(asdict(f)) for f in figures], indent=2) + "\n")
    md_path = directory / f"{stem}.md"
    md_path.write_text(markdown_table(figures))
    return json_path, md_path


def markdown_table(figures: list[Figure], *, notes: bool = True) -> str:
    """The table for bench/results/latest.md and the READMEs (notes say how it was measured;
    the project README leaves them out)."""
    header = ["figure", "value", "unit", "baseline", "ratio", "target", "met"] + (["how"] if notes else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for f in figures:
        met: Literal["yes", "no", "-"] = "-" if f.met is None else ("yes" if f.met else "no")
        cells = [f.name, _fmt(f.value), f.unit, _fmt(f.baseline), _fmt(f.ratio), f.target, met]
        if notes:
            cells.append(f.note.replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


README = Path(__file__).resolve().parent / "README.md"
PROJECT_README = Path(__file__).resolve().parent.parent / "README.md"
def update_readme(figures: list[Figure], when: str, path: Path = README, *, notes: bool = True,
                  marker: str = "results") -> bool:
    """Put the table between the README's ``marker`` comments (``results``: the plain run,
    ``results-loaded``: the --loaded run); False if they are missing."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = text.find(f"<!-- {marker}:"), text.find(f"<!-- /{marker} -->")
    if begin < 0 or end < begin:
        return False
    head_end = text.index("\n", begin) + 1
    body = f"Measured {when}.\n\n" + markdown_table(figures, notes=notes)
    path.write_text(text[:head_end] + body + text[end:], encoding="utf-8")
    return True


def print_figure(f: Figure) -> None:
    ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
    status = "met" if f.met else ("MISSED" if f.met is False else "reported")
    print(f"{f.name}: {_fmt(f.value)} {f.unit} (baseline {_fmt(f.baseline)}, ratio {ratio}; "
          f"target {f.target}: {status})", flush=True)
