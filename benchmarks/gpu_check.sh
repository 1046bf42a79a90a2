#!/usr/bin/env bash
# The CuPy path on a GPU machine, in one go: the environment, the CuPy-parametrised and `gpu`-marked tests,
# `dualgrad bench` on the GPU beside torch.func and JAX on CUDA, the conv rule's GPU policy, and short
# training runs on CuPy and NumPy with the same seed. Every step has its own time limit, so a failing one
# still leaves the others' results; everything is written under $OUT (default ./gpu_out):
#   env.txt, tests.log, failures.log, profile.log, bench.log, bench_gpu.json, conv_policy.log, train.log
# Run it from the repository root:   bash benchmarks/gpu_check.sh
# Knobs (environment): BENCH_BUDGET (s per method, 0.3), BENCH_K ("1 4 16 64"), BENCH_SUITES ("mlp conv"),
# TESTS (test files), TEST_LIMIT, PROFILE_LIMIT, BENCH_LIMIT, POLICY_LIMIT, TRAIN_LIMIT (seconds per step),
# STEPS (which steps; default "env tests profile bench train", about 8.5 minutes at most; add "policy" to
# measure the conv rule's GPU settings again).
set -u
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
STEPS=${STEPS:-env tests profile bench train}
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
step() { [[ " $STEPS " == *" $1 "* ]]; }
t0=$SECONDS
stamp() { echo "[gpu_check +$((SECONDS - t0))s] $*"; }

# ----- install: the project's extras where a registry is reachable, else what the machine has --------------
stamp install
if $PY -c "import cupy, torch, jax, pytest, hypothesis, xdist" 2>/dev/null; then
    # everything the extras name is there (a machine without a registry): install dualgrad alone
    $PY -m pip install -q --no-deps --no-build-isolation --no-index -e . \
        || { echo "pip could not install dualgrad: running it from the checkout"; export PYTHONPATH=$PWD; }
else
    $PY -m pip install -q -e ".[gpu,dev,bench]" || { echo "cannot install .[gpu,dev,bench]"; exit 1; }
fi
DG="$PY -m dualgrad.cli"

if step env; then
    stamp env
    {
        nvidia-smi
        $PY - <<'PY'
import importlib, platform
print("python", platform.python_version())
for name in ("numpy", "scipy", "cupy", "torch", "jax", "jaxlib", "pytest", "hypothesis", "xdist"):
    try:
        m = importlib.import_module(name)
        print(f"{name:10s} {getattr(m, '__version__', '?')}")
    except Exception as e:
        print(f"{name:10s} MISSING ({e})")
import cupy
from dualgrad.bench.timing import gpu_info
print("cupy/CUDA:", gpu_info())
print("cupy config:"); cupy.show_config()
import torch
print("torch cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cudnn", torch.backends.cudnn.version())
from dualgrad.bench.peers import jax_or_none
jax = jax_or_none("gpu")
print("jax devices", jax.devices() if jax else None)
import dualgrad as dg
print("dualgrad backends:", dg.backend.available())
PY
    } > "$OUT/env.txt" 2>&1
    tail -5 "$OUT/env.txt"
fi

if step tests; then
    stamp tests
    # a plugin that writes every failure's first lines as it happens (a run cut by its time limit keeps them)
    plugin_dir=$(mktemp -d)
    cat > "$plugin_dir/stream_failures.py" <<'PY'
import os
def pytest_runtest_logreport(report):
    if report.failed:
        text = str(report.longrepr).strip().splitlines()
        lines = [l for l in text if l.startswith("E ")][:4] or text[-4:]
        with open(os.environ["FAILURES"], "a") as fh:
            fh.write(f"FAILED {report.nodeid} ({report.when})\n" + "".join(f"    {l[:300]}\n" for l in lines))
