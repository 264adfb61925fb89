"""``crossover.advise``: each branch of the decision rule, its reasons, and the cost arithmetic."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest

from crossover.advise import QUESTIONS, Advice, Answers, advise
from crossover.costs import ApiPrice, Catalog, HardwarePrice, Scenario, load_catalog
from crossover.errors import ConfigError

# Round prices, so that every cost below can be worked out by hand.
TEST_CATALOG = Catalog(
    as_of="2030-01-01",
    hardware={
        "c7i.xlarge": HardwarePrice("c7i.xlarge", 1.0, 4, 8, None, "cpu-source"),
        "gpu.small": HardwarePrice("gpu.small", 2.0, 4, 16, "T4", "gpu-small-source"),
        "gpu.big": HardwarePrice("gpu.big", 10.0, 16, 256, "H100", "gpu-big-source"),
    },
    api={
        "cheap-chat": ApiPrice("cheap-chat", "x", "chat", 1.0, 2.0, "cheap-source"),
        "dear-chat": ApiPrice("dear-chat", "x", "chat", 10.0, 20.0, "dear-source"),
        # An embedding model is not a chat model: it must not set the low end.
        "tiny-embed": ApiPrice("tiny-embed", "x", "embedding", 0.001, 0.0, "embed-source"),
    },
    usd_per_label=0.5,
    labels_source="labels-source",
    engineer_usd_per_day=1000.0,
    engineering_source="engineering-source",
)

# A neutral starting point: changing one answer from here shows that answer's effect.
BASE: dict[str, Any] = {
    "problem": "general",
    "labelled_examples": 0,
    "ship_within_days": 90,
    "upfront_budget_usd": 100_000,
    "accuracy_critical": False,
    "ai_is_core_product": False,
    "monthly_volume": 10_000,
    "data_may_leave": True,
}
# Everything a custom model asks for.
CUSTOM_READY = {
    **BASE,
    "problem": "domain",
    "labelled_examples": 8_000,
    "accuracy_critical": True,
    "ai_is_core_product": True,
    "monthly_volume": 5_000_000,
}


def run(catalog: Catalog = TEST_CATALOG, **changes: Any) -> Advice:
    return advise(Answers(**{**BASE, **changes}), catalog)


def reason_with(advice: Advice, *fragments: str) -> str:
    """The one reason that contains every fragment (fails when none or several do)."""
    found = [r for r in advice.reasons if all(f in r for f in fragments)]
    assert len(found) == 1, (fragments, advice.reasons)
    return found[0]


def calendar_days(kind: str) -> int:
    """Calendar days of setup: the Scenario default engineer days x 7/5, rounded up."""
    return math.ceil(Scenario().engineering.setup_days.of(kind) * 7 / 5)


# -- the rule, branch by branch -------------------------------------------------------------


def test_advise_general_problem_with_data_allowed_out_is_pretrained_api() -> None:
    advice = run()
    assert (advice.choice, advice.serving) == ("pretrained", "api")
    reason_with(advice, "general one")
    reason_with(advice, "may leave the premises", "pay-per-token API is allowed")


def test_advise_data_that_may_not_leave_is_never_sent_to_an_api() -> None:
    advice = run(data_may_leave=False)
    assert (advice.choice, advice.serving) == ("pretrained", "self-hosted")
    reason_with(advice, "may not leave the premises", "no external API")
    api = next(c for c in advice.cost_ranges if c.serving == "api")
    assert api.allowed is False
    assert advice.scenario["constraints"]["on_premises"] is True


def test_advise_high_volume_makes_even_the_cheapest_api_dearer_than_a_machine() -> None:
    # The cheapest API at 100 input + 5 output tokens costs 110 / 1e6 $ a prediction; one CPU
    # machine costs 1.0 $/h x 730 h = 730 $ a month: the API is dearer above 730e6/110 a month.
    below = run(monthly_volume=6_000_000)  # 660 $
    above = run(monthly_volume=7_000_000)  # 770 $
    assert below.serving == "api"
    assert (above.choice, above.serving) == ("pretrained", "self-hosted")
    reason_with(above, "may leave the premises", "costs more than a machine of your own")


def test_advise_domain_problem_with_few_labels_is_hybrid() -> None:
    advice = run(problem="domain", labelled_examples=120)
    assert advice.choice == "hybrid"
    assert advice.serving == "self-hosted"
    reason = reason_with(advice, "You have 120 labelled examples")
    assert "too few to train a model from scratch" in reason
    assert "enough for a head on a pre-trained encoder" in reason
    reason_with(advice, "domain-specific")


@pytest.mark.parametrize(
    ("answer", "value"), [("accuracy_critical", True), ("ai_is_core_product", True)]
)
def test_advise_general_problem_that_must_be_owned_or_accurate_is_hybrid(
    answer: str, value: bool
) -> None:
    advice = run(**{answer: value})
    assert advice.choice == "hybrid"
    fragment = "Accuracy is critical" if answer == "accuracy_critical" else "AI is your core"
    reason_with(advice, fragment)


def test_advise_many_labels_core_product_and_high_volume_is_custom() -> None:
    advice = advise(Answers(**CUSTOM_READY), TEST_CATALOG)
    assert advice.choice == "custom"
    assert "enough to train a custom model" in reason_with(advice, "8,000 labelled examples")
    assert "at or above" in reason_with(advice, "5,000,000 predictions a month")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"labelled_examples": 4_999}, "4,999 labelled examples"),
        ({"monthly_volume": 999_999}, "999,999 predictions a month"),
        ({"accuracy_critical": False, "ai_is_core_product": False}, "not your core product"),
    ],
)
def test_advise_custom_needs_every_condition_else_hybrid(
    change: dict[str, Any], fragment: str
) -> None:
    advice = advise(Answers(**{**CUSTOM_READY, **change}), TEST_CATALOG)
    assert advice.choice == "hybrid"
    reason_with(advice, fragment)


def test_advise_deadline_rules_out_kinds_whose_setup_does_not_fit() -> None:
    hybrid_days, custom_days = calendar_days("hybrid"), calendar_days("custom")
    assert (hybrid_days, custom_days) == (12, 14)  # 8 and 10 engineer days x 7/5, rounded up
    choices = {
        days: advise(Answers(**{**CUSTOM_READY, "ship_within_days": days}), TEST_CATALOG)
        for days in (hybrid_days - 1, custom_days - 1, custom_days)
    }
    assert [a.choice for a in choices.values()] == ["pretrained", "hybrid", "custom"]
    tight = choices[hybrid_days - 1]
    reason = reason_with(tight, f"within {hybrid_days - 1} days")
    assert "only pretrained fits" in reason
    assert "12 calendar days for hybrid" in reason
    assert "custom model would suit your answers better" in tight.summary
    assert "11-day deadline" in tight.summary


def test_advise_deadline_shorter_than_any_setup_still_answers_pretrained() -> None:
    advice = advise(Answers(**{**CUSTOM_READY, "ship_within_days": 2}), TEST_CATALOG)
    assert advice.choice == "pretrained"
    assert "even a pre-trained model needs about 5" in reason_with(advice, "within 2 days")


def test_advise_budget_that_cannot_buy_the_labels_rules_out_hybrid() -> None:
    # A hybrid needs 100 labelled examples: with none, the cheapest hybrid setup is
    # 8 days x 1000 $ + 100 labels x 0.5 $ = 8050 $; with 100 owned it is 8000 $.
    answers = {"problem": "domain", "upfront_budget_usd": 8_000}
    assert run(**answers, labelled_examples=100).choice == "hybrid"
    advice = run(**answers, labelled_examples=0)
    assert advice.choice == "pretrained"
    reason = reason_with(advice, "$8,000")
    assert "rules out hybrid" in reason
    assert "hybrid from $8,050" in reason and "100 labels at $0.50" in reason
    assert "8,000 up-front budget" in advice.summary


def test_advise_budget_below_every_setup_says_what_the_cheapest_costs() -> None:
    advice = run(upfront_budget_usd=500)
    assert advice.choice == "pretrained"
    # 3 engineer days x 1000 $, no labels to buy at the low end.
    assert "plan for at least $3,000" in reason_with(advice, "$500")


def test_advise_gives_one_reason_per_answer_and_is_deterministic() -> None:
    first = advise(Answers(**CUSTOM_READY), TEST_CATALOG)
    assert len(first.reasons) == len(QUESTIONS)
    assert first == advise(Answers(**CUSTOM_READY), TEST_CATALOG)


# -- cost ranges ----------------------------------------------------------------------------


def test_advise_cost_ranges_follow_the_stated_arithmetic() -> None:
    advice = run(problem="domain", labelled_examples=120, monthly_volume=10_000)
    costs = {c.option: c for c in advice.cost_ranges}
    assert list(costs) == ["pretrained (API)", "pretrained (self-hosted)", "hybrid", "custom"]

    api = costs["pretrained (API)"]
    # Setup: 3 to 6 days x 1000 $; labels to a 300-row test set: 0 to 300 - 120 = 180 x 0.5 $.
    assert (api.labels_to_buy_low, api.labels_to_buy_high) == (0, 180)
    assert (api.setup_usd_low, api.setup_usd_high) == pytest.approx((3_000, 6_090))
    # Monthly: 0.5 to 1 maintenance day x 1000 $, plus 10,000 predictions x
    # cheap-chat (100 x 1 + 5 x 2) / 1e6 = 1.10 $ up to dear-chat (500 x 10 + 20 x 20) / 1e6 = 54 $.
    assert (api.monthly_usd_low, api.monthly_usd_high) == pytest.approx((501.10, 1_054.0))

    hybrid = costs["hybrid"]
    # Setup: 8 to 16 days; labels to 100..1000: 0 to 880 x 0.5 $.
    assert (hybrid.setup_usd_low, hybrid.setup_usd_high) == pytest.approx((8_000, 16_440))
    # Monthly: 1 to 2 days, plus one machine for 730 h: CPU 1 $/h to the cheapest GPU 2 $/h.
    assert (hybrid.monthly_usd_low, hybrid.monthly_usd_high) == pytest.approx((1_730, 3_460))

    custom = costs["custom"]
    # Setup: 10 to 20 days; labels to 5,000..20,000: 4,880 to 19,880 x 0.5 $.
    assert (custom.labels_to_buy_low, custom.labels_to_buy_high) == (4_880, 19_880)
    assert (custom.setup_usd_low, custom.setup_usd_high) == pytest.approx((12_440, 29_940))
    # Monthly: 1.5 to 3 days, plus 730 to 1460 $ of machine.
    assert (custom.monthly_usd_low, custom.monthly_usd_high) == pytest.approx((2_230, 4_460))

    self_hosted = costs["pretrained (self-hosted)"]
    assert (self_hosted.monthly_usd_low, self_hosted.monthly_usd_high) == pytest.approx(
        (1_230, 2_460)
    )


def test_advise_cost_ranges_name_the_catalog_entries_and_date() -> None:
    advice = run(problem="domain", labelled_examples=120)
    costs = {c.option: c for c in advice.cost_ranges}
    api_sources = " ".join(costs["pretrained (API)"].sources)
    for entry in ("cheap-chat", "dear-chat", "engineering-source", "labels-source"):
        assert entry in api_sources
    assert "tiny-embed" not in api_sources
    hosted_sources = " ".join(costs["hybrid"].sources)
    assert "cpu-source" in hosted_sources and "gpu-small-source" in hosted_sources
    assert "gpu-big-source" not in hosted_sources  # the cheapest GPU sets the high end
    assert all("2030-01-01" in s for c in advice.cost_ranges for s in c.sources)
    assert "cheap-chat" in " ".join(costs["pretrained (API)"].assumptions)


def test_advise_setup_days_follow_the_scenario_defaults() -> None:
    defaults = Scenario().engineering.setup_days
    advice = run()
    for cost in advice.cost_ranges:
        assert cost.setup_days_low == defaults.of(cost.kind)
        assert cost.setup_days_high == 2 * defaults.of(cost.kind)


def test_advise_with_the_packaged_catalog_prices_from_its_chat_models() -> None:
    catalog = load_catalog()
    chat = [p for p in catalog.api.values() if p.mode == "chat"]
    cheapest = min(p.input_usd_per_mtok * 100 + p.output_usd_per_mtok * 5 for p in chat)
    priciest = max(p.input_usd_per_mtok * 500 + p.output_usd_per_mtok * 20 for p in chat)
    maintenance = Scenario().engineering.maintenance_days_per_month.pretrained
    advice = advise(Answers(**{**BASE, "monthly_volume": 1_000_000}))
    api = next(c for c in advice.cost_ranges if c.option == "pretrained (API)")
    upkeep = maintenance * catalog.engineer_usd_per_day
    assert api.monthly_usd_low == pytest.approx(upkeep + cheapest)  # 1e6 predictions / 1e6
    assert api.monthly_usd_high == pytest.approx(2 * upkeep + priciest)
    assert advice.catalog_as_of == catalog.as_of


# -- what to collect, serialisation -------------------------------------------------------


def test_advise_collect_says_how_many_labels_to_add_and_the_next_command() -> None:
    advice = run(problem="domain", labelled_examples=40, accuracy_critical=True)
    text = " ".join(advice.collect)
    assert "8-16 examples per class" in text and "at least 30 per class" in text
    assert "Label about 60 more examples" in text  # to the hybrid's 100
    assert "`text` and a `label` column" in text
    assert "min_metric" in text  # accuracy is critical
    assert advice.compare_command.startswith("crossover compare ")
    assert "--scenario scenario.yaml" in advice.compare_command


def test_advise_suggested_scenario_loads_with_the_answers() -> None:
    advice = run(monthly_volume=250_000, ship_within_days=21, data_may_leave=False)
    scenario = Scenario.from_dict(advice.scenario)
    assert scenario.volume.predictions_per_month == 250_000
    assert scenario.constraints.deadline_days == 21
    assert scenario.constraints.on_premises is True


def test_advise_to_dict_is_json_and_markdown_has_every_part() -> None:
    advice = run(problem="domain", labelled_examples=120)
    data = json.loads(json.dumps(advice.to_dict()))
    assert data["choice"] == "hybrid"
    assert data["answers"]["labelled_examples"] == 120
    assert len(data["cost_ranges"]) == 4
    assert {"setup_usd_low", "monthly_usd_high", "sources"} <= set(data["cost_ranges"][0])
    markdown = advice.to_markdown()
    assert markdown.startswith("# Advice: hybrid")
    for part in (*advice.reasons, *advice.collect, advice.compare_command, "$8,000–$16,440"):
        assert part in markdown


# -- answers --------------------------------------------------------------------------------


def test_answers_parse_strings_from_prompts_and_files() -> None:
    answers = Answers(
        problem=" Domain-specific ",
        labelled_examples="1,200",  # type: ignore[arg-type]
        ship_within_days="30",  # type: ignore[arg-type]
        upfront_budget_usd="2e4",  # type: ignore[arg-type]
        accuracy_critical="yes",  # type: ignore[arg-type]
        ai_is_core_product="n",  # type: ignore[arg-type]
        monthly_volume="1_000_000",  # type: ignore[arg-type]
        data_may_leave="false",  # type: ignore[arg-type]
    )
    assert dataclasses.astuple(answers) == (
        "domain",
        1200,
        30.0,
        20_000.0,
        True,
        False,
        1_000_000.0,
        False,
    )


@pytest.mark.parametrize(
    ("name", "value", "flag"),
    [
        ("problem", "legal", "--problem"),
        ("labelled_examples", -5, "--labelled"),
        ("labelled_examples", 2.5, "--labelled"),
        ("labelled_examples", True, "--labelled"),
        ("ship_within_days", 0, "--ship-within-days"),
        ("upfront_budget_usd", "lots", "--budget"),
        ("upfront_budget_usd", float("nan"), "--budget"),
        ("accuracy_critical", "maybe", "--accuracy-critical"),
        ("monthly_volume", -1, "--volume"),
        ("data_may_leave", "perhaps", "--data-may-leave"),
    ],
)
def test_answers_bad_value_is_a_config_error_naming_the_answer(
    name: str, value: Any, flag: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Answers(**{**BASE, name: value})
    message = str(info.value)
    assert message.startswith(f"{name} (")
    assert flag in message
    assert repr(value) in message


def test_answers_from_dict_names_missing_and_unknown_answers() -> None:
    partial = {k: v for k, v in BASE.items() if k != "monthly_volume"}
    with pytest.raises(
        ConfigError, match=r"a\.yaml: missing answer\(s\) monthly_volume \(--volume\)"
    ):
        Answers.from_dict(partial, where="a.yaml")
    with pytest.raises(ConfigError, match=r"unknown answer.*colour"):
        Answers.from_dict({**BASE, "colour": "red"})
    with pytest.raises(ConfigError, match=r"a\.yaml: labelled_examples"):
        Answers.from_dict({**BASE, "labelled_examples": -1}, where="a.yaml")
    assert Answers.from_dict(BASE) == Answers(**BASE)
