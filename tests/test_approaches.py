"""dualgrad.approaches: one table of the paper's approaches, and every place that takes a method name agrees."""
import ast
import pathlib

import numpy as np
import pytest

import dualgrad
from dualgrad import approaches
from dualgrad.estimators import aggregate, forward_gradient, sample_tangents, theory
from dualgrad.gradients import make_gradient_source


def test_the_table_has_the_papers_four_approaches():
    assert tuple(approaches.APPROACHES) == ("bp", "fg", "mean", "frog")
    assert approaches.get("bp").exact and approaches.get("fg").k == 1
    assert {a.aggregation for a in approaches.APPROACHES.values()} == {None, "mean", "projection"}
    with pytest.raises(ValueError, match="bp"):
        approaches.get("adam")


@pytest.mark.parametrize("name, k", [("bp", None), ("fg", 1), ("mean", 4), ("frog", 16)])
def test_configuration_and_approach_of_are_inverse(name, k):
    grad, method, kk = approaches.configuration(name, k)
    assert approaches.approach_of(grad, method, kk) == name
    assert approaches.from_paper(approaches.get(name).paper, kk if name != "bp" else None) == name


def test_labels_and_pairs_follow_the_table():
    assert [approaches.label(a, k) for a, k in approaches.pairs(("frog", "bp", "fg", "mean"), (16, 2))] == [
        "bp", "fg", "mean k=2", "mean k=16", "frog k=2", "frog k=16"]
    with pytest.raises(ValueError, match="unknown approaches"):
        approaches.pairs(("sgd",), (2,))


def test_fg_means_one_tangent_everywhere():
    """fg is the mean of ONE tangent: estimators, gradient sources and theory all refuse fg with k > 1."""
    rng = np.random.default_rng(0)
    V = sample_tangents(16, 8, "normal", rng)
    with pytest.raises(ValueError, match="ONE tangent"):
        aggregate(V, V @ np.ones(8), "fg")
    with pytest.raises(ValueError, match="ONE tangent"):
        forward_gradient(lambda x: np.sum(x * x), np.ones(8), k=16, method="fg", rng=rng)
    with pytest.raises(ValueError, match="ONE tangent"):
        make_gradient_source("activity", method="fg", k=16)
    with pytest.raises(ValueError, match="ONE tangent"):
        theory.expected_cosine(64, 16, "fg")
    v = V[:1]
    assert np.array_equal(aggregate(v, v @ np.ones(8), "fg"), aggregate(v, v @ np.ones(8), "mean"))


@pytest.mark.parametrize("alias, method", sorted(approaches.METHOD_ALIASES.items()))
def test_every_alias_means_the_same_in_aggregate_and_theory(alias, method):
    rng = np.random.default_rng(1)
    k = 1 if alias == "fg" else 4
    V = sample_tangents(k, 32, "normal", rng)
    d = V @ np.arange(32.0)
    assert np.array_equal(aggregate(V, d, alias), aggregate(V, d, method))
    assert theory.expected_cosine(32, k, alias) == theory.expected_cosine(32, k, method)
    assert make_gradient_source("activity", method=alias, k=k).method == method


def test_no_module_defines_its_own_aliases():
    """The paper's names appear as string constants only in dualgrad/approaches.py (one table)."""
    names = {"fg-mean", "orthogonal_projection"}
    root = pathlib.Path(dualgrad.__file__).parent
    for path in root.rglob("*.py"):
        if path.name == "approaches.py":
            continue
        constants = {node.value for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not constants & names, f"{path.relative_to(root)} defines {constants & names}"
