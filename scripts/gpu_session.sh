#!/usr/bin/env bash
# Everything a lent GPU machine should run for scratchlstm, in one call (device time is short and a
# fresh machine costs minutes to start): the CuPy tests, the whole suite, the step profile and the
# CuPy-vs-cuDNN benchmark. Logs and the benchmark's JSON go to $OUT (the device tool's folder that
# comes back), or to gpu-out/ when OUT is unset.
#
# The GPU image has CuPy, PyTorch, NumPy, pandas, matplotlib, pytest and hypothesis, but not
# array-api-compat (which scratchlstm needs) or array-api-strict (which the tests use), and it cannot
# reach a package registry. Fetch those two pure-Python wheels here first, into the ignored .whl/:
#
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl array-api-compat array-api-strict
#
# then run, with the device tool:  command "bash scripts/gpu_session.sh", carry [".whl"].
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-out}
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
# the package from this checkout, without installing it (pip cannot fetch its build dependencies there)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! python3 -c "import cupy, sys; sys.exit(cupy.cuda.runtime.getDeviceCount() == 0)" 2>/dev/null; then
    echo "no usable GPU here (CuPy missing or no device): this script is for a lent GPU machine" >&2
    exit 2
fi
status=0
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    python3 -c "import sys, cupy, numpy, torch; print('python', sys.version.split()[0], '| cupy', cupy.__version__, '| numpy', numpy.__version__, '| torch', torch.__version__)"
} 2>&1 | tee "$out/machine.txt"
echo "== the CuPy tests (fused path, backends) =="
python3 -m pytest -q -rs tests/test_lstm_fused.py tests/test_backends.py 2>&1 | tee "$out/tests-cupy.log" || status=1
echo "== the whole suite =="
python3 -m pytest -q -rs 2>&1 | tee "$out/tests-all.log" | tail -25 || status=1
echo "== where a step's time goes =="
python3 benchmarks/step_profile.py --device cuda 2>&1 | tee "$out/step-profile.txt" || status=1
echo "== CuPy against cuDNN =="
python3 benchmarks/bench_lstm.py --device cuda --dtypes float32 --json "$out/bench-cuda.json" 2>&1 | tee "$out/bench-cuda.txt" || status=1
exit $status
