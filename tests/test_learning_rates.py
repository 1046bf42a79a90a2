"""learning_rates: the scale rule, the defaults from lrs/base.csv, and where the base rates come from."""
import math

import numpy as np
import pytest

from dualgrad import approaches
from dualgrad.data import LOADERS
from dualgrad.estimators import aggregate, sample_tangents, theory
from dualgrad.learning_rates import BASE_LR, BP_LR, base_rates, default_lr, load_table, scale, table_rates
from dualgrad.recipes import MODELS, build_model


def fc_n(task):
    return 2 * int(task.split("=")[1]) + 10             # fc_w=256 -> 2W + 10 activities per sample


@pytest.mark.parametrize("n, k", [(522, 1), (522, 16), (8202, 4), (64, 64), (64, 100)])
def test_scale_is_one_over_the_rms_length_of_the_estimate(n, k):
    assert scale("mean", k, n) == pytest.approx(math.sqrt(k / (n + k + 1)))
    assert scale("projection", k, n) == pytest.approx(math.sqrt(n / k) if k < n else 1.0)
    assert scale("frog", k, n) == scale("projection", k, n) and scale("fg-mean", k, n) == scale("mean", k, n)


def test_scaled_steps_have_the_same_rms_length_for_every_estimator():
    """Monte-Carlo: ‖scale · ĝ‖ averages to ‖∇f‖ for mean and projection at any k (the rule's promise)."""
    rng = np.random.default_rng(0)
    n, grad = 50, np.ones(50)
    for method in ("mean", "projection"):
        for k in (1, 4, 16):
            lengths = [np.sum(aggregate(V, V @ grad, method) ** 2) for V in
                       (sample_tangents(k, n, "normal", rng) for _ in range(3000))]
            assert scale(method, k, n) * math.sqrt(np.mean(lengths)) == pytest.approx(math.sqrt(n), rel=0.05)


def test_aggregations_without_theory_take_fgs_scale():
    assert scale("max", 16, 522) == scale("mean", 1, 522) == scale("fg", 1, 522)


def test_the_rule_collapses_the_papers_tuned_rates_to_one_base_rate_per_dataset():
    """The paper's FC-net rates on MNIST span 7e-5 … 0.46 over k and widths; divided by the scale they agree
    within a factor of 5 (and the digits table within 5 as well): one base rate serves every k and width."""
    for table in ("fc_nns", "digits"):
        rows = [r for r in load_table(table) if r["approach"] != "bp"]
        raw = [r["lr"] for r in rows]
        based = [r["lr"] / scale(approaches.get(approaches.from_paper(r["approach"], r["k"])).aggregation, r["k"],
                                 fc_n(r["task"])) for r in rows]
        assert max(raw) / min(raw) > 1000 and max(based) / min(based) < 5


def test_base_rates_of_the_fc_net_are_the_tuned_tables_through_the_rule():
    rates = base_rates()
    for table, dataset in (("fc_nns", "mnist"), ("digits", "digits")):
        bp, base = table_rates(table, dataset, fc_n)
        assert rates["fcnet", dataset]["bp"] == pytest.approx(bp, rel=1e-3)
        assert rates["fcnet", dataset]["base"] == pytest.approx(base, rel=1e-3)


def test_every_base_rate_row_names_a_model_and_a_dataset():
    for model, dataset in base_rates():
        assert model in MODELS and dataset in LOADERS


@pytest.mark.parametrize("approach, k", [("bp", None), ("fg", 1), ("mean", 16), ("frog", 2), ("frog", 16)])
def test_default_lr_is_bp_or_the_base_rate_times_the_scale(approach, k):
    grad, method, kk = approaches.configuration(approach, k)
    lr, source = default_lr("fcnet", "digits", grad, method, kk, 2058)
    rates = base_rates()["fcnet", "digits"]
    expected = rates["bp"] if approach == "bp" else rates["base"] * scale(method, kk, 2058)
    assert lr == pytest.approx(expected) and source.startswith("lrs/base.csv")


def test_without_a_row_the_untuned_defaults_apply():
    assert default_lr("lenet5", "cifar10", "exact", "projection", 1, 999) == (BP_LR, "untuned: bp")
    lr, source = default_lr("lenet5", "cifar10", "activity", "projection", 4, 999)
    assert lr == pytest.approx(BASE_LR * math.sqrt(999 / 4)) and source.startswith("untuned")


def test_frog_over_mean_is_about_n_over_k():
    """The rule keeps the paper's lr_frog ≈ (n/k)·lr_mean (docs/estimators.md §5)."""
    for n, k in ((522, 2), (2058, 16), (17258, 16)):
        ratio = scale("projection", k, n) / scale("mean", k, n)
        assert ratio == pytest.approx(n / k, rel=(k + 1) / n)


def test_theory_and_scale_agree_on_the_squared_norm():
    assert scale("sum", 4, 100) == pytest.approx(1 / math.sqrt(theory.expected_squared_norm_ratio(100, 4, "sum")))


def test_build_model_names_the_choices_on_a_typo():
    with pytest.raises(ValueError, match="fcnet"):
        build_model("mlp", (1, 8, 8), 10, rng=np.random.default_rng(0))
