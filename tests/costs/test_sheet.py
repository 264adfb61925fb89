"""Cost sheets against hand-computed figures; break-even volumes and overtaking months."""

from __future__ import annotations

import math
import sys

import pytest

from crossover.costs import Scenario
from crossover.costs.sheet import CostSheet, break_even_volumes, price
from tests.costs._fixtures import make_study, result

C7I = 0.1785  # $/h, 4 vCPUs (catalog)
SCENARIO = Scenario.from_dict(
    {
        "labels": {"owned": 400, "usd_per_label": 0.5},
        "engineering": {"usd_per_day": 1000},
        "retraining": {"every_months": 3},
        "horizon_months": 12,
    }
)


@pytest.fixture(autouse=True)
def _no_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # catalog prices, whatever is installed


def _study():  # type: ignore[no-untyped-def]
    return make_study(
        result("pre", "pretrained", n_wrong=120, throughput=50.0),
        result("cust", "custom", n_wrong=40, fit_s=3600.0, throughput=100.0),
        result(
            "api",
            "pretrained",
            n_wrong=60,
            throughput=float("nan"),
            api={
                "model": "gpt-4o-mini",
                "input_tokens_per_prediction": 200,
                "output_tokens_per_prediction": 10,
            },
        ),
    )


def test_self_hosted_custom_sheet_by_hand() -> None:
    sheet = price(_study(), SCENARIO).sheet("cust")
    # Training: 3,600 s measured on 2 cores -> 1,800 s on 4 vCPUs = 0.5 h at $0.1785.
    assert sheet.train_hours == pytest.approx(0.5)
    assert sheet.train_usd == pytest.approx(0.5 * C7I)
    # Labels: trained on 1,000 rows, 400 owned -> 600 to buy at $0.50.
    assert (sheet.labels_needed, sheet.labels_to_buy) == (1000, 600)
    assert sheet.labels_usd == pytest.approx(300.0)
    # Engineering: 10 days (custom default) at $1,000.
    assert sheet.engineering_usd == pytest.approx(10_000.0)
    assert sheet.setup_usd == pytest.approx(0.5 * C7I + 300 + 10_000)
    # Serving: 100 rows/s on 2 cores -> 200 on 4 vCPUs, at 50 % utilisation -> 100 rows/s
    # -> 1e6 / 100 / 3600 hours per 1M predictions.
    assert sheet.usd_per_million == pytest.approx(1e6 / 100 / 3600 * C7I)
    assert sheet.fixed_serving_usd_per_month == pytest.approx(730 * C7I)
    assert sheet.retraining_usd_per_month == pytest.approx(0.5 * C7I / 3)
    assert sheet.maintenance_usd_per_month == pytest.approx(1.5 * 1000)
    monthly = 730 * C7I + 0.5 * C7I / 3 + 1500  # 1M predictions: under the always-on floor
    assert sheet.monthly_usd == pytest.approx(monthly)
    assert sheet.horizon_usd == pytest.approx(sheet.setup_usd + 12 * monthly)
    # Far above the floor the volume decides: 1B predictions.
    assert sheet.monthly_at(1e9) == pytest.approx(
        1000 * sheet.usd_per_million + 0.5 * C7I / 3 + 1500
    )


def test_api_sheet_prices_measured_tokens() -> None:
    sheet = price(_study(), SCENARIO).sheet("api")
    assert sheet.hosting == "api" and sheet.serving_machine == "gpt-4o-mini"
    # (200 x $0.15 + 10 x $0.60) per 1M tokens = $36 per 1M predictions.
    assert sheet.usd_per_million == pytest.approx(36.0)
    assert sheet.fixed_serving_usd_per_month == 0.0
    assert sheet.monthly_at(2e6) == pytest.approx(72.0 + 0.5 * 1000)
    assert (sheet.train_usd, sheet.labels_to_buy, sheet.retraining_usd_per_month) == (0, 0, 0)
    assert any("gpt-4o-mini" in note and "measured" in note for note in sheet.notes)


def test_growth_compounds_monthly_over_the_horizon() -> None:
    scenario = SCENARIO.model_copy(
        update={"volume": SCENARIO.volume.model_copy(update={"growth_per_month": 0.1})}
    )
    sheet = price(_study(), scenario).sheet("api")
    volumes = [1e6 * 1.1**m for m in range(12)]
    expected = sheet.setup_usd + sum(36.0 * v / 1e6 + 500 for v in volumes)
    assert sheet.horizon_usd == pytest.approx(expected)


