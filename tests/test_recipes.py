"""recipes.default_lr: the order of its sources (dataset table, the paper's MNIST table, width transfer, rule)."""
import pytest

from dualgrad.experiments.lrs import lr_for
from dualgrad.recipes import BASE_LR, build_model, default_lr

ACTIVITY = {"bp": ("exact", "projection", 1), "fg": ("activity", "mean", 1), "mean": ("activity", "mean", 16),
            "frog": ("activity", "projection", 16)}


@pytest.mark.parametrize("approach", sorted(ACTIVITY))
def test_a_tuned_width_takes_its_table_value(approach):
    grad, method, k = ACTIVITY[approach]
    lr, source = default_lr("fcnet", 1024, "digits", grad, method, k, 2058)
    assert lr == lr_for("digits", "fcnet_w=1024", approach=approach, k=k) and source == "lrs/digits.csv (table)"
    lr, source = default_lr("fcnet", 4096, "mnist", grad, method, k, 8202)
    assert lr == lr_for("fc_nns", "fc_w=4096", approach=approach, k=k, dataset="mnist")
    assert source == "lrs/fc_nns.csv (table)"


@pytest.mark.parametrize("approach", sorted(ACTIVITY))
def test_an_untuned_width_scales_the_nearest_tuned_one_by_the_papers_width_ratio(approach):
    """W = 4096 on digits: ours at W = 1024 (the nearest in log W) × the paper's lr(4096)/lr(1024)."""
    grad, method, k = ACTIVITY[approach]
    lr, source = default_lr("fcnet", 4096, "digits", grad, method, k, 8202)
    ratio = (lr_for("fc_nns", "fc_w=4096", approach=approach, k=k, dataset="mnist")
             / lr_for("fc_nns", "fc_w=1024", approach=approach, k=k, dataset="mnist"))
    assert lr == pytest.approx(lr_for("digits", "fcnet_w=1024", approach=approach, k=k) * ratio, rel=1e-12)
    assert source == "lrs/digits.csv W=1024 × fc_nns.csv W=4096/W=1024"


def test_without_any_table_value_the_contraction_rule_applies():
    n, k = 1034, 16                                     # W = 512: tuned neither by us nor by the paper
    assert default_lr("fcnet", 512, "digits", "activity", "mean", k, n) == (
        BASE_LR * k / (n + k + 1), f"rule lr_bp·k/(n+k+1) with n = {n}")
    assert default_lr("fcnet", 512, "digits", "activity", "projection", k, n)[0] == BASE_LR * n / (n + k + 1)
    assert default_lr("fcnet", 4096, "fashion-mnist", "exact", "projection", 1, 8202) == (BASE_LR, "base learning rate")
    # the tables were tuned for activity perturbation: weight perturbation and other models use the rule
    assert default_lr("fcnet", 256, "digits", "weight", "mean", 4, 10_000)[1].startswith("rule")
    assert default_lr("lenet5", 256, "digits", "activity", "projection", 4, 999)[1].startswith("rule")


def test_build_model_names_the_choices_on_a_typo():
    import numpy as np
    with pytest.raises(ValueError, match="fcnet"):
        build_model("mlp", (1, 8, 8), 10, rng=np.random.default_rng(0))
