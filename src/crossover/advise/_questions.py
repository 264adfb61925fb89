"""The questionnaire of ``advise``: its eight questions and the answers, checked."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from crossover.errors import ConfigError

__all__ = ["PROBLEMS", "QUESTIONS", "Answers", "Question", "parse_answer"]

PROBLEMS = ("general", "domain")


@dataclass(frozen=True)
class Question:
    """One question of the questionnaire: the answer's name, its CLI flag, the prompt."""

    name: str
    flag: str
    prompt: str
    kind: str  # "choice" | "count" | "number" | "positive" | "bool"
    allowed: str


QUESTIONS: tuple[Question, ...] = (
    Question(
        "problem",
        "--problem",
        "Is the problem general (translation, transcription, chat) or domain-specific? "
        "[general/domain]",
        "choice",
        "general or domain",
    ),
    Question(
        "labelled_examples",
        "--labelled",
        "How many labelled examples do you have?",
        "count",
        "a whole number >= 0",
    ),
    Question(
        "ship_within_days",
        "--ship-within-days",
        "Within how many calendar days must it be in production?",
        "positive",
        "a number of days > 0",
    ),
    Question(
        "upfront_budget_usd",
        "--budget",
        "Up-front budget in USD (engineering and labels)?",
        "number",
        "a number of USD >= 0",
    ),
    Question(
        "accuracy_critical",
        "--accuracy-critical/--no-accuracy-critical",
        "Is accuracy critical or regulated?",
        "bool",
        "yes or no",
    ),
    Question(
        "ai_is_core_product",
        "--core-product/--no-core-product",
        "Is AI the core of your product?",
        "bool",
        "yes or no",
    ),
    Question(
        "monthly_volume",
        "--volume",
        "Expected predictions per month?",
        "number",
        "a number of predictions >= 0",
    ),
    Question(
        "data_may_leave",
        "--data-may-leave/--on-premises",
        "May the data leave your premises (be sent to an external API)?",
        "bool",
        "yes or no",
    ),
)
_BY_NAME = {q.name: q for q in QUESTIONS}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def parse_answer(name: str, value: Any) -> Any:
    """``value`` as the answer ``name`` expects, or a ConfigError naming the answer and flag.

    Strings are accepted for every answer (prompts and files give strings): numbers may carry
    ``,`` or ``_`` separators or be written ``1e6``; booleans are yes/no/true/false/y/n/1/0.
    """
    question = _BY_NAME.get(name)
    if question is None:
        known = ", ".join(_BY_NAME)
        raise ConfigError(f"unknown answer {name!r}; the answers are {known}")

    def bad(why: str = "") -> ConfigError:
        return ConfigError(
            f"{name} ({question.flag}): expected {question.allowed}{why}, got {value!r}"
        )

    if question.kind == "choice":
        text = str(value).strip().lower()
        text = "domain" if text == "domain-specific" else text
        if text not in PROBLEMS:
            raise bad()
        return text
    if question.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad()
    if isinstance(value, bool):
        raise bad()
    try:
        number = float(str(value).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise bad() from None
    if not math.isfinite(number):
        raise bad()
    if question.kind == "count":
        if number < 0 or number != int(number):
            raise bad()
        return int(number)
    if number < 0 or (question.kind == "positive" and number == 0):
        raise bad()
    return number


@dataclass(frozen=True)
class Answers:
    """The questionnaire's eight answers; any bad value is a ConfigError naming the answer.

    Parameters
    ----------
    problem : {"general", "domain"}
        General (translation, transcription, chat) or specific to your domain.
    labelled_examples : int
        Labelled examples you already have, >= 0.
    ship_within_days : float
        Calendar days until it must be in production, > 0.
    upfront_budget_usd : float
        Money for engineering and labels before launch, >= 0.
    accuracy_critical : bool
        Accuracy is critical or regulated.
    ai_is_core_product : bool
        AI is the core of the product (not a side feature).
    monthly_volume : float
        Expected predictions a month, >= 0.
    data_may_leave : bool
        The data may be sent to an external API.
    """

    problem: str
    labelled_examples: int
    ship_within_days: float
    upfront_budget_usd: float
    accuracy_critical: bool
    ai_is_core_product: bool
    monthly_volume: float
    data_may_leave: bool

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, parse_answer(f.name, getattr(self, f.name)))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "answers") -> Answers:
        """Answers from a mapping with the field names; unknown or missing names are errors."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping of answers, got {data!r}")
        unknown = sorted(set(data) - set(_BY_NAME))
        if unknown:
            raise ConfigError(
                f"{where}: unknown answer(s) {', '.join(unknown)}; the answers are "
                + ", ".join(_BY_NAME)
            )
        missing = [q for q in QUESTIONS if data.get(q.name) is None]
        if missing:
            names = ", ".join(f"{q.name} ({q.flag})" for q in missing)
            raise ConfigError(f"{where}: missing answer(s) {names}")
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
