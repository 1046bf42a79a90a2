"""The paper's experiments (Flügel et al. 2024), each a function of a grid that returns CSV rows.

    from dualgrad.experiments import approx
    rows = approx.run_approx(ns=(16, 64), ks=(1, 4, 16), samples=1000, seed=0)    # §4.1
    rows = approx.run_angles()                                                      # §4.3
    approx.approx_experiment("runs/a")          # CSV + plots, what `dualgrad experiment approx` runs

``sweep`` runs a grid of independent jobs on any concurrent.futures.Executor (a process pool by default).
"""
from . import approx, sweep

__all__ = ["approx", "sweep"]
