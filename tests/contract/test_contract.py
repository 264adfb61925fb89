"""One contract suite over every registered strategy, of every task.

Parametrised from the registry (scikit-learn's ``parametrize_with_checks`` is the model): a new
strategy is tested by being registered. Each strategy is built, fitted and read through its
task's kit (``tests/contract/kits/``); a task without a kit fails here. The generic contract:
the declared attributes, ``__init__`` storing parameters only, ``predict`` before ``fit``
raising, ``fit`` returning ``self`` with valid answers, seeded determinism, the save/load round
trip without pickle, the footprint, and the distributions it requires. Then every check the
task's kit supplies, for every strategy it applies to. A strategy that cannot run on this
machine (TabPFN without its package) is skipped with its own reason where it would have to fit.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossover import tasks
from crossover.errors import ModelError
from crossover.strategies import Registry, Strategy, registry
from tests.contract.kits import KITS, Case, Check, check_params, kit_for
from tests.contract.kits.base import assert_same_outputs
from tests.llm.conftest import (  # noqa: F401  (the fixtures, for the strategies behind an API)
    fake_openai,
    served_embeddings,
)

KEYS = registry.keys()
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


def _api_params(
    cls: type[Strategy],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """For a model behind an API (``is_api``): a local OpenAI-compatible test server; for an
    embedding model behind an API (it takes ``api_model``): ``crossover serve``."""
    if not cls.is_api:
        return {}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-contract-suite")
    if "api_model" in cls._param_names():
        served = request.getfixturevalue("served_embeddings")
        return {
            "api_model": served.api_model,
            "api_base": served.base_url,
            "input_usd_per_mtok": 0.0,
            "cache_dir": str(tmp_path_factory.getbasetemp() / "api-embedding-cache"),
        }
    server = request.getfixturevalue("fake_openai")
    return {
        "llm": "openai/good",
        "api_base": server.base_url,
        "input_usd_per_mtok": 0.0,
        "output_usd_per_mtok": 0.0,
        "cache_dir": str(tmp_path_factory.getbasetemp() / "llm-cache"),
    }


@pytest.fixture(scope="module")
def fitted_cache() -> dict[str, Strategy]:
    """Each strategy fitted once on its kit's data, shared by the tests that only read it."""
    return {}


@pytest.fixture
def case(
    key: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    fitted_cache: dict[str, Strategy],
) -> Case:
    cls = registry.get(key)
    api = _api_params(cls, request, monkeypatch, tmp_path_factory)
    case = Case(key, registry, monkeypatch, tmp_path, api, fitted_cache)
    kit = KITS.get(cls.task)
    if kit is not None and kit.prepare is not None:
        kit.prepare(case)
    return case


# -- the generic contract -----------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_strategy_declares_contract_attributes(key: str) -> None:
    cls = registry.get(key)
    kit = kit_for(cls.task)
    assert cls.key == key and cls.key.startswith(kit.key_prefix)
    assert cls.task in tasks.names()
    assert cls.kind in {"pretrained", "custom", "hybrid"}
    assert isinstance(cls.summary, str) and cls.summary
    assert cls.input_kind == kit.input_kind


@pytest.mark.parametrize("key", KEYS)
def test_strategy_init_only_stores_parameters(case: Case) -> None:
    strategy = case.build()
    params = strategy.get_params()
    assert type(strategy)(**params).get_params() == params
    assert not [name for name in vars(strategy) if name.endswith("_")]


@pytest.mark.parametrize("key", KEYS)
def test_strategy_predict_before_fit_raises(case: Case) -> None:
    unfitted = case.build()
    with pytest.raises(ModelError, match="not fitted"):
        unfitted.predict(case.kit.unfitted_input(case.data))


@pytest.mark.parametrize("key", KEYS)
def test_strategy_fit_returns_self_and_predicts(case: Case) -> None:
    case.skip_if_unavailable()
    strategy = case.build()
    assert case.kit.fit(strategy, case.data) is strategy
    case.kit.check_predictions(case, strategy)


