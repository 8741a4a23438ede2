"""The fuzzer in the suite: seeded rounds of faults against ``azassist talk``; nothing may hang,
crash, lose a turn or leak the key. ``python -m tests.robustness.fuzz`` runs the same rounds
with per-round output (see fuzz.py); AZASSIST_FUZZ_SEED / _ROUNDS / _JOBS change the run.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from .conftest import SUMMARIES
from .fuzz import DEFAULT_ROUNDS, HANG_BOUND_S, JOBS_ENV, ROUNDS_ENV, by_class, make_plans, run_rounds, seed_from_env, summary_line

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(1800)]


def test_faults_cause_no_hang_crash_lost_turn_or_leak(request: pytest.FixtureRequest) -> None:
    seed = seed_from_env()
    rounds = int(os.environ.get(ROUNDS_ENV) or DEFAULT_ROUNDS)
    jobs = int(os.environ.get(JOBS_ENV) or 3)
    print(f"\nfault injection: seed {seed} (AZASSIST_FUZZ_SEED), {rounds} rounds, {jobs} at a time, hang bound {HANG_BOUND_S:.0f} s")
    results = asyncio.run(run_rounds(make_plans(seed, rounds), jobs=jobs))
    line = summary_line(results)
    print(by_class(results))
    print(line)
    request.config.stash[SUMMARIES].append(f"{line} (seed {seed})")
    failed = [r.describe() for r in results if not r.ok]
    assert not failed, f"{line} (seed {seed}; rerun one with python -m tests.robustness.fuzz --seed {seed} --round N)\n" + "\n".join(failed)