PY
    # the CuPy-parametrised tests (their ids contain "cupy") and the tests marked gpu; TESTS narrows the files
    # shellcheck disable=SC2046
    HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-gpu} FAILURES="$OUT/failures.log" PYTHONPATH="$plugin_dir:${PYTHONPATH:-}" timeout "${TEST_LIMIT:-150}" \
        $PY -m pytest -q -n "${TEST_WORKERS:-16}" -p no:cacheprovider -p stream_failures --tb=no \
        $($PY -c "import pytest_timeout" 2>/dev/null && echo --timeout 120) -k "cupy or gpu" ${TESTS:-tests/test_rules.py tests/test_nn_ops.py $(ls tests/test_gpu*.py)} \
        > "$OUT/tests.log" 2>&1
    echo "pytest rc=$?" >> "$OUT/tests.log"
    tail -3 "$OUT/tests.log"
fi

if step profile; then
    stamp profile
    # CPU time (launching) against GPU time (kernels) of one k-tangent MLP pass: where the time goes
    timeout "${PROFILE_LIMIT:-40}" $PY - > "$OUT/profile.log" 2>&1 <<'PY'
from cupyx.profiler import benchmark
from dualgrad.bench import mlp
for k in (16, 64):
    for name, (f, kind) in mlp.methods(k, "cupy", peers=False).items():
        print(f"k = {k:2d}", benchmark(f, n_repeat=30, n_warmup=3, name=f"{name:38s}"), flush=True)
    print(f"k = {k:2d}", benchmark(mlp.primal("cupy"), n_repeat=30, n_warmup=3, name=f"{'primal':38s}"), flush=True)
PY
    echo "profile rc=$?" >> "$OUT/profile.log"
fi

if step bench; then
    stamp bench
    # XLA autotunes every compilation on a fresh machine (tens of seconds each); off, it takes cuBLAS's own
    # heuristics, as CuPy and PyTorch do. Only where this XLA knows the flag (an unknown one aborts it).
    if [ -z "${XLA_FLAGS:-}" ] && XLA_FLAGS=--xla_gpu_autotune_level=0 timeout 30 $PY -c \
            "import jax; jax.config.update('jax_platforms', 'cuda'); jax.devices()" > /dev/null 2>&1; then
        export XLA_FLAGS=--xla_gpu_autotune_level=0
    fi
    echo "XLA_FLAGS=${XLA_FLAGS:-}"
    # shellcheck disable=SC2086
    timeout "${BENCH_LIMIT:-200}" $DG bench --backend cupy --suite ${BENCH_SUITES:-mlp conv} --k ${BENCH_K:-1 4 16 64} \
        --budget "${BENCH_BUDGET:-0.3}" --json "$OUT/bench_gpu.json" > "$OUT/bench.log" 2>&1
    echo "bench rc=$?" >> "$OUT/bench.log"
    tail -3 "$OUT/bench.log"
fi

if step policy; then
    stamp policy
    timeout "${POLICY_LIMIT:-60}" $PY benchmarks/gpu_conv_policy.py --k 16 --budget 0.2 > "$OUT/conv_policy.log" 2>&1
    echo "policy rc=$?" >> "$OUT/conv_policy.log"
fi

if step train; then
    stamp train
    # the same seed on both backends: the same batches and tangents, so the curves agree to rounding
    {
        for run in ${TRAIN_RUNS:-cupy:activity numpy:activity cupy:weight numpy:weight}; do
            backend=${run%%:*} grad=${run##*:} dir=/tmp/gpu_train_${backend}_${grad}
            rm -rf "$dir"
            echo "== dualgrad train --backend $backend --grad $grad (+$((SECONDS - t0))s)"
            timeout "${TRAIN_LIMIT:-25}" $DG train --backend "$backend" --dataset digits --model fcnet --width 256 \
                --grad "$grad" --method projection --k 16 --epochs "${TRAIN_EPOCHS:-3}" --seed 0 --out "$dir" \
                --no-progress --no-plot 2>&1 | tail -3
            cat "$dir/metrics.csv" 2>/dev/null
        done
    } > "$OUT/train.log" 2>&1
    tail -3 "$OUT/train.log"
fi
stamp done
