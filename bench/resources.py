"""Figure 6: CPU and memory of a client that sits connected and listening to a silent room."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Usage:
    cpu_percent: float  # of one core, averaged over the window
    rss_mb: float  # at the end of the window (process and its children)
    peak_rss_mb: float


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _rss_mb(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


async def sample_usage(pid: int, seconds: float) -> Usage:
    """CPU and RSS of ``pid`` and its children over ``seconds`` (the event loop keeps running)."""
    processes = _tree(pid)
    cpu_start, started = _cpu_seconds(processes), time.monotonic()
    peak = _rss_mb(processes)
    while time.monotonic() - started < seconds:
        await asyncio.sleep(min(1.0, seconds - (time.monotonic() - started)))
        peak = max(peak, _rss_mb(processes))
    elapsed = time.monotonic() - started
    cpu = _cpu_seconds(processes) - cpu_start
    rss = _rss_mb(processes)
    return Usage(100 * cpu / elapsed, rss, max(peak, rss))
