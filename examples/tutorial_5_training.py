"""Tutorial 5: training without backpropagation (docs/tutorial/05-training.md).

    python examples/tutorial_5_training.py [--quick] [--figures DIR | --update-docs]

The paper's FC net (64 → 256 → 256 → 10) on the bundled 8×8 digits. First, one batch: how close weight and
activity perturbation get to the exact gradient. Then four training runs from the same initialisation: the
exact gradient, fg (one tangent), the mean and the projection (frog) of 16 tangents, with live cosine
diagnostics. Last, the k/n rule that relates the learning rates of the mean and the projection.
"""
import json
import pathlib
import tempfile

import numpy as np
from _tutorial import Checks, parse_args, pyplot, save
from threadpoolctl import threadpool_limits

from dualgrad import data, nn, train
from dualgrad.estimators import theory
from dualgrad.gradients import make_gradient_source, num_activities
from dualgrad.learning_rates import default_lr

WIDTH, K = 256, 16


def new_model():
    return nn.FCNet(64, WIDTH, 2, 10, rng=np.random.default_rng([0, 3]))     # the same initialisation each time


def flat(grads, names):
    return np.concatenate([np.ravel(grads[name]) for name in names])


def one_batch(checks, splits, repeats):
    model = new_model()
    params = model.parameters()
    P, n = model.num_parameters(), num_activities(model, splits.train.input_shape)
    x, y = splits.train.x[:64], splits.train.y[:64]
    ctx = nn.Context(training=True)
    _, exact = make_gradient_source("exact")(model, params, x, y, ctx)
    reference = flat(exact, params)
    rng = np.random.default_rng(0)
    print(f"1. One batch of 64, k = {K}, projection: cosine with the exact gradient over {repeats} draws")
    cosines = {}
    for grad in ("weight", "activity"):
        source = make_gradient_source(grad, method="projection", k=K)
        values = []
        for _ in range(repeats):
            _, estimate = source(model, params, x, y, ctx, rng)
            g = flat(estimate, params)
            values.append(g @ reference / (np.linalg.norm(g) * np.linalg.norm(reference)))
        cosines[grad] = (np.mean(values), np.std(values, ddof=1) / np.sqrt(repeats))
    expected = theory.expected_cosine(P, K, "projection")
    print(f"   weight perturbation:   n = P = {P:,} parameters, cos {cosines['weight'][0]:.4f} "
          f"± {cosines['weight'][1]:.4f} (exact theory E[χ_k]/E[χ_n] = {expected:.4f})")
    print(f"   activity perturbation: n = 2W + 10 = {n} activities per sample, cos {cosines['activity'][0]:.4f} "
          f"± {cosines['activity'][1]:.4f}")
    mean, se = cosines["weight"]
    checks.check(abs(mean - expected) < 5 * se, "weight perturbation's cosine is the theory's for n = P, within "
                 "5 standard errors (a fixed gradient, Gaussian tangents: exactly the setting of tutorial 4)")
    checks.check(cosines["activity"][0] > 4 * mean, "activity perturbation's cosine is more than 4x weight "
                 "perturbation's (n = 522 per sample instead of 85,002)")
    return n


def training(checks, splits, n, epochs, diagnostics_every, workdir):
    runs = [("exact", "exact", "projection", 1), ("fg", "activity", "fg", 1),
            (f"mean k={K}", "activity", "mean", K), (f"frog k={K}", "activity", "projection", K)]
    print(f"\n2. Training for {epochs} epochs from the same initialisation (default learning rates)")
    results = {}
    for label, grad, method, k in runs:
        lr, source = default_lr("fcnet", "digits", grad, method, k, n)
        out = pathlib.Path(workdir) / label.replace(" ", "_")
        history = train.fit(new_model(), splits, grad=grad, method=method, k=k, lr=lr, epochs=epochs,
                            diagnostics_every=0 if grad == "exact" else diagnostics_every, out=out, progress=False)
        diagnostics = [] if grad == "exact" else [json.loads(line) for line in open(out / "diagnostics.jsonl")]
        results[label] = (history, diagnostics, lr)
        best = history.best()
        cos = f", mean cosine {np.mean([r['cosine'] for r in diagnostics]):.3f}" if diagnostics else ""
        print(f"   {label:10s} lr {lr:<8.4g} test acc {best['test_acc']:.3f} (epoch {best['epoch']}), "
              f"{history.final()['seconds']:5.1f} s{cos}")
    accuracy = {label: h.best()["test_acc"] for label, (h, _, _) in results.items()}
    for label in (f"mean k={K}", f"frog k={K}"):
        checks.check(accuracy[label] > max(0.2, accuracy["fg"]), f"{label} beats chance (0.1) twice over and fg")
    checks.check(accuracy["exact"] >= (0.9 if epochs >= 20 else 0.85), "the exact gradient is the best")
    if epochs >= 20:
        checks.check(min(accuracy[f"mean k={K}"], accuracy[f"frog k={K}"]) >= 0.85,
                     f"after {epochs} epochs mean and frog with 16 tangents reach 85% test accuracy")
    cosines = {label: np.mean([r["cosine"] for r in d]) for label, (_, d, _) in results.items() if d}
    checks.check(all(c > 0 for c in cosines.values()), "every estimator's average cosine with the exact gradient "
                 "is positive: descent on average")
    ratio = (np.median([r["norm_ratio"] for r in results[f"mean k={K}"][1]]) /
             np.median([r["norm_ratio"] for r in results[f"frog k={K}"][1]]))
    print(f"   median norm ratio mean / frog: {ratio:.1f}  (n/k = {n / K:.1f})")
    checks.check(n / K / 3 < ratio < 3 * n / K, "the mean's estimates are about n/k times longer than frog's")
    return results