def test_break_even_is_exactly_where_the_monthly_lines_cross() -> None:
    pricing = price(_study(), SCENARIO)
    api, cust = pricing.sheet("api"), pricing.sheet("cust")
    crossing = break_even_volumes(api, cust)
    assert len(crossing.volumes) == 1
    v = crossing.volumes[0]
    # By hand: 36e-6 V + 500 = 730 x 0.1785 + retraining + 1500 (custom still at its floor).
    expected = (730 * C7I + 0.5 * C7I / 3 + 1500 - 500) / 36e-6
    assert v == pytest.approx(expected)
    assert api.monthly_at(v) == pytest.approx(cust.monthly_at(v))
    assert (crossing.cheaper_below, crossing.cheaper_above) == ("api", "cust")
    assert api.monthly_at(v * 0.99) < cust.monthly_at(v * 0.99)
    assert api.monthly_at(v * 1.01) > cust.monthly_at(v * 1.01)


def _line(name: str, floor: float, per_million: float, constant: float) -> CostSheet:
    return CostSheet(
        strategy=name,
        kind="custom",
        hosting="self-hosted",
        serving_machine="m",
        score=0.9,
        ci_low=0.8,
        ci_high=1.0,
        latency_p95_ms=1.0,
        train_hours=0,
        train_usd=0,
        labels_needed=0,
        labels_to_buy=0,
        labels_usd=0,
        engineering_days=0,
        engineering_usd=0,
        setup_usd=0,
        usd_per_million=per_million,
        fixed_serving_usd_per_month=floor,
        retraining_usd_per_month=0,
        maintenance_usd_per_month=constant,
        monthly_usd=0,
        horizon_usd=0,
        days_to_production=0,
    )


def test_break_even_never_when_one_line_is_always_dearer() -> None:
    cheap = _line("cheap", floor=100, per_million=1.0, constant=10)
    dear = _line("dear", floor=200, per_million=2.0, constant=20)
    crossing = break_even_volumes(cheap, dear)
    assert crossing.volumes == []
    assert crossing.cheaper_below == crossing.cheaper_above == "cheap"


def test_break_even_on_the_proportional_segments() -> None:
    # a: floor 100 until 100M, then $1/1M; b: floor 50 until 25M, then $2/1M.
    a = _line("a", floor=100, per_million=1.0, constant=0)
    b = _line("b", floor=50, per_million=2.0, constant=0)
    crossing = break_even_volumes(a, b)
    # b is cheaper until 2 V/1e6 = 100 -> V = 50M (a still at its floor); beyond, a is.
    assert crossing.volumes == [pytest.approx(50e6)]
    assert (crossing.cheaper_below, crossing.cheaper_above) == ("b", "a")


def test_overtake_month_is_when_cumulative_costs_cross() -> None:
    scenario = SCENARIO.with_volume(50e6)
    pricing = price(_study(), scenario)
    api, cust = pricing.sheet("api"), pricing.sheet("cust")
    overtake = next(o for o in pricing.overtakes if {o.cheaper_first, o.later} == {"api", "cust"})
    assert (overtake.cheaper_first, overtake.later) == ("api", "cust")
    gap = cust.setup_usd - api.setup_usd
    saving = api.monthly_at(50e6) - cust.monthly_at(50e6)
    assert saving > 0
    assert overtake.month == math.floor(gap / saving) + 1
    # At 1M a month the API stays cheaper to run: the custom model never catches up.
    small = price(_study(), SCENARIO)
    assert not any({o.cheaper_first, o.later} == {"api", "cust"} for o in small.overtakes)


def test_labels_needed_for_a_minimum_metric_come_from_the_learning_curve() -> None:
    from crossover.evaluation.trials import Trial

    study = make_study(
        result("pre", "pretrained", n_wrong=120),
        result("cust", "custom", n_wrong=40),
    )
    # Add budget trials: 10 per class scores 0.8, 50 per class 0.9 (4 classes).
    extra = []
    for budget, wrong in ((10, 80), (50, 40)):
        r = result("cust", "custom", n_wrong=wrong, n_train=budget * 4)
        r.trial = Trial(strategy="cust", budget=budget, split_id="s")
        extra.append(r)
    study = make_study(*study.results, *extra)
    scenario = SCENARIO.with_min_metric(0.85).with_labels_owned(0)
    sheet = price(study, scenario).sheet("cust")
    assert sheet.labels_needed == 200  # 0.85 first reached at 50 per class x 4 classes
    assert sheet.labels_to_buy == 200
    assert any("50 per class" in note for note in sheet.notes)


