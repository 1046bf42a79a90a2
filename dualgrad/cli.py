"""The ``dualgrad`` command: a dispatcher over subcommands.

    dualgrad experiment approx --quick --out runs/a        # §4.1 approximation quality
    dualgrad experiment angles --out runs/angles           # §4.3 custom tangents

Each subcommand is one ``_add_<command>(subparsers)`` below that declares its flags and sets ``run``, a
function of the parsed arguments; the work itself lives in the library (``dualgrad.experiments``, ...).
To add a command, write its ``_add_`` function and call it from ``build_parser``.
"""
from __future__ import annotations

import argparse
import time


def _add_experiment_approx(experiments) -> None:
    from .experiments.approx import QUICK_K, QUICK_N, QUICK_SAMPLES
    p = experiments.add_parser(
        "approx", help="§4.1: cosine and norm of the estimators against n and k (Gaussian tangents)",
        description="The paper's §4.1 sweep: for f(x) = sum(x) (true gradient ones(n)) and Gaussian tangents, "
                    "the cosine, norm ratio, norm, error norm and dot product of every estimator for every "
                    "(n, k). Writes OUT/approx.csv and, with matplotlib, OUT/approx_cosine.png and "
                    "OUT/approx_norm_ratio.png.")
    p.add_argument("--n", type=_positive, nargs="+", help=f"dimensions (default: 2^0 … 2^16; --quick: {QUICK_N})")
    p.add_argument("--k", type=_positive, nargs="+",
                   help=f"numbers of tangents (default: 2^0 … 2^10; --quick: {QUICK_K})")
    p.add_argument("--samples", type=_positive,
                   help=f"samples per (n, k) (default: 1000 for n <= 2^14, 100 above; --quick: {QUICK_SAMPLES})")
    p.add_argument("--quick", action="store_true", help="a reduced grid that runs in seconds")
    _add_common(p, "runs/approx")
    p.set_defaults(run=_run_approx)


def _run_approx(args) -> None:
    from .experiments import approx
    ns, ks, samples = approx.PAPER_N, approx.PAPER_K, args.samples
    if args.quick:
        ns, ks, samples = approx.QUICK_N, approx.QUICK_K, args.samples or approx.QUICK_SAMPLES
    _run_experiment(approx.approx_experiment, args, ns=args.n or ns, ks=args.k or ks, samples=samples)


def _add_experiment_angles(experiments) -> None:
    from .experiments.approx import ANGLE_K, ANGLE_N, ANGLE_SAMPLES, ANGLES
    p = experiments.add_parser(
        "angles", help="§4.3: estimators from unit tangents at a fixed angle to each other",
        description="The paper's §4.3 approximation quality: unit tangents at a fixed angle to a base tangent; "
                    "projection, mean and sum. Writes OUT/angles.csv and, with matplotlib, "
                    "OUT/approx_angles_cosine.png.")
    p.add_argument("--n", type=_positive, default=ANGLE_N, help=f"dimension (default {ANGLE_N})")
    p.add_argument("--k", type=_positive, nargs="+", default=list(ANGLE_K),
                   help=f"numbers of tangents (default {ANGLE_K})")
    p.add_argument("--angles", type=float, nargs="+", default=list(ANGLES), help=f"degrees (default {ANGLES})")
    p.add_argument("--samples", type=_positive, default=ANGLE_SAMPLES,
                   help=f"samples per cell (default {ANGLE_SAMPLES})")
    _add_common(p, "runs/angles")
    p.set_defaults(run=_run_angles)


def _run_angles(args) -> None:
    from .experiments.approx import angles_experiment
    _run_experiment(angles_experiment, args, n=args.n, ks=args.k, angles=args.angles, samples=args.samples)


def _at_least(minimum: int):
    """An argparse type: an integer >= minimum."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value
    return parse


_positive = _at_least(1)


def _add_common(p, out: str) -> None:
    p.add_argument("--seed", type=_at_least(0), default=0, help="base seed (default 0)")
    p.add_argument("--out", default=out, help=f"output directory (default {out})")
    p.add_argument("--workers", type=_positive, help="worker processes (default: the number of cores)")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="write the CSV only")


def _run_experiment(experiment, args, **options) -> None:
    start = time.perf_counter()
    written = experiment(args.out, plots=args.plots, seed=args.seed, workers=args.workers, **options)
    print(f"{args.command} {args.experiment}: {time.perf_counter() - start:.1f} s")
    for path in written:
        print(f"wrote {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dualgrad", description="Forward-mode AD with k tangent columns and "
                                     "multi-tangent forward gradients (Flügel et al. 2024).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    experiment = commands.add_parser("experiment", help="reproduce the paper's experiments")
    experiments = experiment.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    _add_experiment_approx(experiments)
    _add_experiment_angles(experiments)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
