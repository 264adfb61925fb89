"""Shared fixtures: an isolated embedding cache, offline hub, small data sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The 64-d static model from the tokenlearn-static-model package: fast enough for unit tests.
FAST_MODEL = "tokenlearn/static-model-64d"


@pytest.fixture(autouse=True, scope="session")
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never touch the user's cache and never reach the hub."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CROSSOVER_CACHE_DIR", str(tmp_path_factory.mktemp("crossover-cache")))
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    yield
    mp.undo()


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; skips the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data sets are not on this machine)")
    return path


_TOPICS = {
    "refund_request": [
        "I want my money back for order {n}",
        "please refund the {item}, it is not what I wanted",
        "how long does a refund take? still waiting on {n}",
        "refund me for the {item} asap",
        "can I get a refund for the broken {item}",
        "where is my refund for {n}, it has been two weeks",
    ],
    "login_access": [
        "I cannot log in to my account since yesterday",
        "password reset email never arrives for {n}",
        "my account is locked after too many attempts",
        "the two factor code does not work when I sign in",
        "forgot my password, help me get into the app",
        "sign in keeps failing with my email {n}",
    ],
    "delivery_status": [
        "where is my parcel {n}? tracking has not moved",
        "my {item} was supposed to arrive on monday",
        "the delivery of order {n} is late",
        "tracking says delivered but no {item} here",
        "when will my {item} ship?",
        "courier has not shown up with {n}",
    ],
}
_ITEMS = ["oak table", "linen duvet", "mug set", "lamp", "rug", "kettle"]


def make_tickets(n_per_class: int = 12) -> pd.DataFrame:
    """A small three-class ticket table with varied, not identical, texts."""
    rows = []
    for label, patterns in _TOPICS.items():
        for i in range(n_per_class):
            pattern = patterns[i % len(patterns)]
            text = pattern.format(n=f"#NW-{1000 + 37 * i}", item=_ITEMS[i % len(_ITEMS)])
            rows.append({"text": text, "label": label})
    return pd.DataFrame(rows)


@pytest.fixture
def tickets() -> pd.DataFrame:
    return make_tickets()


@pytest.fixture
def tickets_csv(tmp_path: Path, tickets: pd.DataFrame) -> Path:
    path = tmp_path / "tickets.csv"
    tickets.to_csv(path, index=False)
    return path
