"""The package's modules import one another without a circle, counting the imports inside functions too."""

from __future__ import annotations

import ast

from hybridlib.paths import project_root


def package_imports() -> dict[str, set[str]]:
    """Each module of ``hybridlib`` -> the package modules it imports anywhere in its source."""
    folder = project_root() / "hybridlib"
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "__main__"}
    graph: dict[str, set[str]] = {}
    for name in modules:
        found: set[str] = set()
        for node in ast.walk(ast.parse((folder / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 0 and not (node.module or "").startswith("hybridlib"):
                    continue
                base = (node.module or "").removeprefix("hybridlib").lstrip(".") if node.level == 0 else node.module
                found |= {base.split(".")[0]} if base else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("hybridlib.")}
        graph[name] = (found & modules) - {name}
    return graph


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
    graph = package_imports()
    assert {"train", "validation", "comparison", "data", "pairs"} <= set(graph)
    assert "validation" in graph["train"] and "train" in graph["comparison"], "the parser sees relative imports"
    assert circles(graph) == []
