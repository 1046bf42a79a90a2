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


# ----- the searches (dualgrad experiment lr-search) -------------------------------------------------------------
def test_the_selection_rule_takes_the_centre_of_the_near_best_runs():
    from dualgrad.experiments.lr_search import select
    rates = [1e-3, 1e-2, 1e-1, 1.0]
    assert select(rates, [0.50, 0.21, 0.20, 0.40]) == 1e-2       # 0.21 and 0.20 within 5%: the log-centre's nearer
    with pytest.raises(ValueError, match="every trial diverged"):
        select(rates, [math.inf] * 4)
    barely = [2.3025, 2.3020, 2.2990, 2.2900]                    # untrained 2.3026: every loss within 5% of the best
    assert select(rates, barely) == 1e-2 and select(rates, barely, start=2.3026) == 1.0


def test_the_base_search_starts_from_the_papers_values_through_the_rule():
    from dualgrad.experiments.lr_search import paper_start
    assert paper_start("fcnet", 256) == pytest.approx(table_rates("fc_nns", "mnist", fc_n))
    bp, base = paper_start("resnet", 8)
    assert bp == pytest.approx(0.1) and base == pytest.approx(0.00922, rel=1e-2)
    assert paper_start("vit", 8)[1] == pytest.approx(0.00471, rel=1e-2)
    with pytest.raises(ValueError, match="--start"):
        paper_start("lenet5", 8)


def test_the_base_search_extends_its_grid_while_the_pick_is_on_an_edge(monkeypatch):
    """A fake training run whose loss is lowest at 30x the start: the grid grows upwards to reach it."""
    from dualgrad.experiments import lr_search
    start = (0.1, 0.01)

    def fake(job):
        if job.approach == "bp":
            rate, optimum = job.lr, start[0]
        else:
            rate, optimum = job.lr / scale(*approaches.configuration(job.approach, job.k)[1:], 554), 30 * start[1]
        return 2.3 - 1 / (1 + math.log10(rate / optimum) ** 2), 2.3026
    monkeypatch.setattr(lr_search, "_losses", fake)
    monkeypatch.setattr(lr_search, "num_activities", lambda net, shape: 554)
    picks, trials = lr_search.search_base("vit", 8, "digits", start, epochs=1, workers=1, progress=False)
    assert picks["bp"] == pytest.approx(0.1)
    assert picks["base"] == pytest.approx(start[1] * 10 ** 1.5)     # the nearest grid point to 30x
    assert max(t["rate"] for t in trials if t["kind"] == "base") == pytest.approx(start[1] * 10 ** 2)
