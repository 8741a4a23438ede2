"""Cost estimates: the price table, per-deployment lookup, the text/audio split, old files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from livekit.agents.metrics import RealtimeModelMetrics

from azassist.core.pricing import (
    DEFAULT_PRICE_TABLE,
    Cost,
    PriceBook,
    estimate,
    format_usd,
    parse_price_table,
    prices_for,
)
from azassist.core.settings import Settings
from azassist.core.transcript import ConversationWriter, TurnRecord, TurnUsage, export_json, export_markdown, read_conversation
from azassist.simulator.protocol import Dialect, estimate_usage


def test_default_table_parses_and_is_dated() -> None:
    rows = parse_price_table(DEFAULT_PRICE_TABLE)
    assert {"gpt-realtime", "gpt-realtime-mini"} <= {row.name for row in rows}
    assert "as of" in DEFAULT_PRICE_TABLE
    assert Settings().history.prices == DEFAULT_PRICE_TABLE


@pytest.mark.parametrize(
    ("text", "message"),
    [("gpt-realtime 1 2 3", "six prices"), ("gpt-realtime 1 2 3 4 5 x", "numbers"), ("a -1 0 0 0 0 0", "negative")],
)
def test_a_wrong_line_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_price_table("# comment\n" + text)
    with pytest.raises(ValueError, match="line 2"):
        Settings.model_validate({"history": {"prices": "# comment\n" + text}})


def test_lookup_exact_then_longest_contained_then_star() -> None:
    rows = parse_price_table("gpt-realtime 1 1 1 1 1 1\ngpt-realtime-mini 2 2 2 2 2 2\nmine 3 3 3 3 3 3\n* 9 9 9 9 9 9")
    name = lambda deployment: (prices_for(deployment, rows) or rows[0]).name  # noqa: E731
    assert name("mine") == "mine"
    assert name("team-gpt-realtime-mini-eu") == "gpt-realtime-mini"
    assert name("prod-gpt-realtime") == "gpt-realtime"
    assert name("something-else") == "*"
    assert prices_for("something-else", rows[:3]) is None


def test_split_usage_is_priced_by_kind_with_cached_input_cheaper() -> None:
    prices = parse_price_table("m 4 0.4 16 32 0.4 64")[0]
    usage = TurnUsage(
        input_tokens=1_000_000 + 1_000_000, output_tokens=2_000_000,
        input_text_tokens=1_000_000, input_audio_tokens=1_000_000,
        input_cached_text_tokens=500_000, input_cached_audio_tokens=500_000,
        output_text_tokens=1_000_000, output_audio_tokens=1_000_000,
    )
    cost = estimate(usage, prices)
    assert cost.complete
    assert cost.usd == pytest.approx(0.5 * 4 + 0.5 * 0.4 + 0.5 * 32 + 0.5 * 0.4 + 16 + 64)


def test_totals_without_a_split_are_a_lower_bound() -> None:
    prices = parse_price_table("m 4 0.4 16 32 0.4 64")[0]
    cost = estimate(TurnUsage(1_000_000, 1_000_000), prices)  # a file from before the split
    assert not cost.complete and cost.usd == pytest.approx(20.0)
    assert cost.label == "≥ $20.00"
    assert (cost + Cost(1.0)).complete is False


def test_format_usd() -> None:
    assert format_usd(0) == "$0.00"
    assert format_usd(0.00123) == "$0.0012"
    assert format_usd(1.234) == "$1.23"


def test_usage_from_livekit_metrics_and_old_files(tmp_path: Path) -> None:
    metrics = RealtimeModelMetrics(
        request_id="r1", timestamp=0.0, input_tokens=130, output_tokens=90,
        input_token_details=RealtimeModelMetrics.InputTokenDetails(
            text_tokens=30, audio_tokens=100, cached_tokens=20,
            cached_tokens_details=RealtimeModelMetrics.CachedTokenDetails(text_tokens=20, audio_tokens=0),
        ),
        output_token_details=RealtimeModelMetrics.OutputTokenDetails(text_tokens=10, audio_tokens=80),
    )
    usage = TurnUsage.from_metrics(metrics)
    assert usage == TurnUsage(130, 90, 30, 100, 20, 0, 10, 80)
    assert usage.has_split and not TurnUsage(5, 5).has_split
    # A line written by the version before the split still reads, and a newer field is ignored.
    path = tmp_path / "old.jsonl"
    path.write_text(
        json.dumps({"type": "header", "format": "azassist-conversation", "version": 1, "started_at": 1.0}) + "\n"
        + json.dumps({"type": "turn", "role": "assistant", "text": "hi", "id": "r1",
                      "usage": {"input_tokens": 7, "output_tokens": 3, "future_tokens": 9}}) + "\n",
        encoding="utf-8",
    )
    assert read_conversation(path).turns[0].usage == TurnUsage(7, 3)


def test_the_local_servers_usage_reads_as_the_real_services(tmp_path: Path) -> None:
    """What the simulator puts in response.done, parsed the way LiveKit parses it."""
    for dialect in (Dialect.GA, Dialect.PREVIEW):
        raw = estimate_usage(input_text="hello there", input_audio_s=2.0, output_text="hi, how can I help",
                             output_audio_s=1.5, dialect=dialect)
        metrics = RealtimeModelMetrics(
            request_id="r", timestamp=0.0, input_tokens=raw["input_tokens"], output_tokens=raw["output_tokens"],
            input_token_details=RealtimeModelMetrics.InputTokenDetails.model_validate(raw["input_token_details"]),
            output_token_details=RealtimeModelMetrics.OutputTokenDetails.model_validate(raw["output_token_details"]),
        )
        usage = TurnUsage.from_metrics(metrics)
        assert usage.input_audio_tokens == 20 and usage.output_audio_tokens == 30
        assert usage.input_text_tokens + usage.input_audio_tokens == usage.input_tokens
        assert estimate(usage, parse_price_table(DEFAULT_PRICE_TABLE)[1]).complete


def test_exports_carry_tokens_and_cost(tmp_path: Path) -> None:
    with ConversationWriter(tmp_path, {"deployment": "prod-gpt-realtime"}) as writer:
        writer.append(TurnRecord(role="user", text="what does this cost", id="u1", started_at=1.0))
        writer.append(TurnRecord(role="assistant", text="little", id="r1", started_at=2.0,
                                 usage=TurnUsage(1000, 2000, 200, 800, 0, 0, 500, 1500)))
        writer.append(TurnRecord(role="assistant", text="old style", id="r2", started_at=3.0))
        writer.append_usage("r2", TurnUsage(100, 100))
    conversation = read_conversation(writer.path)
    markdown = export_markdown(conversation)
    assert "*Tokens: 1,000 in (text 200, audio 800), 2,000 out (text 500, audio 1,500) · ≈ $0.1" in markdown
    assert "Tokens in all: 1,100 in" in markdown and "Estimated cost: ≥ $" in markdown
    document = json.loads(export_json(conversation, PriceBook("gpt-realtime 1 1 1 1 1 1")))
    assert document["turns"][1]["usage"]["output_audio_tokens"] == 1500
    assert document["turns"][1]["estimated_cost_usd"] == pytest.approx(3000 / 1e6)
    assert document["usage"]["input_tokens"] == 1100
    assert document["estimated_cost_usd"] == pytest.approx(3200 / 1e6)
    assert document["estimated_cost_complete"] is False
    assert "estimated_cost_usd" not in json.loads(export_json(conversation, PriceBook("other 1 1 1 1 1 1")))
