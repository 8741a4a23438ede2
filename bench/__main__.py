"""``make bench``: measure every figure of issue 9 and write bench/results/latest.{json,md}.

    python -m bench [--quick] [--only 1,2,5] [--build-bundle] [--stem NAME]

A full run (all figures, not --quick) writes ``latest``; any other run writes ``partial``
unless --stem says otherwise, so a quick check never replaces the committed results.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import traceback

from .figures import FIGURES, NEEDS_SCREEN, Run
from .harness import BenchEnv, CpuLoad
from .results import PROJECT_README, RESULTS_DIR, Figure, print_figure, update_readme, write_results
from .screen import WatchedScreen


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, shorter durations (about 5 minutes)")
    parser.add_argument("--only", metavar="N,M", help=f"run only these figures (1-{max(FIGURES)})")
    parser.add_argument("--build-bundle", action="store_true", help="build dist/azassist first (figure 9)")
    parser.add_argument("--loaded", action="store_true",
                        help="keep one core busy for the whole run (a steady, bounded load) and report every figure so")
    parser.add_argument("--stem", help="results file name (default: latest for a full run, else partial; "
                                       "with --loaded: latest-loaded / partial-loaded)")
    args = parser.parse_args(argv)
    try:
        args.figures = sorted({int(n) for n in args.only.split(",")}) if args.only else sorted(FIGURES)
    except ValueError:
        parser.error("--only takes figure numbers, e.g. --only 1,2,5")
    unknown = [n for n in args.figures if n not in FIGURES]
    if unknown:
        parser.error(f"no figure {unknown[0]}: figures are 1-{max(FIGURES)}")
    if args.stem is None:
        args.stem = "latest" if not args.quick and args.figures == sorted(FIGURES) else "partial"
        if args.loaded:
            args.stem += "-loaded"
    return args


async def run_figures(args: argparse.Namespace) -> list[Figure]:
    os.environ.pop("OPENAI_API_VERSION", None)
    bench = BenchEnv.start()
    load = CpuLoad() if args.loaded else None
    screen = WatchedScreen.start() if NEEDS_SCREEN & set(args.figures) else None
    run = Run(quick=args.quick, bench=bench, screen=screen, build_bundle=args.build_bundle)
    figures: list[Figure] = []
    try:
        for number in args.figures:
            started = time.monotonic()
            print(f"figure {number}...", flush=True)
            try:
                measured = await FIGURES[number](run)  # type: ignore[misc]
            except Exception as exc:
                traceback.print_exc()
                measured = [Figure(f"{number} (failed)", float("nan"), "", None, "-", None, note=str(exc)[:300])]
            for figure in measured:
                print_figure(figure)
            figures.extend(measured)
            print(f"figure {number} took {time.monotonic() - started:.0f} s", flush=True)
    finally:
        if screen is not None:
            screen.stop()
        if load is not None:
            share = load.share()
            load.stop()
            print(f"the load process used {share:.2f} of a core over the run", flush=True)
            figures.append(Figure("load: busy core during the run", share, "cores", None, "report", None,
                                  note="--loaded: one pure-Python busy loop at the clients' priority for the whole run"))
        bench.stop()
    return figures


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a clean stop: every client, server and recorder is shut down


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    started = time.monotonic()
    figures = asyncio.run(run_figures(args))
    json_path, md_path = write_results(figures, RESULTS_DIR, args.stem)
    if args.stem in ("latest", "latest-loaded"):
        elapsed = time.monotonic() - started
        loaded = ", one core kept busy (--loaded)" if args.loaded else ""
        when = f"{time.strftime('%Y-%m-%d')}, full run in {elapsed / 60:.0f} min on {os.cpu_count()} cores{loaded}"
        marker = "results-loaded" if args.loaded else "results"
        update_readme(figures, when, marker=marker)
        update_readme(figures, when, PROJECT_README, notes=False, marker=marker)
    missed = [f.name for f in figures if f.met is False]
    print(f"\n{len(figures)} figures in {time.monotonic() - started:.0f} s; wrote {json_path} and {md_path}")
    print(f"missed: {', '.join(missed)}" if missed else "every target with a bound was met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
