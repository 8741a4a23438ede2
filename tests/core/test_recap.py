"""The recap of a continued conversation: bounded, newest turns whole, older ones cut."""

from __future__ import annotations

import re

from azassist.core.recap import OLDER_TURN_CHARS, RECAP_HEADING, build_recap, instructions_with_recap
from azassist.core.transcript import TurnRecord


def _turns(count: int, words: int = 10) -> list[TurnRecord]:
    return [
        TurnRecord(role="user" if n % 2 == 0 else "assistant", text=f"turn{n} " + "word " * words)
        for n in range(count)
    ]


def test_everything_fits_in_order() -> None:
    recap = build_recap(_turns(4), 6000)
    assert recap.startswith(RECAP_HEADING)
    lines = recap.splitlines()[len(RECAP_HEADING.splitlines()):]
    assert [line.split()[1] for line in lines] == ["turn0", "turn1", "turn2", "turn3"]
    assert lines[0].startswith("User: ") and lines[1].startswith("Assistant: ")


def test_budget_holds_newest_whole_older_cut_oldest_counted() -> None:
    turns = _turns(200, words=100)  # about 500 characters each
    for budget in (800, 2000, 6000, 20_000):
        recap = build_recap(turns, budget)
        assert len(recap) <= budget
        body = recap.splitlines()[len(RECAP_HEADING.splitlines()):]
        assert body[0].endswith("earlier turns left out.)")
        left_out = int(body[0].strip("(").split()[0])
        assert left_out + len(body) - 1 == 200
        assert body[-1] == f"Assistant: turn199 {'word ' * 100}".rstrip()  # the newest whole
        cut = [line for line in body[1:] if line.endswith("…")]
        assert all(len(line) <= OLDER_TURN_CHARS for line in cut)
        assert body[1:] == sorted(body[1:], key=lambda line: int(re.match(r"\w+: turn(\d+)", line)[1]))  # type: ignore[index]


def test_a_huge_newest_turn_is_cut_to_the_budget() -> None:
    recap = build_recap([TurnRecord(role="user", text="x" * 50_000)], 1000)
    assert 900 < len(recap) <= 1000 and recap.endswith("…")


def test_nothing_to_recap() -> None:
    assert build_recap([], 6000) == ""
    assert build_recap([TurnRecord(role="user", text="  ")], 6000) == ""
    assert build_recap(_turns(3), 10) == ""
    assert instructions_with_recap("Be brief.", "") == "Be brief."
    assert instructions_with_recap("Be brief.", "R") == "Be brief.\n\nR"
