"""The shapes of a contract kit: ``Kit`` (what a task supplies), ``Check`` (one task-specific
assertion) and ``Case`` (one registered strategy under test, handed to every check).

The generic contract (``tests/contract/test_contract.py``) knows nothing of any task: it builds,
fits and reads a strategy only through its task's ``Kit``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from crossover.strategies import Strategy

if TYPE_CHECKING:
    from crossover.strategies import Registry

__all__ = ["Case", "Check", "Kit", "assert_same_outputs"]

#: The example data of each task, built once per test session (tests only read it).
_DATA: dict[str, Any] = {}


def _always(cls: type[Strategy]) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    """One assertion a task asks of each of its strategies.

    Parameters
    ----------
    name : str
        Says what holds, e.g. ``missing_input_column_is_named``; the test id ends with it.
    run : callable
        Takes the ``Case``; fails with an assertion when the strategy breaks the rule.
    applies : callable, default=always
        Which strategy classes the rule is for (e.g. those that need labels); the others get
        no test.
    needs_fit : bool, default=True
        False for a rule about the class alone: it is asked even of a strategy that cannot run
        here (``unavailable_reason``).
    known_gaps : mapping of str to str, default={}
        Strategy key -> why it breaks the rule today. Its test is a strict ``xfail``: it fails
        the suite once the strategy is fixed, so the entry is removed then.
    """

    name: str
    run: Callable[[Case], None]
    applies: Callable[[type[Strategy]], bool] = _always
    needs_fit: bool = True
    known_gaps: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Kit:
    """Everything the contract suite needs to know of one task.

    Parameters
    ----------
    task : str
        The task's name, as strategies declare it in ``task``.
    key_prefix : str
        Every key of the task's strategies starts with it (``text.``).
    input_kind : str
        The ``input_kind`` every strategy of the task declares.
    make_data : callable
        Builds the example data (called once per session; see ``data``).
    params : callable
        Constructor arguments for a strategy class under test (a fast model, small sizes).
    fit : callable
        ``fit(strategy, data)``: fits and returns what ``strategy.fit`` returned.
    unfitted_input : callable
        ``unfitted_input(data)``: an input for ``predict`` on a strategy not fitted yet.
    outputs : callable
        ``outputs(strategy, data)``: what the fitted strategy answers on the test inputs, by
        name; two strategies that should behave alike give equal outputs.
    check_predictions : callable
        ``check_predictions(case, strategy)``: what makes the answers of a fitted strategy valid
        for the task (labels it knows, probabilities that sum to one, k unseen items...).
    round_trip_rtol, round_trip_atol : float, default=0.0
        How far a floating output may move through ``save`` and ``load``.
    checks : tuple of Check
        The task's own rules, each asked of every strategy of the task it applies to.
    prepare : callable or None, default=None
        ``prepare(case)``: run before each test of a strategy of the task, with the test's
        ``monkeypatch`` and ``tmp_path`` (e.g. a Hugging Face cache holding a tiny model for
        a strategy whose weights are not on this machine).
    """

    task: str
    key_prefix: str
    input_kind: str
    make_data: Callable[[], Any]
    params: Callable[[type[Strategy]], dict[str, Any]]
    fit: Callable[[Strategy, Any], Strategy]
    unfitted_input: Callable[[Any], Any]
    outputs: Callable[[Strategy, Any], dict[str, Any]]
    check_predictions: Callable[[Case, Strategy], None]
    round_trip_rtol: float = 0.0
    round_trip_atol: float = 0.0
    checks: tuple[Check, ...] = ()
    prepare: Callable[[Case], None] | None = None

    def data(self) -> Any:
        """The task's example data, built on first use and shared by every test after."""
        if self.task not in _DATA:
            _DATA[self.task] = self.make_data()
        return _DATA[self.task]

    def build(self, cls: type[Strategy], **overrides: Any) -> Strategy:
        """A strategy of ``cls`` with the test settings; ``overrides`` win."""
        return cls(**{**self.params(cls), **overrides})


@dataclass
class Case:
    """One registered strategy under test.

    ``kit`` is looked up when first read, so that a strategy whose task has no kit fails in the
    test body with the message of ``kit_for``.
    """

    key: str
    registry: Registry
    monkeypatch: pytest.MonkeyPatch
    tmp_path: Path
    #: Constructor arguments pointing a model behind an API at a local test server.
    api_params: dict[str, Any] = field(default_factory=dict)
    #: Fitted strategies by key, shared by the tests of a module (as a module fixture would).
    fitted_cache: dict[str, Strategy] = field(default_factory=dict)

    @property
    def cls(self) -> type[Strategy]:
        return self.registry.get(self.key)

    @property
    def kit(self) -> Kit:
        from tests.contract.kits import kit_for

        return kit_for(self.cls.task)

    @property
    def data(self) -> Any:
        return self.kit.data()

    def skip_if_unavailable(self) -> None:
        reason = self.cls.unavailable_reason()
        if reason is not None:
            pytest.skip(f"{self.key} is unavailable here: {reason}")

    def build(self, **overrides: Any) -> Strategy:
        """A new, unfitted strategy with the kit's test settings (and the API's, if any)."""
        return self.kit.build(self.cls, **{**self.api_params, **overrides})

    def fit_new(self, **overrides: Any) -> Strategy:
        """A new strategy fitted on the kit's data (skips one unavailable here)."""
        self.skip_if_unavailable()
        return self.kit.fit(self.build(**overrides), self.data)

    def fitted(self) -> Strategy:
        """The strategy fitted on the kit's data once, then shared; do not mutate it."""
        if self.key not in self.fitted_cache:
            self.fitted_cache[self.key] = self.fit_new()
        return self.fitted_cache[self.key]


def assert_same_outputs(
    first: dict[str, Any], second: dict[str, Any], *, rtol: float = 0.0, atol: float = 0.0
) -> None:
    """Equal outputs: floating arrays within ``rtol`` / ``atol`` (exact by default), the
    rest exactly."""
    assert first.keys() == second.keys()
    for name, a in first.items():
        b = second[name]
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=name)
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            assert a == b, name
