import crossover


def test_public_api_all_is_sorted_and_complete() -> None:
    assert crossover.__all__ == sorted(crossover.__all__)
    for name in crossover.__all__:
        assert hasattr(crossover, name), name
    assert {"compare", "load_study", "Study", "Strategy", "registry"} <= set(crossover.__all__)


def test_every_public_name_comes_from_its_module() -> None:
    import importlib

    for name, source in crossover._SOURCES.items():
        assert name in crossover.__all__, name
        assert getattr(crossover, name) is getattr(importlib.import_module(source), name)
    assert set(crossover.__all__) == {*crossover._SOURCES, "__version__"}


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = crossover.nothing_here  # type: ignore[attr-defined]