@pytest.mark.parametrize("key", KEYS)
def test_strategy_same_seed_same_outputs(case: Case) -> None:
    # A seed other than the default, where the strategy takes one.
    seed = {"random_state": 3} if "random_state" in case.cls._param_names() else {}
    first = case.kit.outputs(case.fit_new(**seed), case.data)
    second = case.kit.outputs(case.fit_new(**seed), case.data)
    assert_same_outputs(first, second)


@pytest.mark.parametrize("key", KEYS)
def test_strategy_save_load_round_trip_without_pickle(case: Case) -> None:
    strategy = case.fitted()
    saved = strategy.save(case.tmp_path / "model")
    assert not [p for p in saved.rglob("*") if p.suffix in PICKLE_SUFFIXES]
    assert json.loads((saved / "strategy.json").read_text())["key"] == case.key
    loaded = Strategy.load(saved)
    assert type(loaded) is type(strategy)
    # Parameters survive as JSON does (a tuple comes back as a list).
    assert loaded.get_params() == json.loads(json.dumps(strategy.get_params()))
    kit = case.kit
    assert_same_outputs(
        kit.outputs(loaded, case.data),
        kit.outputs(strategy, case.data),
        rtol=kit.round_trip_rtol,
        atol=kit.round_trip_atol,
    )


@pytest.mark.parametrize("key", KEYS)
def test_strategy_footprint_reports_size_and_parameters(case: Case) -> None:
    footprint = case.fitted().footprint()
    assert footprint["state_bytes"] > 0
    # Megabytes to three decimals: a model that keeps only its settings (a forecaster fitted
    # per series when it forecasts) holds a few hundred bytes and reads 0.0.
    total_bytes = footprint["state_bytes"] + footprint["base_model_bytes"]
    assert footprint["size_mb"] == round(total_bytes / 1e6, 3)
    assert isinstance(footprint["parameters"], int) and footprint["parameters"] >= 0
    assert footprint["device"] == "cpu"


@pytest.mark.parametrize("key", KEYS)
def test_strategy_requirements_name_installed_distributions(case: Case) -> None:
    case.skip_if_unavailable()
    names = case.build().requirements()
    assert names and names == sorted(set(names))

    def installed(name: str) -> bool:
        try:
            distribution(name)
        except PackageNotFoundError:
            return False
        return True

    assert [name for name in names if not installed(name)] == []


# -- the checks each task supplies --------------------------------------------------------------


@pytest.mark.parametrize(("key", "check"), check_params(registry))
def test_strategy_meets_its_task_check(case: Case, check: Check) -> None:
    if check.needs_fit:
        case.skip_if_unavailable()
    check.run(case)


# -- a task without a kit -----------------------------------------------------------------------


class _Orphan(Strategy):
    key = "orphan.constant"
    kind = "custom"
    task = "orphan-task"
    summary = "a strategy of a task that has no contract kit"

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        pass

    def _predict(self, X: list[str]) -> np.ndarray:
        return np.array([self.classes_[0]] * len(X), dtype=object)


def test_a_task_without_a_kit_fails_saying_where_to_supply_one() -> None:
    with pytest.raises(
        pytest.fail.Exception,
        match=r"'orphan-task' .* must supply a contract kit in tests/contract/kits/",
    ):
        kit_for(_Orphan.task)


def test_a_registered_strategy_whose_task_has_no_kit_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    local = Registry()  # never the global registry: no fake strategy is left behind
    local.register(_Orphan)
    (param,) = check_params(local)
    assert param.id == "orphan.constant-contract_kit"
    key, check = param.values
    orphan = Case(key, local, monkeypatch, tmp_path)
    message = r"task 'orphan-task' .* must supply a contract kit in tests/contract/kits/"
    with pytest.raises(pytest.fail.Exception, match=message):
        check.run(orphan)
    with pytest.raises(pytest.fail.Exception, match=message):
        orphan.build()  # what every generic test does first
