"""Figures 15-17 (issue 24): launch -> ready to talk, launch -> first reply heard, and the
window's longest stall from launch through that first reply.

Every client is launched afresh, in interleaved rounds after a discarded warm-up round
(bytecode and disk caches), and told to type one message as soon as its input accepts it:

  window   ``python -m bench.probes.launch --connect`` (``azassist --connect`` in-process with
           observers), an Azure configuration pointed at the bench's local server
  demo     the same with ``--demo`` (its own local server inside the app, fresh profile)
  window watched, demo watched
           the same two with ``--sample``: what ran in the longest stalls (timed, not counted)
  talk     ``azassist talk --mic --speaker --say TEXT``
  console  LiveKit's console mode (``bench/clients/console_agent.py``), the message given to
           ``session.generate_reply(user_input=...)`` right after ``session.start``
  floor    ``bench/clients/floor.py --say TEXT`` (reported)
  imports  ``python -c "import aiohttp, numpy, sounddevice"``: a bare Python process that only
           imports what the floor client needs (the floor of any Python client's start)

Ready to talk = process start -> the first microphone chunk of its new session reaches the
server (connected, devices open, listening); for the demo, whose server is inside the app,
the window's own CONNECTED event (same monotonic clock). First reply = process start -> the
first non-silent sample on the speaker's monitor. The stall: the window probe's 10 ms precise
Qt timer chain from the QApplication's creation to one second after the reply's last text,
with a 2 ms sampler of the window thread's stack saying what ran in the longest stall.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .harness import (
    DEPLOYMENT,
    PYTHON,
    ROOT,
    SILENCE_MS,
    Client,
    TimedRecorder,
    client_env,
    python_env,
    start_azassist_talk,
    start_console,
    start_floor,
)
from .latency import reply_server
from .results import Figure, median, percentile, ratio_figure
from .startup import user_home

if TYPE_CHECKING:
    from azassist.simulator import LocalRealtimeServer

    from .figures import Run

SAY = "Hello, can you hear me?"
FLOOR_IMPORTS = "import aiohttp, numpy, sounddevice"
# "watched": the same window launches with figure 17's stack sampler on, to say what ran in the
# longest stalls. The sampler takes the interpreter lock 500 times a second and walks every
# thread's stack: it made the window's ready time 11 % longer (2.03 s against 1.81 s, 6 A/B
# rounds on a quiet machine), so every figure is timed on the launches without it (these carry
# only the 10 ms timer chain that finds the stalls).
CLIENTS = ("window", "demo", "talk", "console", "floor", "imports", "window watched", "demo watched")
LABELS = {"window": "window, Azure configuration", "demo": "offline demo", "talk": "azassist talk",
          "console": "console mode", "floor": "floor client", "imports": "bare imports"}
TIMEOUT_S = 90.0


@dataclass
class Launch:
    client: str
    ready: float | None = None  # seconds from process start
    reply: float | None = None  # seconds from process start to the first reply sample heard
    probe: dict[str, Any] = field(default_factory=dict)  # the window probe's JSON
    problem: str = ""


def _rounds(run: Run) -> int:
    return 1 if run.quick else 5


async def launches(run: Run) -> dict[str, list[Launch]]:
    """One series for figures 15-17 (measured once per bench run)."""
    cached: dict[str, list[Launch]] | None = run.__dict__.get("launches")
    if cached is not None:
        return cached
    series: dict[str, list[Launch]] = {name: [] for name in CLIENTS}
    spk = TimedRecorder("spk.monitor", run.bench.audio.env)
    try:
        spk.wait_started()
        async with reply_server(run.bench) as server:
            for round_number in range(_rounds(run) + 1):  # round 0 warms the caches
                for name in CLIENTS:
                    launch = await _launch(run, server, spk, name)
                    if round_number:
                        series[name].append(launch)
                    print(f"  round {round_number} {name}: ready "
                          + (f"{launch.ready:.2f} s" if launch.ready is not None else "-")
                          + ", first reply " + (f"{launch.reply:.2f} s" if launch.reply is not None else "-")
                          + (f", longest stall {1000 * launch.probe['worst']['lag']:.0f} ms"
                             if "worst" in launch.probe else "")
                          + (f" ({launch.problem})" if launch.problem else ""), flush=True)
                    await asyncio.sleep(1.0)  # the speaker's line goes quiet
    finally:
        spk.stop()
    run.__dict__["launches"] = series
    return series


def _probe(run: Run, server: LocalRealtimeServer, demo: bool, *, watched: bool) -> Client:
    assert run.screen is not None
    bench = run.bench
    home = user_home(bench.workdir, "demo" if demo else "window", configured=False)
    if not demo:
        from pathlib import Path

        settings = Path(home["XDG_CONFIG_HOME"]) / "azassist" / "settings.json"
        settings.parent.mkdir(parents=True, mode=0o700)
        settings.write_text(json.dumps({"connection": {"endpoint": server.endpoint, "deployment": DEPLOYMENT},
                                        "turn_detection": {"silence_duration_ms": SILENCE_MS}}))
    env = client_env(bench, server.endpoint) | run.screen.env | home
    env.pop("AZASSIST_CONFIG_DIR", None)
    log_path = bench.workdir / f"launch-{'demo' if demo else 'window'}.log"
    argv = [PYTHON, "-m", "bench.probes.launch", "--demo" if demo else "--connect", "--say", SAY,
            "--stall", *(["--sample"] if watched else []), "--until-reply", "--timeout", str(TIMEOUT_S)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, cwd=ROOT)
    return Client("demo" if demo else "window", proc, log_path)


async def _launch(run: Run, server: LocalRealtimeServer, spk: TimedRecorder, name: str) -> Launch:
    bench = run.bench
    launch = Launch(name)
    known = {session.id for session in server.sessions}
    starters: dict[str, Callable[[], Client | subprocess.Popen[bytes]]] = {
        "window": lambda: _probe(run, server, demo=False, watched=False),
        "demo": lambda: _probe(run, server, demo=True, watched=False),
        "window watched": lambda: _probe(run, server, demo=False, watched=True),
        "demo watched": lambda: _probe(run, server, demo=True, watched=True),
        "talk": lambda: start_azassist_talk(bench, server.endpoint, extra=["--say", SAY]),
        "console": lambda: start_console(bench, server.endpoint, say=SAY),
        "floor": lambda: start_floor(bench, server.endpoint, extra=["--say", SAY]),
        "imports": lambda: subprocess.Popen([PYTHON, "-c", FLOOR_IMPORTS], env=python_env(bench), cwd=ROOT),
    }
    started = time.monotonic()
    handle = starters[name]()
    if isinstance(handle, subprocess.Popen):  # the bare imports: ready when it exits
        await asyncio.to_thread(handle.wait, TIMEOUT_S)
        launch.ready = time.monotonic() - started
        return launch
    client = handle
    output: asyncio.Future[bytes] | None = None
    if name.startswith(("window", "demo")):
        output = asyncio.ensure_future(asyncio.to_thread(_read_stdout, client))
    try:
        deadline = started + TIMEOUT_S
        if not name.startswith("demo"):
            launch.ready = await _first_append(server, known, client, deadline)
            if launch.ready is not None:
                launch.ready -= started
        launch.reply = await _first_heard(spk, started, client, deadline)
        if output is not None:
            launch.probe = _last_json(await asyncio.wait_for(output, timeout=max(5.0, deadline - time.monotonic())))
            if name.startswith("demo") and "connected" in launch.probe:
                launch.ready = launch.probe["connected"] - started
            if "error" in launch.probe or launch.probe.get("timeout"):
                launch.problem = str(launch.probe.get("error", "probe timed out"))
    except (TimeoutError, RuntimeError, ValueError) as exc:
        launch.problem = str(exc)[:200] or type(exc).__name__
    finally:
        client.stop()
    if launch.reply is None and not launch.problem:
        launch.problem = f"no reply heard: {client.log_tail(300)}"
    return launch


def _read_stdout(client: Client) -> bytes:
    out, _ = client.proc.communicate(timeout=TIMEOUT_S + 30)
    return out or b""


def _last_json(out: bytes) -> dict[str, Any]:
    lines = [line for line in out.decode(errors="replace").splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


async def _first_append(server: LocalRealtimeServer, known: set[str], client: Client, deadline: float) -> float | None:
    """When the client's new session's first microphone chunk reached the server."""
    while True:
        fresh = [session.id for session in server.sessions if session.id not in known]
        if fresh:
            break
        if not client.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{client.name} never connected: {client.log_tail(300)}")
        await asyncio.sleep(0.01)
    event = await server.received.wait_for(
        lambda e: e.session_id == fresh[0] and e.type == "input_audio_buffer.append",
        timeout=max(1.0, deadline - time.monotonic()),
    )
    return float(event.t)


async def _first_heard(spk: TimedRecorder, started: float, client: Client, deadline: float) -> float | None:
    while time.monotonic() < deadline:
        heard = spk.first_loud(started)
        if heard is not None:
            return heard - started
        if not client.alive():
            return None
        await asyncio.sleep(0.05)
    return None


# --- the figures ----------------------------------------------------------------------------------

def _values(series: dict[str, list[Launch]], name: str, what: str) -> list[float]:
    return [value for launch in series[name] if (value := getattr(launch, what)) is not None]


def _summary(values: list[float]) -> str:
    return f"median {median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s, n={len(values)}" if values else "none"


def _problems(series: dict[str, list[Launch]], names: tuple[str, ...]) -> str:
    found = [f"{launch.client}: {launch.problem}" for name in names for launch in series[name] if launch.problem]
    return ("; problems: " + " | ".join(found)[:400]) if found else ""


def _watched(series: dict[str, list[Launch]], name: str, what: str) -> str:
    """The same client's launches with figure 17's stack sampler: what the sampler itself costs."""
    values = _values(series, f"{name} watched", what) if f"{name} watched" in series else []
    return f"; with figure 17's stack sampler attached (not counted): {_summary(values)}" if values else ""


def _rows(series: dict[str, list[Launch]], what: str, title: str, how: str) -> list[Figure]:
    console = _values(series, "console", what)
    figures = []
    for name in ("window", "demo", "talk"):
        values = _values(series, name, what)
        if not values or not console:
            figures.append(Figure(f"{title} ({LABELS[name]}) vs console", math.nan, "s", None, "<= 1.0x console", None,
                                  note="no samples" + _problems(series, (name, "console"))))
            continue
        figures.append(ratio_figure(
            f"{title} ({LABELS[name]}) vs console", median(values), median(console), "s", at_most=1.0,
            baseline_name="console",
            note=f"{how}; {name} {_summary(values)}; console {_summary(console)}" + _watched(series, name, what)
                 + _problems(series, (name,)),
        ))
    return figures


async def figure_15(run: Run) -> list[Figure]:
    series = await launches(run)
    how = ("process start -> its new session's first microphone chunk at the server (connected, devices open, "
           "hands-free listening; the demo: the window's CONNECTED event); median of "
           f"{_rounds(run)} interleaved rounds after a warm-up round")
    figures = _rows(series, "ready", "15 ready to talk", how)
    imports, floor = _values(series, "imports", "ready"), _values(series, "floor", "ready")
    talk = _values(series, "talk", "ready")
    if talk and imports:
        figures.append(ratio_figure(
            "15 ready to talk (azassist talk) vs bare imports", median(talk), median(imports), "s",
            baseline_name="bare imports",
            note=f"a bare Python process importing what the floor client needs ({FLOOR_IMPORTS}): {_summary(imports)}; "
                 f"the floor client itself, start -> first chunk: {_summary(floor)}",
        ))
    return figures


async def figure_16(run: Run) -> list[Figure]:
    series = await launches(run)
    how = (f"process start -> first reply sample on the speaker's monitor, the message '{SAY}' typed as soon as "
           "the client accepts input (console mode: session.generate_reply(user_input=...) right after start)")
    figures = _rows(series, "reply", "16 first reply after launch", how)
    floor, console = _values(series, "floor", "reply"), _values(series, "console", "reply")
    if floor and console:
        figures.append(ratio_figure("16 first reply after launch (floor client) vs console", median(floor),
                                    median(console), "s", baseline_name="console", note=_summary(floor)))
    return figures


async def figure_17(run: Run) -> list[Figure]:
    series = await launches(run)
    figures = []
    for name in ("window", "demo"):
        probes = [launch.probe for launch in series[name] if launch.probe.get("lags")]
        if not probes:
            figures.append(Figure(f"17 longest UI stall, launch to first reply ({LABELS[name]})", math.nan, "ms", None,
                                  "<= 50 ms", None, note="no samples" + _problems(series, (name,))))
            continue
        longest = [1000 * max(probe["lags"]) for probe in probes]
        when = [probe["worst"]["due"] - probe.get("app", probe["worst"]["due"]) for probe in probes]
        p99 = [1000 * percentile(probe["lags"], 0.99) for probe in probes]
        value = median(longest)
        figures.append(Figure(
            f"17 longest UI stall, launch to first reply ({LABELS[name]})", value, "ms", None, "<= 50 ms", value <= 50,
            note=f"10 ms precise Qt timer chain, from the window's first show through the first reply (Xvfb); "
                 "median of each launch's longest stall, per launch (s after the QApplication) "
                 f"{', '.join(f'{v:.0f} ms ({t:.2f})' for v, t in zip(longest, when, strict=True))}; "
                 f"p99 {median(p99):.0f} ms; " + _what_ran(series, f"{name} watched"),
        ))
    return figures


def _what_ran(series: dict[str, list[Launch]], name: str) -> str:
    """What the 2 ms stack sampler saw in the longest stall of the watched launches."""
    probes = [launch.probe for launch in series[name] if launch.probe.get("worst")]
    if not probes:
        return "no sampled launch"
    longest = [1000 * max(probe["lags"]) for probe in probes]
    worst = max(probes, key=lambda probe: probe["worst"]["lag"])
    during = ", ".join(f"{what} ({count} samples)" for what, count in worst["worst"].get("during", []))
    started = worst.get("app", worst["worst"]["due"])
    return (f"the same launch with a 2 ms stack sampler attached (not counted: it slows what it watches): longest "
            f"stalls {', '.join(f'{v:.0f}' for v in longest)} ms; the worst ({1000 * worst['worst']['lag']:.0f} ms, "
            f"{worst['worst']['due'] - started:.2f} s after the QApplication) ran: {during or 'not sampled'}")
