import crossover


def test_public_api_all_is_sorted_and_complete() -> None:
    assert crossover.__all__ == sorted(crossover.__all__)
    for name in crossover.__all__:
        assert hasattr(crossover, name), name
    assert {"compare", "load_study", "Study", "Strategy", "registry"} <= set(crossover.__all__)
