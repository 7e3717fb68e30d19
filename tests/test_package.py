"""The package's modules import one another without a circle, counting the imports inside functions too."""

from __future__ import annotations

from .test_layers import imports


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle of ``graph``, each as the path that closes it, smallest module first."""
    found = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                found.append(path + [start])
            elif nxt > start and nxt not in path:
                walk(start, nxt, path + [nxt])

    for module in sorted(graph):
        walk(module, module, [module])
    return found


def test_the_checker_finds_a_circle_it_is_given():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_circle():
    graph = imports()
    assert {"hybridlib.training.train", "hybridlib.scoring.validation", "hybridlib.data"} <= set(graph)
    assert "hybridlib.scoring.validation" in graph["hybridlib.training.train"], "the parser sees deferred imports"
    assert "hybridlib.models.runs" in graph["hybridlib.analysis.comparison"]
    assert circles(graph) == []
