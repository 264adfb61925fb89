"""What ``advise`` returns: the ``Advice`` and its ``CostRange`` rows, and their formatting."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crossover.advise._questions import Answers

__all__ = ["Advice", "CostRange", "scenario_yaml", "usd", "usd_range"]


@dataclass(frozen=True)
class CostRange:
    """Setup and monthly cost of one option, low to high, with what it assumed and cited."""

    option: str
    kind: str
    serving: str  # "api" | "self-hosted"
    allowed: bool  # False: an external API while the data may not leave
    setup_days_low: float
    setup_days_high: float
    labels_to_buy_low: int
    labels_to_buy_high: int
    setup_usd_low: float
    setup_usd_high: float
    monthly_usd_low: float
    monthly_usd_high: float
    assumptions: list[str]
    sources: list[str]


@dataclass(frozen=True)
class Advice:
    """The choice, its reasons, the cost ranges and what to collect; plain data."""

    choice: str
    serving: str
    summary: str
    reasons: list[str]
    cost_ranges: list[CostRange]
    collect: list[str]
    compare_command: str
    scenario: dict[str, Any]
    answers: Answers
    catalog_as_of: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        """The advice as a Markdown document (the CLI prints the same content with rich)."""
        volume = f"{self.answers.monthly_volume:,.0f}"
        lines = [f"# Advice: {self.choice} ({self.serving})", "", self.summary, "", "## Why", ""]
        lines += [f"- {reason}" for reason in self.reasons]
        lines += [
            "",
            f"## Cost ranges (estimates; price catalog of {self.catalog_as_of})",
            "",
            f"| option | setup | monthly at {volume} predictions |",
            "|---|---:|---:|",
        ]
        for c in self.cost_ranges:
            name = c.option if c.allowed else f"{c.option} (ruled out: data may not leave)"
            lines.append(
                f"| {name} | {usd_range(c.setup_usd_low, c.setup_usd_high)} "
                f"| {usd_range(c.monthly_usd_low, c.monthly_usd_high)} |"
            )
        for c in self.cost_ranges:
            lines += ["", f"**{c.option}**", ""]
            lines += [f"- {a}" for a in c.assumptions]
            lines += [f"- source: {s}" for s in c.sources]
        lines += ["", "## What to collect before `crossover compare`", ""]
        lines += [f"{i}. {item}" for i, item in enumerate(self.collect, 1)]
        lines += ["", "```", self.compare_command, "```", "", "scenario.yaml:", "", "```yaml"]
        lines += [scenario_yaml(self.scenario).rstrip(), "```", ""]
        return "\n".join(lines)


def usd(value: float) -> str:
    """Dollars, with cents only below $100."""
    return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"


def usd_range(low: float, high: float) -> str:
    return f"{usd(low)}–{usd(high)}"


def scenario_yaml(scenario: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(scenario, sort_keys=False)


def _plain(value: float) -> float | int:
    """Whole numbers as ints, so that the suggested YAML reads 500000, not 500000.0."""
    return int(value) if value == int(value) else value


def _num(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
