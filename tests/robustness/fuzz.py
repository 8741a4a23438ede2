"""Seeded fault-injection fuzzer: ``azassist talk`` against a local server that misbehaves.

Each round is an ordinary typed conversation (2-3 messages, short scripted replies, pace 0)
held by a real ``azassist talk`` subprocess with the round's own random API key, against a
strict local server in this process; one fault class (see ``faults.py``) is injected at a
seeded point of one reply, and some rounds get SIGTERM at a seeded moment. Each round counts:

* hang: the process did not end within ``--hang-bound`` seconds, or within
  ``--sigterm-bound`` seconds of SIGTERM;
* crash: an exit status talk does not document, a traceback on stderr, "Something went wrong
  inside azassist", or an unhandled asyncio exception in the log;
* lost turns: a turn the server completed (from its wire log: user items it acknowledged,
  replies whose response.created, output item and response.done went out intact) missing
  from the saved conversation file or the ``--transcript`` file; a reply cut short must be
  there with a prefix of what was sent; after SIGTERM only turns talk had printed count;
* leaks: the API key (or either half of it) in stdout, stderr, the log or any written file.

Run alone: ``python -m tests.robustness.fuzz --rounds 40 --seed 1`` (per-round lines, then the
summary line); ``--only stall-socket,bad-json`` and ``--round 17`` narrow it down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from azassist.simulator import LocalRealtimeServer, ScriptedResponder, WireEvent
from azassist.simulator.responders import Reply

from .faults import BY_NAME, CLASSES, TEXT_DELTAS, FaultClass, Injection, Setting

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = "gpt-realtime"
DEFAULT_SEED = 1
DEFAULT_ROUNDS = 40
SEED_ENV = "AZASSIST_FUZZ_SEED"
ROUNDS_ENV = "AZASSIST_FUZZ_ROUNDS"
JOBS_ENV = "AZASSIST_FUZZ_JOBS"
APP_ROOT_ENV = "AZASSIST_FUZZ_APP_ROOT"  # run talk from another checkout (e.g. HEAD while the tree is mid-edit)
HANG_BOUND_S = 60.0
SIGTERM_BOUND_S = 10.0
SIGTERM_SHARE = 0.2
REPLY_TIMEOUT_S = 5  # the app's "give up on a silent reply" setting, at its minimum: rounds stay short
SIGTERM_EXITS = {-signal.SIGTERM, 128 + signal.SIGTERM, 130}  # a signal that lands as talk exits anyway
WORDS = ("amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kelp",
         "lagoon", "maple", "nectar", "onyx", "pebble", "quartz", "russet", "sable", "tundra", "umber", "velvet")  # fmt: skip
CRASH_MARKS = ("Traceback (most recent call last)", "Something went wrong inside azassist", "Fatal Python error")
LOG_CRASH_MARKS = ("Task exception was never retrieved", "Exception in callback", "exception was never retrieved")


# --------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """One round, fully decided by (seed, index) so any round can be rerun alone."""

    seed: int
    index: int
    fault: FaultClass
    point: str
    target: int  # which reply (0-based) the fault hits
    after_deltas: int
    says: list[str]
    replies: list[str]
    audio: bool
    transcript_suffix: str
    sigterm_after_lines: int | None
    sigterm_delay_s: float

    @property
    def rng(self) -> random.Random:
        return random.Random(f"{self.seed}/{self.index}/fault")


def plan_round(seed: int, index: int, classes: Sequence[FaultClass] = CLASSES) -> Plan:
    order = list(classes)
    random.Random(f"{seed}/order").shuffle(order)
    fault = order[index % len(order)]  # every class comes round once per len(classes) rounds
    rng = random.Random(f"{seed}/{index}")
    count = rng.choice((2, 2, 3))
    says = [f"question {n + 1} of round {index} {rng.choice(WORDS)}" for n in range(count)]
    replies = [
        " ".join([f"r{index}t{n + 1}", *(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))]) + "."
        for n in range(count)
    ]
    return Plan(
        seed=seed,
        index=index,
        fault=fault,
        point=rng.choice(fault.points),
        target=rng.randrange(count),
        after_deltas=rng.randint(2, 5),
        says=says,
        replies=replies,
        audio=rng.random() < 0.35,
        transcript_suffix=rng.choice((".json", ".md", ".txt")),
        sigterm_after_lines=rng.randint(1, 2 * count) if rng.random() < SIGTERM_SHARE else None,
        sigterm_delay_s=round(rng.uniform(0.0, 1.0), 2),
    )


# --------------------------------------------------------------------------- results


@dataclass
class RoundResult:
    plan: Plan
    summary: str = ""
    exit_code: int | None = None
    elapsed_s: float = 0.0
    hang: str | None = None
    crash: str | None = None
    lost: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)
    sigterm_sent: bool = False
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.hang or self.crash or self.lost or self.leaks)

    def describe(self, verbose: bool = False) -> str:
        p = self.plan
        mode = "audio" if p.audio else "text"
        head = (f"round {p.index:3d} {p.fault.name:<22} {self.summary} | reply {p.target + 1}/{len(p.says)} {mode}"
                f"{' sigterm' if self.sigterm_sent else ''} | exit {self.exit_code} in {self.elapsed_s:.1f} s")  # fmt: skip
        lines = [f"{'ok  ' if self.ok else 'FAIL'} {head}"]
        if self.hang:
            lines.append(f"       HANG: {self.hang}")
        if self.crash:
            lines.append(f"       CRASH: {self.crash}")
        lines += [f"       LOST: {lost}" for lost in self.lost]
        lines += [f"       LEAK: {leak}" for leak in self.leaks]
        if not self.ok or verbose:
            lines += [f"       note: {note}" for note in self.notes]
            lines += [f"       stderr| {line}" for line in self.stderr_tail]
        return "\n".join(lines)


def summary_line(results: Sequence[RoundResult]) -> str:
    hangs = sum(1 for r in results if r.hang)
    crashes = sum(1 for r in results if r.crash)
    lost = sum(len(r.lost) for r in results)
    leaks = sum(len(r.leaks) for r in results)
    return f"fault injection: {len(results)} rounds, {hangs} hangs, {crashes} crashes, {lost} lost turns, {leaks} leaks"


def documented_exit_codes() -> set[int]:
    """The exit statuses ``azassist talk --help`` of the app under test documents (its epilog:
    "exit status: 0 success, 2 ..."). Also a preflight: an app that cannot start fails here."""
    import subprocess

    probe = subprocess.run(
        [sys.executable, "-m", "azassist", "talk", "--help"], cwd=app_root(), capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(app_root()), "AZASSIST_CONFIG_DIR": tempfile.mkdtemp(prefix="azassist-fuzz-help-")},
        timeout=120,
    )  # fmt: skip
    if probe.returncode != 0:
        raise RuntimeError(f"azassist talk --help failed in {app_root()}: {probe.stderr.strip()[-500:]}")
    _, _, listed = " ".join(probe.stdout.split()).partition("exit status:")
    codes = {int(code) for code in re.findall(r"\b(\d{1,3})\b", listed)}
    return codes or {0, 2, 3}


# --------------------------------------------------------------------------- expectations


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Expected:
    """Turns the server completed, read from what it really sent."""

    users: list[str] = field(default_factory=list)
    replies: list[tuple[str, str, bool]] = field(default_factory=list)  # (response id, text, complete)


def expected_turns(sent: Sequence[WireEvent], says: Sequence[str]) -> Expected:
    expected = Expected()
    created: dict[str, bool] = {}
    items: set[str] = set()
    texts: dict[str, str] = {}
    done: dict[str, str] = {}
    for event in sent:
        body = event.event
        if event.fault or body is None:
            continue
        kind = event.type
        if kind == "conversation.item.added":
            item = body.get("item") or {}
            if item.get("role") == "user":
                text = " ".join(str(p.get("text", "")) for p in item.get("content", []) if isinstance(p, dict))
                if text in says and text not in expected.users:
                    expected.users.append(text)
        elif kind == "response.created":
            created[body["response"]["id"]] = True
        elif kind == "response.output_item.added":
            items.add(str(body.get("response_id")))
        elif kind in TEXT_DELTAS and isinstance(body.get("delta"), str):
            texts[body["response_id"]] = texts.get(body["response_id"], "") + body["delta"]
        elif kind == "response.done":
            done[body["response"]["id"]] = body["response"]["status"]
    for response_id in created:
        if response_id not in items:
            continue  # no output item: the client has nothing to put words in
        text = texts.get(response_id, "")
        complete = done.get(response_id) == "completed"
        if complete or _norm(text):
            expected.replies.append((response_id, text, complete))
    return expected


def _saved_turns(config_dir: Path) -> list[tuple[str, str, bool]]:
    from azassist.core.transcript import read_conversation

    turns: list[tuple[str, str, bool]] = []
    for path in sorted((config_dir / "data" / "conversations").glob("*.jsonl")):
        with contextlib.suppress(Exception):
            turns += [(t.role, t.text, t.interrupted) for t in read_conversation(path).turns]
    return turns


def _printed(stdout: str) -> tuple[list[str], list[str]]:
    users, assistants = [], []
    for line in stdout.splitlines():
        if line.startswith("You: "):
            users.append(_norm(line[5:]))
        elif line.startswith("Assistant: "):
            assistants.append(_norm(line[11:].removesuffix(" [interrupted]")))
    return users, assistants


def find_lost(plan: Plan, expected: Expected, saved: list[tuple[str, str, bool]], transcript: str | None,
              stdout: str, sigterm: bool, voided: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """Each expected turn missing from the conversation file or the transcript file."""
    lost: list[str] = []
    printed_users, printed_assistants = _printed(stdout)
    saved_users = [_norm(text) for role, text, _ in saved if role == "user"]
    saved_assistants = [_norm(text) for role, text, _ in saved if role == "assistant"]
    transcript_norm = _norm(transcript) if transcript is not None else None

    def in_transcript(text: str) -> bool:
        return transcript_norm is None or _norm(text) in transcript_norm

    for text in expected.users:
        if text in voided or (sigterm and _norm(text) not in printed_users):
            continue
        if _norm(text) not in saved_users:
            lost.append(f"user turn {text!r} not in the conversation file")
        elif not in_transcript(text):
            lost.append(f"user turn {text!r} not in the {plan.transcript_suffix} transcript")
    for response_id, text, complete in expected.replies:
        want = _norm(text)
        if response_id in voided or (sigterm and want not in printed_assistants):
            continue
        if complete:
            if want not in saved_assistants:
                near = next((s for s in saved_assistants if s and (want.startswith(s) or s.startswith(want))), None)
                extra = f" (saved instead: {near[:60]!r})" if near is not None else ""
                lost.append(f"completed reply {response_id} {want[:60]!r} not in the conversation file{extra}")
            elif not in_transcript(want):
                lost.append(f"completed reply {response_id} {want[:60]!r} not in the {plan.transcript_suffix} transcript")
            continue
        if sigterm:
            continue  # talk prints a reply when it is final: a cut one it was still showing is not known
        partial = next((s for s in saved_assistants if s and want.startswith(s)), None)
        if partial is None:
            lost.append(f"cut-short reply {response_id} ({len(want.split())} words sent: {want[:50]!r}) not in the conversation file")
        elif not in_transcript(partial):
            lost.append(f"cut-short reply {response_id} {partial[:50]!r} not in the {plan.transcript_suffix} transcript")
    return lost


def _mask(text: str, key: str) -> str:
    """The fuzzer's own output shows where a key leaked, not the key."""
    for needle in (key, key[: len(key) // 2], key[len(key) // 2 :]):
        text = text.replace(needle, "<KEY>")
    return text


def find_leaks(key: str, stdout: str, stderr: str, root: Path) -> list[str]:
    needles = (key, key[: len(key) // 2], key[len(key) // 2 :])
    places = {"stdout": stdout, "stderr": stderr}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix != ".wav":
            places[str(path.relative_to(root))] = path.read_text(encoding="utf-8", errors="replace")
    leaks = []
    for place, text in places.items():
        for needle in needles:
            at = text.find(needle)
            if at >= 0:
                line = text[text.rfind("\n", 0, at) + 1 : text.find("\n", at) if "\n" in text[at:] else None]
                leaks.append(f"key in {place}: {_mask(line.strip(), key)[:160]!r}")
                break
    return leaks


# --------------------------------------------------------------------------- one round


def app_root() -> Path:
    """Where the talk subprocess imports azassist from: this checkout unless told otherwise."""
    return Path(os.environ.get(APP_ROOT_ENV) or ROOT).resolve()


def _env(config_dir: Path, key: str) -> dict[str, str]:
    drop = ("AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION", "AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_ENDPOINT")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(AZASSIST_CONFIG_DIR=str(config_dir), PYTHONPATH=str(app_root()), AZURE_OPENAI_API_KEY=key, PYTHONUNBUFFERED="1")
    return env


async def _pump(stream: asyncio.StreamReader | None, lines: list[str], changed: asyncio.Event) -> None:
    if stream is None:
        return
    while raw := await stream.readline():
        lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
        changed.set()


def arm(server: LocalRealtimeServer, responder: ScriptedResponder, plan: Plan, injection: Injection) -> None:
    for n, text in enumerate(plan.replies):
        if n == plan.target and injection.refuse_reply is not None:
            responder.queue(Reply(error=injection.refuse_reply))
        else:
            responder.queue_reply(text)
    if injection.hook is not None:
        server.faults.tamper_next_reply(injection.hook, after_replies=plan.target)
    if injection.reject_on_connect is not None:
        count, status, message = injection.reject_on_connect
        server.faults.reject_next_connections(count, status=status, code=str(status), message=message)


async def run_round(plan: Plan, *, hang_bound: float = HANG_BOUND_S, sigterm_bound: float = SIGTERM_BOUND_S,
                    keep: Path | None = None, exit_codes: set[int] | None = None) -> RoundResult:  # fmt: skip
    key = f"fz{plan.index}k" + secrets.token_hex(16)  # distinctive, and new every round
    work = Path(tempfile.mkdtemp(prefix=f"azassist-fuzz-{plan.index}-", dir=keep))
    config_dir = work / "config"
    transcript = work / f"transcript{plan.transcript_suffix}"
    responder = ScriptedResponder(default_reply=f"Default reply of round {plan.index}.")
    result = RoundResult(plan)
    config_dir.mkdir(parents=True)
    # Saved settings as a user could have them (unknown fields are ignored by older apps).
    (config_dir / "settings.json").write_text(json.dumps({"connection": {"reply_timeout_s": REPLY_TIMEOUT_S}}))
    try:
        async with LocalRealtimeServer(api_key=key, responder=responder, pace=0, deployments=(DEPLOYMENT,),
                                       strict_validation=True, record_limit=None) as server:  # fmt: skip
            injection = plan.fault.build(plan.rng, Setting(plan.point, plan.after_deltas, key, server.faults))
            if injection.force_audio:
                plan.audio = True
            result.summary = injection.summary
            arm(server, responder, plan, injection)
            args = ["--endpoint", server.endpoint, "--deployment", DEPLOYMENT, "--pace", "0", "--idle-seconds", "0.3",
                    "--transcript", str(transcript)]  # fmt: skip
            for text in plan.says:
                args += ["--say", text]
            args += ["--output-wav", str(work / "reply.wav")] if plan.audio else ["--text-only"]
            await _drive(plan, result, args, config_dir, key, hang_bound, sigterm_bound)
            expected = expected_turns(list(server.sent), plan.says)
            result.notes += [f"simulator violation (fuzzer bug?): {v}" for v in server.violations if v.direction == "sent"]
        fired = getattr(injection.hook, "fired_in", None)
        if injection.hook is not None and fired is None:
            result.notes.append("the fault never fired (the conversation did not reach its point)")
        voided: list[str] = []
        if injection.bytes_may_be_lost:  # an RST: what was in flight then may never have arrived
            voided = [plan.says[plan.target], *([fired] if fired else [])]
        stdout = "\n".join(result.stdout_lines)
        transcript_text = transcript.read_text(encoding="utf-8", errors="replace") if transcript.exists() else None
        if transcript_text is None and result.exit_code is not None and result.hang is None:
            transcript_text = ""  # it ended, so the transcript should have been written
        result.lost = find_lost(
            plan, expected, _saved_turns(config_dir), transcript_text, stdout, result.sigterm_sent, voided
        )
        result.leaks = find_leaks(key, stdout, "\n".join(result.stderr_lines), work)
        _find_crash(result, config_dir, exit_codes or documented_exit_codes())
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return result


async def _drive(plan: Plan, result: RoundResult, args: list[str], config_dir: Path, key: str,
                 hang_bound: float, sigterm_bound: float) -> None:  # fmt: skip
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "azassist", "--config-dir", str(config_dir), "talk", *args,
        env=_env(config_dir, key), cwd=app_root(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out: list[str] = []
    err: list[str] = []
    result.stdout_lines, result.stderr_lines = out, err
    changed = asyncio.Event()
    pumps = [asyncio.create_task(_pump(proc.stdout, out, changed)), asyncio.create_task(_pump(proc.stderr, err, changed))]
    exited = asyncio.create_task(proc.wait())
    deadline = started + hang_bound
    try:
        if plan.sigterm_after_lines is not None:
            while not exited.done() and time.monotonic() < deadline:
                if sum(1 for line in out if line.startswith(("You: ", "Assistant: "))) >= plan.sigterm_after_lines:
                    await asyncio.sleep(plan.sigterm_delay_s)
                    if not exited.done():
                        proc.send_signal(signal.SIGTERM)
                        result.sigterm_sent = True
                        signalled = time.monotonic()
                        await asyncio.wait([exited], timeout=sigterm_bound)
                        if not exited.done():
                            result.hang = f"still running {sigterm_bound:.0f} s after SIGTERM"
                            deadline = signalled  # stop waiting
                    break
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 0.5)
        remaining = deadline - time.monotonic()
        if not exited.done() and remaining > 0:
            await asyncio.wait([exited], timeout=remaining)
        if not exited.done():
            if result.hang is None:
                last = next((line for line in reversed(out) if line.strip()), "(nothing)")
                result.hang = f"no exit within {hang_bound:.0f} s (last stdout line: {last[:80]!r})"
            proc.kill()
            await exited
        else:
            result.exit_code = proc.returncode
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*pumps, return_exceptions=True), 5)
        result.elapsed_s = time.monotonic() - started
        result.stderr_tail = [_mask(line, key)[:200] for line in err if line.strip()][-6:]


def _find_crash(result: RoundResult, config_dir: Path, exit_codes: set[int]) -> None:
    stderr = "\n".join(result.stderr_lines)
    stdout = "\n".join(result.stdout_lines)
    problems = []
    allowed = exit_codes | (SIGTERM_EXITS if result.sigterm_sent else set())
    if result.exit_code is not None and result.exit_code not in allowed:
        what = f"killed by signal {-result.exit_code}" if result.exit_code < 0 else f"exit status {result.exit_code}"
        problems.append(f"{what} (documented: {sorted(exit_codes)})")
    for mark in CRASH_MARKS:
        if mark in stderr or mark in stdout:
            problems.append(f"{mark!r} on {'stderr' if mark in stderr else 'stdout'}")
    logs = [p for p in (config_dir / "logs").glob("azassist.log*") if p.is_file()]
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        for mark in LOG_CRASH_MARKS:
            at = text.find(mark)
            if at >= 0:
                problems.append(f"{mark!r} in the log: {text[at : at + 200].splitlines()[0]!r}")
                break
    if problems:
        result.crash = "; ".join(problems)


# --------------------------------------------------------------------------- many rounds


async def run_rounds(plans: Sequence[Plan], *, jobs: int = 3, hang_bound: float = HANG_BOUND_S,
                     sigterm_bound: float = SIGTERM_BOUND_S, keep: Path | None = None, verbose: bool = False,
                     echo: bool = True) -> list[RoundResult]:  # fmt: skip
    """Rounds ``jobs`` at a time (they mostly wait on subprocesses); results in plan order."""
    exit_codes = documented_exit_codes()
    gate = asyncio.Semaphore(jobs)
    results: dict[int, RoundResult] = {}

    async def one(plan: Plan) -> None:
        async with gate:
            result = await run_round(plan, hang_bound=hang_bound, sigterm_bound=sigterm_bound, keep=keep, exit_codes=exit_codes)
        results[plan.index] = result
        if echo:
            print(result.describe(verbose), flush=True)

    await asyncio.gather(*(one(plan) for plan in plans))
    return [results[plan.index] for plan in plans]


def make_plans(seed: int, rounds: int, *, only: Sequence[str] = (), start: int = 0) -> list[Plan]:
    classes = [BY_NAME[name] for name in only] if only else list(CLASSES)
    return [plan_round(seed, index, classes) for index in range(start, start + rounds)]


def by_class(results: Sequence[RoundResult]) -> str:
    """Per fault class: rounds and failures, for the report."""
    rows = []
    for cls in CLASSES:
        mine = [r for r in results if r.plan.fault.name == cls.name]
        if mine:
            bad = [r for r in mine if not r.ok]
            kinds = sorted({k for r in bad for k, v in (("hang", r.hang), ("crash", r.crash), ("lost", r.lost), ("leak", r.leaks)) if v})
            rows.append(f"  {cls.name:<22} {len(mine) - len(bad)}/{len(mine)} ok" + (f"  ({', '.join(kinds)})" if kinds else ""))
    return "\n".join(rows)


def seed_from_env() -> int:
    return int(os.environ.get(SEED_ENV) or DEFAULT_SEED)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.robustness.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get(ROUNDS_ENV) or DEFAULT_ROUNDS))
    parser.add_argument("--seed", type=int, default=seed_from_env(), help=f"default ${SEED_ENV} or {DEFAULT_SEED}")
    parser.add_argument("--start", type=int, default=0, help="first round index (rounds are numbered per seed)")
    parser.add_argument("--round", type=int, help="run this one round only")
    parser.add_argument("--only", default="", help=f"comma-separated fault classes: {', '.join(BY_NAME)}")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get(JOBS_ENV) or 3))
    parser.add_argument("--hang-bound", type=float, default=HANG_BOUND_S)
    parser.add_argument("--sigterm-bound", type=float, default=SIGTERM_BOUND_S)
    parser.add_argument("--keep", type=Path, help="keep each round's files under this directory")
    parser.add_argument("--app-root", type=Path, help=f"run talk from this checkout (also ${APP_ROOT_ENV})")
    parser.add_argument("-v", "--verbose", action="store_true", help="stderr tails and notes of passing rounds too")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in BY_NAME]
    if unknown:
        parser.error(f"unknown fault class(es) {unknown}; known: {', '.join(BY_NAME)}")
    if args.app_root:
        os.environ[APP_ROOT_ENV] = str(args.app_root.resolve())
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    plans = make_plans(args.seed, 1, only=only, start=args.round) if args.round is not None else make_plans(
        args.seed, args.rounds, only=only, start=args.start)  # fmt: skip
    print(f"fault injection: seed {args.seed}, {len(plans)} rounds, {args.jobs} at a time, talk from {app_root()}", flush=True)
    results = asyncio.run(run_rounds(plans, jobs=args.jobs, hang_bound=args.hang_bound, sigterm_bound=args.sigterm_bound,
                                     keep=args.keep, verbose=args.verbose))  # fmt: skip
    print(by_class(results))
    print(summary_line(results), flush=True)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