def learning_rates(checks, splits, n, epochs):
    print("\n3. The k/n rule: lr_frog ≈ (n/k)·lr_mean")
    for k in (2, 4, 16):
        lr_mean = default_lr("fcnet", "digits", "activity", "mean", k, n)[0]
        lr_frog = default_lr("fcnet", "digits", "activity", "projection", k, n)[0]
        print(f"   k = {k:2d}: lr_mean {lr_mean:.4g}, lr_frog {lr_frog:.4g}, ratio {lr_frog / lr_mean:6.1f}, "
              f"n/k = {n / k:6.1f}")
        checks.check(0.5 < (lr_frog / lr_mean) / (n / k) < 2, f"k = {k}: the ratio is within 2x of n/k")
    lr_mean = default_lr("fcnet", "digits", "activity", "mean", K, n)[0]
    lr_frog = default_lr("fcnet", "digits", "activity", "projection", K, n)[0]
    swapped = train.fit(new_model(), splits, grad="activity", method="mean", k=K, lr=lr_frog, epochs=1, progress=False)
    print(f"   mean at frog's lr {lr_frog:.3g}: {swapped.stopped}")
    checks.check(swapped.stopped.startswith("diverged"), "the mean at frog's learning rate diverges")
    slow = train.fit(new_model(), splits, grad="activity", method="projection", k=K, lr=lr_mean, epochs=epochs,
                     progress=False)
    own = train.fit(new_model(), splits, grad="activity", method="projection", k=K, lr=lr_frog, epochs=epochs,
                    progress=False)
    print(f"   frog after {epochs} epoch(s): test acc {slow.final()['test_acc']:.3f} at the mean's lr, "
          f"{own.final()['test_acc']:.3f} at its own")
    checks.check(slow.final()["test_acc"] < own.final()["test_acc"], "frog at the mean's learning rate learns slower")


def plot(args, results):
    plt = pyplot(args)
    if plt is None:
        return
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for label, (history, diagnostics, _) in results.items():
        line, = axes[0].plot([r["epoch"] for r in history.rows], [r["test_acc"] for r in history.rows], label=label)
        if diagnostics:
            steps = [r["step"] for r in diagnostics]
            axes[1].plot(steps, [r["cosine"] for r in diagnostics], ".", ms=3, color=line.get_color(), label=label)
            axes[2].plot(steps, [r["norm_ratio"] for r in diagnostics], ".", ms=3, color=line.get_color(), label=label)
    axes[0].set(xlabel="epoch", ylabel="test accuracy", title="FC net 64-256-256-10 on digits")
    axes[1].set(xlabel="step", ylabel="cos(estimate, exact gradient)", title="live diagnostics: cosine")
    axes[2].set(xlabel="step", ylabel="‖estimate‖ / ‖exact gradient‖", yscale="log", title="norm ratio")
    axes[0].legend()
    fig.tight_layout()
    save(fig, args, "tutorial_5_training.png")


def main(argv=None):
    args = parse_args(__doc__, argv)
    checks = Checks()
    splits = data.load("digits")
    print(splits.summary())
    with threadpool_limits(1):                   # train.fit does the same: small GEMMs, one BLAS thread
        n = one_batch(checks, splits, 8 if args.quick else 50)
    with tempfile.TemporaryDirectory() as workdir:
        results = training(checks, splits, n, 2 if args.quick else 30, 4, workdir)
    learning_rates(checks, splits, n, 1 if args.quick else 5)
    plot(args, results)
    checks.finish()


if __name__ == "__main__":
    main()
