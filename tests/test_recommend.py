"""The recommendation rule: constraints, statistical ties, cost, flip points."""

from __future__ import annotations

import sys

import pytest

from crossover.costs import Scenario
from crossover.costs.sheet import price
from crossover.recommend import _Decider, decide
from tests.costs._fixtures import make_study, result

API = {
    "model": "gpt-4o-mini",
    "input_tokens_per_prediction": 200,
    "output_tokens_per_prediction": 10,
}


@pytest.fixture(autouse=True)
def _no_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)


def _study():  # type: ignore[no-untyped-def]
    # hyb and cust disagree on 6 of 400 rows, 4 one way and 2 the other (tied); pre is
    # 20 points below (significant).
    return make_study(
        result("pre", "pretrained", n_wrong=120, throughput=50.0, p95_ms=8.0),
        result("cust", "custom", n_wrong=40, fit_s=10.0, throughput=5000.0, p95_ms=1.0),
        result(
            "hyb",
            "hybrid",
            n_wrong=38,
            offset=4,
            fit_s=30.0,
            throughput=100.0,
            p95_ms=9.0,
            size_mb=5.0,  # slower than cust but smaller: neither beats the other on all
        ),
    )


def _decide(scenario: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    study = _study()
    pricing = price(study, Scenario.from_dict(scenario or {}))
    return study, pricing, decide(study, pricing)


def test_tied_best_candidates_are_split_by_cost_over_the_horizon() -> None:
    study, pricing, rec = _decide()
    decider = _Decider(study, pricing)
    hyb, cust = pricing.sheet("hyb"), pricing.sheet("cust")
    assert not decider.beats(cust, hyb) and not decider.beats(hyb, cust)
    assert study.paired_delta("hyb", "cust")["significant"] is False
    assert set(rec.tied) == {"hyb", "cust"}
    # The hybrid needs fewer engineer days (8 against 10) and less maintenance: cheaper.
    assert pricing.horizon_usd("hyb") < pricing.horizon_usd("cust")
    assert (rec.choice, rec.kind) == ("hyb", "hybrid")
    assert "statistically tied with cust, but cheaper over 24 months than cust" in rec.reasons[0]
    assert "points above the pre-trained model pre" in rec.reasons[1]
    assert "a month at 1M predictions" in rec.reasons[2]


def test_a_significantly_better_candidate_wins_even_when_dearer() -> None:
    study = make_study(
        result("pre", "pretrained", n_wrong=120),
        result("cust", "custom", n_wrong=40),
        result("hyb", "hybrid", n_wrong=0),
    )
    pricing = price(
        study,
        Scenario.from_dict(
            {"engineering": {"setup_days": {"pretrained": 1, "custom": 1, "hybrid": 50}}}
        ),
    )
    assert pricing.horizon_usd("hyb") > pricing.horizon_usd("cust")
    rec = decide(study, pricing)
    assert rec.choice == "hyb" and rec.tied == ["hyb"]


@pytest.mark.parametrize(
    ("constraints", "dropped", "why"),
    [
        ({"min_metric": 0.85}, "pre", "accuracy 0.700 is below the minimum 0.85"),
        ({"max_p95_latency_ms": 5}, "hyb", "p95 latency 9.0 ms"),
        ({"deadline_days": 12}, "cust", "about 14 calendar days of engineering"),
        ({"max_monthly_usd": 1000}, "cust", "above the budget of $1,000"),
    ],
)
def test_constraints_drop_candidates_and_say_why(
    constraints: dict,
    dropped: str,
    why: str,  # type: ignore[type-arg]
) -> None:
    _, _, rec = _decide({"constraints": constraints})
    assert dropped in rec.dropped
    assert any(why in reason for reason in rec.dropped[dropped]), rec.dropped
    assert rec.choice != dropped
    assert any(reason.startswith(f"{dropped} is excluded: ") for reason in rec.reasons)


def test_on_premises_excludes_external_apis() -> None:
    study = make_study(
        result("api", "pretrained", n_wrong=40, throughput=float("nan"), api=API),
        result("cust", "custom", n_wrong=40),
    )
    pricing = price(study, Scenario.from_dict({"constraints": {"on_premises": True}}))
    rec = decide(study, pricing)
    assert rec.choice == "cust"
    assert "external API" in rec.dropped["api"][0]


def test_no_candidate_left_says_so() -> None:
    _, _, rec = _decide({"constraints": {"min_metric": 0.99}})
    assert rec.choice is None and rec.kind is None
    assert set(rec.dropped) == {"pre", "cust", "hyb"}
    assert rec.reasons[0].startswith("No candidate meets every constraint")


def test_volume_flip_point_is_where_the_choice_changes() -> None:
    # An API model tied with a self-hosted custom one: cheap at low volume, dear at high.
    study = make_study(
        result("api", "pretrained", n_wrong=40, throughput=float("nan"), api=API),
        result("cust", "custom", n_wrong=41, fit_s=10.0, throughput=5000.0),
    )
    scenario = Scenario.from_dict({"volume": {"predictions_per_month": 1e5}})
    rec = decide(study, price(study, scenario))
    assert rec.choice == "api"
    flip = next(f for f in rec.flip_points if f["kind"] == "volume")
    assert (flip["from"], flip["to"]) == ("api", "cust")
    v = flip["value"]
    below = decide(study, price(study, scenario.with_volume(v * 0.99)))
    above = decide(study, price(study, scenario.with_volume(v * 1.01)))
    assert (below.choice, above.choice) == ("api", "cust")
    # The flip is where the horizon costs are equal.
    p = price(study, scenario.with_volume(v))
    assert p.horizon_usd("api") == pytest.approx(p.horizon_usd("cust"), rel=1e-6)


def test_metric_flip_point_names_the_next_choice() -> None:
    engineering = {
        "setup_days": {"pretrained": 3, "custom": 1, "hybrid": 8},
        "maintenance_days_per_month": {"pretrained": 0.5, "custom": 0.5, "hybrid": 1},
    }
    _, _, rec = _decide({"engineering": engineering})
    assert rec.choice == "cust"  # tied with hyb and now cheaper
    flip = next(f for f in rec.flip_points if f["kind"] == "metric")
    assert flip["value"] == pytest.approx(0.9)
    assert flip["to"] == "hyb"
    assert "above 0.900, hyb is the choice" in flip["text"]


def test_comparison_table_has_every_row_for_every_kind_with_measured_values() -> None:
    _, pricing, rec = _decide()
    assert list(rec.comparison) == [
        "Initial cost",
        "Development time",
        "Infrastructure",
        "Data requirement",
        "Customization",
        "Accuracy",
        "Maintenance",
    ]
    for row in rec.comparison.values():
        assert set(row) == {"pretrained", "custom", "hybrid"}
    assert rec.comparison_strategies == {"pretrained": "pre", "custom": "cust", "hybrid": "hyb"}
    assert "0.905" in rec.comparison["Accuracy"]["hybrid"]
    assert f"${pricing.sheet('cust').setup_usd:,.0f}" in rec.comparison["Initial cost"]["custom"]
    assert "1,000 labelled rows" in rec.comparison["Data requirement"]["custom"]
    assert "no labelled rows" in rec.comparison["Data requirement"]["pretrained"]


def test_a_tie_between_an_ensemble_and_its_member_goes_to_the_member() -> None:
    """The issue's case: text.ensemble tied with text.tfidf-linear, which it contains; its own
    throughput came out high, yet it costs at least its members and the member is chosen,
    with the trade-off in numbers."""
    study = make_study(
        result(
            "text.ensemble",
            "hybrid",
            n_wrong=38,
            offset=4,
            throughput=5000.0,
            p95_ms=508.0,
            size_mb=90.0,
        ),
        result(
            "text.tfidf-linear", "custom", n_wrong=40, throughput=1000.0, p95_ms=2.1, size_mb=30.0
        ),
        result(
            "text.embedding-head", "hybrid", n_wrong=60, throughput=200.0, p95_ms=80.0, size_mb=60.0
        ),
    )
    pricing = price(study, Scenario())
    rec = decide(study, pricing)
    assert study.paired_delta("text.ensemble", "text.tfidf-linear")["significant"] is False
    assert rec.choice == "text.tfidf-linear"
    saving = pricing.horizon_usd("text.ensemble") - pricing.horizon_usd("text.tfidf-linear")
    assert saving > 0
    against = next(r for r in rec.reasons if r.startswith("Against text.ensemble"))
    assert f"it saves ${saving:,.0f} over 24 months" in against
    assert "a p95 latency of 2.1 ms against 508.0 ms (242x faster" in against
    assert "a size of 30 MB against 90 MB (3.0x smaller)" in against


def test_speed_and_size_enter_the_reasons_and_the_latency_limit_is_a_flip_point() -> None:
    study = make_study(
        result("fast", "custom", n_wrong=60, throughput=5000.0, p95_ms=3.0, size_mb=30.0),
        result("slow", "hybrid", n_wrong=20, throughput=50.0, p95_ms=1800.0, size_mb=90.0),
    )
    rec = decide(study, price(study, Scenario()))
    assert rec.choice == "slow"  # 10 points better, significantly
    d = study.paired_delta("slow", "fast")
    assert d["significant"] is True
    said = next(r for r in rec.reasons if "above fast" in r)
    assert said.startswith(f"It is {d['delta'] * 100:+.1f} points above fast")
    assert "a p95 latency of 1,800.0 ms against 3.0 ms (600x slower" in said
    assert "a size of 90 MB against 30 MB (3.0x larger)" in said
    assert any("sets no latency limit" in r for r in rec.reasons)
    flip = next(f for f in rec.flip_points if f["kind"] == "latency")
    assert (flip["value"], flip["from"], flip["to"]) == (1800.0, "slow", "fast")
    # The flip is the rule itself: with that limit, the scenario chooses fast.
    limited = Scenario.from_dict({"constraints": {"max_p95_latency_ms": 1799.0}})
    assert decide(study, price(study, limited)).choice == "fast"
    assert not any(
        "sets no latency limit" in r for r in decide(study, price(study, limited)).reasons
    )


def test_the_volume_flip_is_the_horizon_break_even_computed_by_hand() -> None:
    """Growth 0, 12 months: the flip volume V solves setup_a + 12 (s_a V + c_a) =
    setup_b + 12 (f_b + c_b) (the API has no floor, the custom model is still on its
    always-on floor there); the sentence says it compares totals with setup included."""
    study = make_study(
        result("api", "pretrained", n_wrong=40, throughput=float("nan"), api=API),
        result("cust", "custom", n_wrong=41, fit_s=10.0, throughput=5000.0),
    )
    scenario = Scenario.from_dict(
        {"volume": {"predictions_per_month": 1e5, "growth_per_month": 0.0}, "horizon_months": 12}
    )
    pricing = price(study, scenario)
    rec = decide(study, pricing)
    a, b = pricing.sheet("api"), pricing.sheet("cust")
    constant_a = a.retraining_usd_per_month + a.maintenance_usd_per_month
    constant_b = b.retraining_usd_per_month + b.maintenance_usd_per_month
    by_hand = (
        b.setup_usd - a.setup_usd + 12 * (b.fixed_serving_usd_per_month + constant_b - constant_a)
    ) / (12 * a.usd_per_million / 1e6)
    assert b.fixed_serving_usd_per_month > by_hand / 1e6 * b.usd_per_million  # still on the floor
    flip = next(f for f in rec.flip_points if f["kind"] == "volume")
    assert flip["value"] == pytest.approx(by_hand, rel=1e-6)
    assert "total cost over 12 months, setup included" in flip["text"]
    # The monthly lines cross elsewhere, and their sentence says it leaves setup out.
    monthly = next(x for x in pricing.break_evens if {x.a, x.b} == {"api", "cust"})
    assert monthly.volumes and monthly.volumes[0] != pytest.approx(by_hand, rel=1e-3)
    assert "(setup not included)" in monthly.describe()


def test_the_labels_flip_claims_only_the_budgets_measured() -> None:
    from crossover.evaluation.trials import Trial

    base = [
        result("pre", "pretrained", n_wrong=100),
        result("cust", "custom", n_wrong=10, fit_s=1.0),
    ]
    curve = []
    for budget, wrong in ((2, 160), (8, 100), (32, 30)):
        r = result("cust", "custom", n_wrong=wrong, n_train=budget * 4)
        r.trial = Trial(strategy="cust", budget=budget, split_id="s")
        curve.append(r)
    study = make_study(*base, *curve)
    study.settings["budgets"] = ["2", "8", "32", "full"]
    study.curves = study._compute_curves()
    rec = decide(study, price(study, Scenario()))
    assert rec.choice == "cust"
    flip = next(f for f in rec.flip_points if f["kind"] == "labels")
    at = flip["value"]
    assert at == 32
    assert "at 8 labels per class, the next budget measured below, it does not" in flip["text"]
    assert "as good" not in flip["text"]


def test_a_tie_is_not_given_to_a_slower_larger_model_by_the_default_engineering_days() -> None:
    """Tied: "tfidf" is faster, smaller and cheaper to run than "head" (all measured); "head"
    comes out cheaper over the horizon only through the default days by kind (hybrid 8 and
    1 a month against custom 10 and 1.5). By hand: the head's horizon total is lower by
    2 days + 24 x 0.5 days of engineering, its measured cost higher."""
    study = make_study(
        result("tfidf", "custom", n_wrong=40, throughput=9000.0, p95_ms=1.5, size_mb=67.0),
        result("head", "hybrid", n_wrong=38, offset=4, throughput=110.0, p95_ms=10.6, size_mb=92.0),
    )
    assert study.paired_delta("head", "tfidf")["significant"] is False
    pricing = price(study, Scenario())
    decider = _Decider(study, pricing)
    tfidf, head = pricing.sheet("tfidf"), pricing.sheet("head")
    day = tfidf.engineering_usd / 10
    assert pricing.horizon_usd("tfidf") - pricing.horizon_usd("head") == pytest.approx(
        (2 + 24 * 0.5) * day - (decider.measured_usd(head) - decider.measured_usd(tfidf))
    )
    assert pricing.horizon_usd("head") < pricing.horizon_usd("tfidf")
    # At 1M a month both run on the one instance always on: the same measured running cost.
    assert decider.measured_usd(tfidf) == pytest.approx(decider.measured_usd(head))
    rec = decide(study, pricing)
    assert rec.choice == "tfidf" and set(rec.tied) == {"tfidf", "head"}
    assert "head is set aside: tfidf is as fast, as small and as cheap to run" in rec.reasons[0]
    assert "only through crossover's default engineering days by kind" in rec.reasons[0]
    against = next(r for r in rec.reasons if r.startswith("Against head"))
    assert (
        f"costs ${pricing.horizon_usd('tfidf') - pricing.horizon_usd('head'):,.0f} more" in against
    )
    assert "costs the same to run (serving, training and labels, measured)" in against
    # At 500M a month the head's serving leaves the floor: tfidf is cheaper to run, by hand.
    busy = Scenario.from_dict({"volume": {"predictions_per_month": 5e8}})
    p500 = price(study, busy)
    head5, tfidf5 = p500.sheet("head"), p500.sheet("tfidf")
    by_hand = 24 * (head5.monthly_at(5e8) - tfidf5.monthly_at(5e8)) - 24 * (
        head5.maintenance_usd_per_month - tfidf5.maintenance_usd_per_month
    )
    d500 = _Decider(study, p500)
    assert d500.measured_usd(head5) - d500.measured_usd(tfidf5) == pytest.approx(by_hand)
    assert by_hand > 0 and decide(study, p500).choice == "tfidf"
    # A scenario with its own engineering days is the user's pricing: cost decides again.
    own = Scenario.from_dict(
        {"engineering": {"setup_days": {"pretrained": 3, "custom": 10, "hybrid": 8.5}}}
    )
    assert not own.engineering_assumed
    assert decide(study, price(study, own)).choice == "head"


def test_a_model_that_stores_next_to_nothing_is_under_1_mb_not_unmeasured() -> None:
    from crossover.recommend import _sizes

    assert _sizes(0.0, 0.2) == "a size under 1 MB each"
    assert _sizes(0.1, 30.0) == "a size of under 1 MB against 30 MB"
    assert _sizes(90.0, 30.0) == "a size of 90 MB against 30 MB (3.0x larger)"
    assert "not comparable: one is not measured" in _sizes(float("nan"), 30.0)
