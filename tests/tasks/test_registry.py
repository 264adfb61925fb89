"""Tasks by name: listed without importing them, each imported on first use, plugins refused
when they shadow a built-in."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from crossover import tasks
from crossover.errors import ConfigError


def test_names_lists_the_built_in_tasks_first() -> None:
    assert tasks.names()[:3] == ["text-classification", "tabular-classification", "recommendation"]


def test_naming_the_tasks_imports_none_of_them() -> None:
    code = (
        "import json, sys\nfrom crossover import tasks\ntasks.names()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('crossover.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m.startswith("crossover.tasks.")] == []
    assert not [m for m in loaded if m.startswith("crossover.evaluation")]


def test_get_returns_each_task_by_its_name() -> None:
    for name in tasks.names():
        task = tasks.get(name)
        assert task.name == name and task is tasks.get(name)
    assert isinstance(tasks.get("recommendation"), tasks.Task)


def test_an_unknown_task_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown task 'images'; known tasks: text-classif"):
        tasks.get("images")


def _plugin(name: str, value: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, value=value)


def test_a_plugin_task_is_found_by_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    from crossover.tasks.text.task import TASK

    plugged = _plugin("text-classification-copy", "tests.tasks.test_registry:PLUGGED")
    monkeypatch.setattr(tasks, "entry_points", lambda group: [plugged])
    monkeypatch.setitem(globals(), "PLUGGED", tasks.Task(**{**vars(TASK), "name": plugged.name}))
    assert plugged.name in tasks.names()
    assert tasks.get(plugged.name).name == plugged.name
    monkeypatch.delitem(tasks._loaded, plugged.name)


def test_a_plugin_may_not_shadow_a_built_in_task(monkeypatch: pytest.MonkeyPatch) -> None:
    shadow = _plugin("recommendation", "somewhere:TASK")
    monkeypatch.setattr(tasks, "entry_points", lambda group: [shadow])
    with pytest.raises(ConfigError, match="a built-in task; give it another name"):
        tasks.names()


def test_a_plugin_that_is_not_its_task_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = _plugin("forecasting-x", "crossover.tasks.text.task:TASK")
    monkeypatch.setattr(tasks, "entry_points", lambda group: [wrong])
    with pytest.raises(ConfigError, match="is not the Task called 'forecasting-x'"):
        tasks.get("forecasting-x")


def test_every_task_explains_its_headline_and_metrics_in_its_glossary() -> None:
    import re

    for name in tasks.names():
        task = tasks.get(name)
        named = [*task.metrics, task.headline]
        for metric in named:
            key = re.sub(r"_at_\d+$", "_at_k", metric)
            assert task.glossary.get(key), f"{name}: {metric} is not in its glossary"
