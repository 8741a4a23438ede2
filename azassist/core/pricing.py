"""What talking costs: a price table per deployment and the estimate for a turn or a conversation.

The table is plain text the user can edit in Settings › Conversations, one deployment (or
model) a line, six prices in US dollars per million tokens, in the order of Azure's pricing
page: text input, cached text input, text output, audio input, cached audio input, audio
output. A line applies to a deployment whose name equals it, else to one whose name contains
it (the longest such line wins, so a deployment called ``my-gpt-realtime-mini`` gets the
``gpt-realtime-mini`` prices), else the ``*`` line if there is one. Audio costs several times
text, so the estimate is exact only when the service reported the text/audio split; tokens
without it are priced as text and the estimate says "at least". Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azassist.core.transcript import TurnUsage

PRICES_AS_OF = "2025-10"
"""When the default prices were Azure OpenAI's published Global Standard list prices."""

DEFAULT_PRICE_TABLE = f"""\
# USD per 1M tokens: text in, cached text in, text out, audio in, cached audio in, audio out
# Azure OpenAI list prices (Global Standard) as of {PRICES_AS_OF}; yours may differ: edit freely
gpt-realtime-mini 0.60 0.06 2.40 10.00 0.30 20.00
gpt-realtime 4.00 0.40 16.00 32.00 0.40 64.00
gpt-4o-mini-realtime-preview 0.60 0.30 2.40 10.00 0.30 20.00
gpt-4o-realtime-preview 5.00 2.50 20.00 40.00 2.50 80.00
"""

PER = 1_000_000


@dataclass(frozen=True)
class Prices:
    """One line of the table: US dollars per million tokens."""

    name: str
    text_in: float
    cached_text_in: float
    text_out: float
    audio_in: float
    cached_audio_in: float
    audio_out: float


@dataclass(frozen=True)
class Cost:
    """An estimate in US dollars; ``complete`` is False when some tokens had no text/audio
    split (priced as text, the cheaper kind), so the true figure is at least this."""

    usd: float
    complete: bool = True

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.usd + other.usd, self.complete and other.complete)

    @property
    def label(self) -> str:
        return ("" if self.complete else "≥ ") + format_usd(self.usd)


def format_usd(usd: float) -> str:
    """Cents for sums a person notices, four decimals for the small change of one turn."""
    if usd == 0:
        return "$0.00"
    return f"${usd:.2f}" if usd >= 0.995 else f"${usd:.4f}"


def parse_price_table(text: str) -> list[Prices]:
    """Rows of the table; raises ValueError naming the line that is wrong."""
    rows: list[Prices] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        if len(parts) != 7:
            raise ValueError(
                f"line {number}: write a deployment name and six prices (text in, cached text in, "
                "text out, audio in, cached audio in, audio out)"
            )
        try:
            values = [float(part.lstrip("$")) for part in parts[1:]]
        except ValueError:
            raise ValueError(f"line {number}: the prices must be numbers, like 4.00") from None
        if any(value < 0 or value != value for value in values):
            raise ValueError(f"line {number}: a price cannot be negative")
        rows.append(Prices(parts[0], *values))
    return rows


def prices_for(deployment: str, table: list[Prices]) -> Prices | None:
    """The row for a deployment: equal name, else the longest contained name, else ``*``."""
    name = deployment.strip().lower()
    fallback: Prices | None = None
    best: Prices | None = None
    for row in table:
        key = row.name.lower()
        if key == name:
            return row
        if key == "*":
            fallback = row
        elif name and key in name and (best is None or len(key) > len(best.name)):
            best = row
    return best or fallback


def estimate(usage: TurnUsage, prices: Prices) -> Cost:
    """Dollars for one response's (or a sum of responses') tokens."""
    cached_text = min(usage.input_cached_text_tokens, usage.input_text_tokens)
    cached_audio = min(usage.input_cached_audio_tokens, usage.input_audio_tokens)
    usd = (
        (usage.input_text_tokens - cached_text) * prices.text_in
        + cached_text * prices.cached_text_in
        + (usage.input_audio_tokens - cached_audio) * prices.audio_in
        + cached_audio * prices.cached_audio_in
        + usage.output_text_tokens * prices.text_out
        + usage.output_audio_tokens * prices.audio_out
    )
    # Tokens the details do not account for (older files, a service that sent totals only).
    unsplit_in = max(0, usage.input_tokens - usage.input_text_tokens - usage.input_audio_tokens)
    unsplit_out = max(0, usage.output_tokens - usage.output_text_tokens - usage.output_audio_tokens)
    usd += unsplit_in * prices.text_in + unsplit_out * prices.text_out
    return Cost(usd / PER, complete=unsplit_in == 0 and unsplit_out == 0)


class PriceBook:
    """The parsed table with a lookup per deployment: what the list, the status bar and the
    exports ask. A table that does not parse prices nothing rather than guessing."""

    def __init__(self, table_text: str = DEFAULT_PRICE_TABLE) -> None:
        try:
            self.rows = parse_price_table(table_text)
        except ValueError:
            self.rows = []

    def cost(self, usage: TurnUsage, deployment: str) -> Cost | None:
        """None when the table has no line for the deployment (or there were no tokens)."""
        if usage.input_tokens + usage.output_tokens + usage.input_text_tokens + usage.output_audio_tokens == 0:
            return None
        prices = prices_for(deployment, self.rows)
        return estimate(usage, prices) if prices is not None else None
