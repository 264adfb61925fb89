"""The packaged price catalog, LiteLLM's price map when present, and scenario validation."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from crossover.costs import Scenario, load_catalog, load_scenario
from crossover.errors import ConfigError


def test_packaged_catalog_has_the_documented_prices_each_with_a_source() -> None:
    catalog = load_catalog()
    expected = {
        "c7i.xlarge": 0.1785,
        "g4dn.xlarge": 0.526,
        "g6.xlarge": 0.8048,
        "g5.xlarge": 1.006,
        "p5.4xlarge": 6.88,
    }
    assert {k: v.usd_per_hour for k, v in catalog.hardware.items()} == expected
    assert catalog.as_of.startswith("2026-")
    for entry in [*catalog.hardware.values(), *catalog.api.values()]:
        assert "2026" in entry.source, entry
    assert catalog.usd_per_label > 0 and catalog.labels_source
    assert catalog.engineer_usd_per_day > 0 and catalog.engineering_source
    assert {p.mode for p in catalog.api.values()} == {"chat", "embedding"}


def test_api_price_comes_from_litellm_when_it_knows_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = types.ModuleType("litellm")
    fake.model_cost = {  # type: ignore[attr-defined]
        "gpt-4o-mini": {
            "input_cost_per_token": 2e-7,
            "output_cost_per_token": 8e-7,
            "litellm_provider": "openai",
            "mode": "chat",
        }
    }
    fake.__version__ = "9.9.9"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "litellm", fake)
    catalog = load_catalog()
    price = catalog.api_price("gpt-4o-mini")
    assert price.origin == "litellm" and "LiteLLM 9.9.9" in price.source
    assert price.input_usd_per_mtok == pytest.approx(0.2)
    assert price.output_usd_per_mtok == pytest.approx(0.8)
    # A model LiteLLM does not know falls back to the catalog, and says so.
    fallback = catalog.api_price("text-embedding-3-small")
    assert (fallback.origin, fallback.input_usd_per_mtok) == ("catalog", 0.02)


def test_api_price_without_litellm_uses_the_catalog_and_unknown_models_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # import fails
    catalog = load_catalog()
    assert catalog.api_price("openai/gpt-4o").origin == "catalog"
    with pytest.raises(ConfigError, match=r"no price for API model 'my-llm'.*gpt-4o-mini"):
        catalog.api_price("my-llm")


def test_catalog_file_without_a_source_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "as_of: '2026-01-01'\nhardware:\n  box: {usd_per_hour: 1, vcpus: 2}\n"
        "labels: {usd_per_label: 0.1, source: x}\nengineering: {usd_per_day: 500, source: y}\n"
    )
    with pytest.raises(ConfigError, match=r"hardware\.box: missing field 'source'"):
        load_catalog(path)


def test_empty_scenario_is_the_documented_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("")
    loaded = load_scenario(path)
    assert loaded.to_dict() == Scenario().to_dict()
    assert Scenario().volume.predictions_per_month == 1_000_000
    assert Scenario().horizon_months == 24
    assert Scenario().hardware.serving == "c7i.xlarge"
    assert Scenario().constraints.on_premises is False
    # The defaults are written in the module's docstring, field by field.
    import crossover.costs.scenario as module

    assert module.__doc__ is not None
    for name in (
        "predictions_per_month",
        "utilisation",
        "min_instances",
        "every_months",
        "setup_days",
        "max_p95_latency_ms",
        "deadline_days",
    ):
        assert name in module.__doc__


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("volume:\n  predictions_per_mont: 5\n", r"volume\.predictions_per_mont: unknown field"),
        ("horizon_months: soon\n", r"horizon_months: .*integer.*'soon'"),
        ("volume:\n  predictions_per_month: -1\n", r"volume\.predictions_per_month: .*0"),
        ("hardware:\n  utilisation: 1.5\n", r"hardware\.utilisation"),
        ("constraints:\n  min_metric: -0.5\n", r"constraints\.min_metric"),
        ("- a list\n", "a YAML mapping"),
        ("volume: [1\n", "not valid YAML"),
    ],
)
def test_bad_scenario_file_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_scenario_with_an_unknown_machine_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("hardware:\n  serving: m9.huge\n")
    scenario = load_scenario(path)
    with pytest.raises(ConfigError, match=r"hardware\.serving: unknown machine 'm9\.huge'.*c7i"):
        scenario.check(load_catalog())


def test_missing_scenario_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the scenario"):
        load_scenario(tmp_path / "nope.yaml")


def test_a_score_limit_above_one_is_refused_when_the_study_is_priced() -> None:
    from crossover.costs.scenario import Constraints, Scenario
    from crossover.costs.sheet import price
    from tests.costs._fixtures import make_study, result

    study = make_study(result("text.tfidf-linear", "custom", n_wrong=2))
    scenario = Scenario(constraints=Constraints(min_metric=95))
    with pytest.raises(ConfigError, match=r"constraints\.min_metric 95.*between 0 and 1.*0\.95"):
        price(study, scenario)
