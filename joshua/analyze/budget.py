"""Costs and budgets of Claude calls: dollars from the API's `usage`, caps checked before calling."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

from joshua.errors import BudgetExceeded
from joshua.settings import ClaudeSettings, ModelPrice

PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, as the API reports them (input excludes cache reads and writes)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
        )


def cost_usd(usage: Usage, price: ModelPrice) -> Decimal:
    """Exact dollars of a call: each token kind times its price per million."""
    return (
        usage.input_tokens * Decimal(str(price.input))
        + usage.output_tokens * Decimal(str(price.output))
        + usage.cache_write_tokens * Decimal(str(price.cache_write))
        + usage.cache_read_tokens * Decimal(str(price.cache_read))
    ) / PER_MILLION


class Budget:
    """A run's spending: checked before each call, charged after; safe to share between threads."""

    def __init__(self, settings: ClaudeSettings, month_to_date_usd: float):
        self.settings = settings
        self.month_to_date = Decimal(str(month_to_date_usd))
        self.spent = Decimal(0)
        self.usage = Usage()
        self.calls = 0
        self._lock = threading.Lock()

    def check(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        """Raise BudgetExceeded if a call of this size could cross a cap (worst-case output)."""
        s = self.settings
        if input_tokens > s.max_input_tokens:
            raise BudgetExceeded(f"a call needs about {input_tokens} input tokens, over the cap of {s.max_input_tokens}")
        worst = cost_usd(Usage(input_tokens=input_tokens, output_tokens=max_output_tokens), s.price(model))
        with self._lock:
            if self.spent + worst > Decimal(str(s.max_usd_per_run)):
                raise BudgetExceeded(
                    f"a call could cost up to ${worst:.4f}; with ${self.spent:.4f} spent this run it would "
                    f"cross the run cap of ${s.max_usd_per_run:.2f}"
                )
            if self.month_to_date + self.spent + worst > Decimal(str(s.max_usd_per_month)):
                raise BudgetExceeded(
                    f"month-to-date spend ${self.month_to_date + self.spent:.4f} plus up to ${worst:.4f} would "
                    f"cross the monthly cap of ${s.max_usd_per_month:.2f}"
                )

    def charge(self, model: str, usage: Usage) -> Decimal:
        """Record a call's usage and cost; returns the cost."""
        cost = cost_usd(usage, self.settings.price(model))
        with self._lock:
            self.spent += cost
            self.usage = self.usage + usage
            self.calls += 1
        return cost
