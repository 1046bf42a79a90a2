"""Minimal pytrees: nested tuples, lists and dicts of leaves (arrays, Duals, numbers, None)."""
from __future__ import annotations

from typing import Any


def _is_node(x) -> bool:
    return isinstance(x, (tuple, list, dict))


def flatten(tree) -> tuple[list, Any]:
    """Leaves in order and a description of the structure (for ``unflatten``)."""
    leaves: list = []

    def walk(node):
        if isinstance(node, dict):
            return (dict, tuple(node), tuple(walk(node[key]) for key in node))
        if isinstance(node, (tuple, list)):
            return (type(node), None, tuple(walk(child) for child in node))
        leaves.append(node)
        return None

    return leaves, walk(tree)


def unflatten(treedef, leaves):
    """Rebuild a tree of the structure ``treedef`` from ``leaves`` (in ``flatten``'s order)."""
    it = iter(leaves)

    def build(node):
        if node is None:
            return next(it)
        kind, keys, children = node
        built = [build(child) for child in children]
        if kind is dict:
            return dict(zip(keys, built))
        if kind is tuple or kind is list:
            return kind(built)
        if hasattr(kind, "_fields"):          # namedtuple
            return kind(*built)
        return kind(built)

    return build(treedef)


def flatten_like(treedef, tree, what: str) -> list:
    """Leaves of ``tree`` matched to the structure ``treedef``; a None subtree stands for all-None leaves."""
    leaves: list = []

    def walk(node, sub, path):
        if node is None:
            leaves.append(sub)
            return
        kind, keys, children = node
        if sub is None:
            for child in children:
                walk(child, None, path)
            return
        if kind is dict:
            if not isinstance(sub, dict) or set(sub) != set(keys):
                got = f" with keys {sorted(sub)}" if isinstance(sub, dict) else ""
                raise ValueError(f"{what}: expected a dict with keys {sorted(keys)} at {path or 'the top'}, "
                                 f"got {type(sub).__name__}{got}")
            for key, child in zip(keys, children):
                walk(child, sub[key], f"{path}[{key!r}]")
            return
        if not isinstance(sub, (tuple, list)) or len(sub) != len(children):
            got = f" of length {len(sub)}" if isinstance(sub, (tuple, list)) else ""
            raise ValueError(f"{what}: expected a sequence of {len(children)} entries at {path or 'the top'}, "
                             f"got {type(sub).__name__}{got}")
        for n, (child, s) in enumerate(zip(children, sub)):
            walk(child, s, f"{path}[{n}]")

    walk(treedef, tree, "")
    return leaves


def leaf_paths(treedef) -> list[str]:
    """A readable path for every leaf, in ``flatten``'s order (for error messages)."""
    paths: list[str] = []

    def walk(node, path):
        if node is None:
            paths.append(path or "the value")
            return
        kind, keys, children = node
        for n, child in enumerate(children):
            walk(child, f"{path}[{keys[n]!r}]" if kind is dict else f"{path}[{n}]")

    walk(treedef, "")
    return paths
