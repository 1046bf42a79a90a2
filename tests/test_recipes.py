"""recipes.default_lr: the order of its sources (the dataset's table, the paper's MNIST table, the rule)."""
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
def test_the_w4096_subset_of_the_fcnet_experiment_has_tuned_digits_values(approach):
    grad, method, k = ACTIVITY[approach]
    lr, source = default_lr("fcnet", 4096, "digits", grad, method, k, 8202)
    assert lr == lr_for("digits", "fcnet_w=4096", approach=approach, k=k) and source == "lrs/digits.csv (table)"


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
