"""No import cycles among Dolium's modules, imports under TYPE_CHECKING included.

The layer contracts (import-linter) keep the packages in order; this keeps
modules within a package from leaning on each other in a circle, which a
TYPE_CHECKING import would otherwise hide from Python but not from a reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import grimp


def cycles(modules: Iterable[str], imports: Callable[[str], Iterable[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in imports(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_the_finder_sees_a_cycle() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert cycles(graph, graph.__getitem__) == [["a", "b", "c"]]


def test_dolium_has_no_import_cycles() -> None:
    graph = grimp.build_graph("dolium", exclude_type_checking_imports=False)
    assert cycles(graph.modules, graph.find_modules_directly_imported_by) == []
