"""The status bar's tokens and estimated cost for the conversation on screen.

Fed by the engine's ``Usage`` events (one per response). When an event carries the
text/audio split (a ``details`` ``TurnUsage``), the cost is priced by kind; otherwise by the
totals alone, which the estimate marks as a lower bound ("≥"), since audio costs more.
Built before the window's first paint, so the pricing and transcript modules are imported
at the first event, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:
    from azassist.core.pricing import PriceBook
    from azassist.core.transcript import TurnUsage


class UsageStatus(QLabel):
    """'Tokens 1,234 (1,000 in · 234 out) · ≈ $0.0123'; the split in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Tokens used in this conversation")
        self.total: TurnUsage | None = None
        self.deployment = ""
        self._prices_text: str | None = None
        self._prices: PriceBook | None = None

    def set_prices(self, table_text: str, deployment: str) -> None:
        """The user's price table and the deployment in use (re-shown at once)."""
        from azassist.core.pricing import PriceBook

        if self._prices is None or table_text != self._prices_text:
            self._prices_text, self._prices = table_text, PriceBook(table_text)
        self.deployment = deployment
        if self.total is not None:
            self._render()

    def add(self, event: Any) -> None:
        """One ``events.Usage``: its ``details`` when the engine sends the split."""
        from azassist.core.transcript import TurnUsage

        details = getattr(event, "details", None)
        usage = details if isinstance(details, TurnUsage) else TurnUsage(event.input_tokens, event.output_tokens)
        self.total = usage if self.total is None else self.total + usage
        self._render()

    def _render(self) -> None:
        from azassist.core.pricing import PriceBook
        from azassist.core.transcript import usage_line

        total = self.total
        if total is None:
            return
        if self._prices is None:
            self._prices = PriceBook()
        text = f"Tokens {total.input_tokens + total.output_tokens:,} ({total.input_tokens:,} in · {total.output_tokens:,} out)"
        cost = self._prices.cost(total, self.deployment)
        tip = f"This conversation: {usage_line(total)}."
        if cost is not None:
            text += f" · ≈ {cost.label}"
            tip += f"\nEstimated cost {cost.label}, from the prices in Settings › Conversations."
            if not cost.complete:
                tip += " Tokens without a text/audio split are priced as text, so it is at least this."
        else:
            tip += f"\nNo price for '{self.deployment}' in Settings › Conversations, so no cost estimate."
        self.setText(text)
        self.setToolTip(tip)

    def clear(self) -> None:
        """A new conversation: nothing used yet."""
        self.total = None
        super().clear()
        self.setToolTip("")