def test_lines_equal_below_a_volume_do_not_cross_there() -> None:
    """Two lines on the same always-on floor are equal until one leaves it: that volume is
    where they part, not a break-even, and the sentence says so."""
    # Same floor; b leaves it at 50M a month, a only at 100M.
    a = _line("a", floor=100, per_million=1.0, constant=0)
    b = _line("b", floor=100, per_million=2.0, constant=0)
    parting = break_even_volumes(a, b)
    assert parting.volumes == []
    assert parting.equal_up_to == pytest.approx(50e6)
    assert (parting.cheaper_below, parting.cheaper_above) == (None, "a")
    assert parting.describe() == (
        "The monthly running costs (setup not included) of a and b are equal up to 50,000,000 "
        "predictions a month (their fixed costs are the same); above, a is cheaper."
    )
    never = break_even_volumes(
        _line("c", floor=100, per_million=1.0, constant=10),
        _line("d", floor=200, per_million=2.0, constant=20),
    )
    assert never.describe() == (
        "The monthly running costs (setup not included) of c and d never cross: c is cheaper "
        "at every volume."
    )
    crossing = break_even_volumes(
        _line("e", floor=100, per_million=1.0, constant=0),
        _line("f", floor=50, per_million=2.0, constant=0),
    )
    assert crossing.describe() == (
        "The monthly running costs (setup not included) of e and f are equal at 50,000,000 "
        "predictions a month; f is cheaper below, e above."
    )


def test_engineering_days_follow_what_a_strategy_builds() -> None:
    """A hybrid that is a custom model plus an encoder is priced at the custom days, with a
    note; an ordinary hybrid, and a strategy this installation does not know, at their own."""
    study = make_study(
        result("tabular.gbm-embeddings", "hybrid", n_wrong=10),
        result("text.embedding-head", "hybrid", n_wrong=12),
        result("somebody.elses-plugin", "hybrid", n_wrong=14),
    )
    pricing = price(study, SCENARIO)
    days = {s.strategy: s.engineering_days for s in pricing.sheets}
    assert days == {
        "tabular.gbm-embeddings": SCENARIO.engineering.setup_days.custom,
        "text.embedding-head": SCENARIO.engineering.setup_days.hybrid,
        "somebody.elses-plugin": SCENARIO.engineering.setup_days.hybrid,
    }
    notes = " ".join(pricing.sheet("tabular.gbm-embeddings").notes)
    assert "priced as a custom model" in notes
    maintenance = SCENARIO.engineering.maintenance_days_per_month.custom * 1000
    assert pricing.sheet("tabular.gbm-embeddings").maintenance_usd_per_month == maintenance


def test_an_ensemble_costs_at_least_its_members_to_build_and_to_run() -> None:
    """text.ensemble contains text.embedding-head and text.tfidf-linear: its engineering days
    are at least theirs added, and its cost per 1M predictions at least theirs added, even
    when its own (noisy) throughput came out higher than theirs."""
    study = make_study(
        result("text.ensemble", "hybrid", n_wrong=10, throughput=400.0),
        result("text.embedding-head", "hybrid", n_wrong=12, throughput=200.0),
        result("text.tfidf-linear", "custom", n_wrong=11, throughput=1000.0),
    )
    pricing = price(study, SCENARIO)
    ens, head, tfidf = (
        pricing.sheet(k) for k in ("text.ensemble", "text.embedding-head", "text.tfidf-linear")
    )
    days = SCENARIO.engineering.setup_days
    assert ens.engineering_days == days.hybrid + days.custom  # 8 + 10, not the hybrid's 8
    upkeep = SCENARIO.engineering.maintenance_days_per_month
    assert ens.maintenance_usd_per_month == (upkeep.hybrid + upkeep.custom) * 1000
    # By hand: 1e6 rows / (rows/s x 2 (4 vCPUs / 2 cores) x 0.5 utilisation) / 3600 h x $/h
    per_million = {t: 1e6 / (t * 2 * 0.5) / 3600 * C7I for t in (400.0, 200.0, 1000.0)}
    assert head.usd_per_million == pytest.approx(per_million[200.0])
    assert ens.usd_per_million == pytest.approx(per_million[200.0] + per_million[1000.0])
    assert ens.usd_per_million >= head.usd_per_million + tfidf.usd_per_million - 1e-12
    assert ens.horizon_usd > max(head.horizon_usd, tfidf.horizon_usd)
    assert ens.monthly_usd == pytest.approx(ens.monthly_at(SCENARIO.volume.predictions_per_month))
    notes = " ".join(ens.notes)
    assert "at least its members' (text.embedding-head 8 + text.tfidf-linear 10" in notes
    assert "at least its members' cost per 1M predictions" in notes


def test_an_ensemble_whose_members_were_not_measured_keeps_its_own_serving_cost() -> None:
    study = make_study(
        result("text.ensemble", "hybrid", n_wrong=10, throughput=400.0),
        result("text.embedding-head", "hybrid", n_wrong=12, throughput=200.0),
    )
    ens = price(study, SCENARIO).sheet("text.ensemble")
    assert ens.usd_per_million == pytest.approx(1e6 / (400.0 * 2 * 0.5) / 3600 * C7I)
