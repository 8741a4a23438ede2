"""A bounded recap of a saved conversation's turns, for the model's instructions.

Continuing a conversation by loading its turns as history items makes the realtime service
answer in text (a known quirk of the service). Instructions travel in ``session.update``
instead: they keep the model in audio and are sent again on every reconnect. So the past
goes there as a recap, within a character budget: the most recent turns whole (they matter
most), older ones cut short, the oldest left out with a line that says how many.
"""

from __future__ import annotations

from collections.abc import Sequence

from azassist.core.transcript import TurnRecord

RECAP_HEADING = (
    "## Earlier in this conversation\n"
    "The user is continuing an earlier conversation. For context only: do not repeat it, "
    "and do not mention this recap unless asked."
)
OLDER_TURN_CHARS = 240  # what an older turn keeps once the budget no longer holds it whole
MIN_EXCERPT_CHARS = 60  # a shorter excerpt of an older turn says nothing: left out instead
_ELLIPSIS = "…"


def _line(turn: TurnRecord) -> str:
    who = "User" if turn.role == "user" else "Assistant"
    text = " ".join(turn.text.split())
    return f"{who}: {text}" + (" (interrupted)" if turn.interrupted else "")


def _cut(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    return line[: max(0, limit - len(_ELLIPSIS))].rstrip() + _ELLIPSIS


def build_recap(turns: Sequence[TurnRecord], budget: int) -> str:
    """The recap of ``turns`` (oldest first) in at most ``budget`` characters, heading
    included; empty when no turn has words or the budget holds not even the heading."""
    lines = [_line(t) for t in turns if t.text.strip()]
    room = budget - len(RECAP_HEADING) - 1
    if not lines or room <= 0:
        return ""
    kept: list[str] = []
    whole = True  # newest first: whole while they fit, then cut to OLDER_TURN_CHARS
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        note = f"({index} earlier turns left out.)" if index else ""  # if we stop after this one
        reserve = len(note) + 1 if note else 0
        if not whole or len(line) + 1 + reserve > room:
            whole = False
            # the newest turn gets all the room there is; older ones a short excerpt
            line = _cut(line, room - 1 - reserve if not kept else min(OLDER_TURN_CHARS, room - 1 - reserve))
        need = len(line) + 1 + reserve
        if need > room or (line.endswith(_ELLIPSIS) and kept and len(line) < MIN_EXCERPT_CHARS):
            break
        kept.append(line)
        room -= len(line) + 1
    if not kept:
        return ""
    left_out = len(lines) - len(kept)
    body = ([f"({left_out} earlier turns left out.)"] if left_out else []) + kept[::-1]
    return "\n".join([RECAP_HEADING, *body])


def instructions_with_recap(instructions: str, recap: str) -> str:
    """The user's instructions first (they still rule), then the recap."""
    if not recap:
        return instructions
    return f"{instructions.rstrip()}\n\n{recap}" if instructions.strip() else recap
