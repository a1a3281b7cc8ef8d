#!/usr/bin/env bash
# GPU check of the SGD runner, in under 5 minutes on a CUDA machine:
#   1. the cupy cases of the SGD tests (they skip, saying why, where cupy or a GPU is missing);
#   2. benchmarks/sgd_bench.py on cupy and on torch with --device cuda: samples/s and the
#      share of that device's float32 matmul peak, at d = 128 and 512, one run each.
# Each step has its own time limit, so one hung step cannot eat the others' time.
# Usage: bash benchmarks/device_check.sh   (from anywhere; it runs from the repository root)
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
status=0

echo "== GPU"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
$PY - <<'PYEOF'
import importlib.util
for name in ("cupy", "torch"):
    if importlib.util.find_spec(name) is None:
        print(f"{name}: not installed")
        continue
    mod = __import__(name)
    if name == "cupy":
        try:
            print(f"cupy {mod.__version__}: {mod.cuda.runtime.getDeviceCount()} device(s)")
        except Exception as exc:  # noqa: BLE001
            print(f"cupy {mod.__version__}: no usable GPU ({exc})")
    else:
        print(f"torch {mod.__version__}: cuda available = {mod.cuda.is_available()}")
PYEOF

echo "== cupy tests (skipped with the reason where there is no GPU)"
timeout 150 $PY -m pytest -q -rs -p no:cacheprovider \
    tests/test_sgd_backend.py tests/test_sgd_network.py tests/test_sgd_train.py -k cupy \
    || status=1

BENCH=(--d 128,512 --repeats 1 --samples 20000 --baseline-steps 1000 --no-scaling --no-fallback)
echo "== benchmark: cupy"
timeout 60 $PY benchmarks/sgd_bench.py --backend cupy "${BENCH[@]}" || status=1
echo "== benchmark: torch on cuda"
timeout 60 $PY benchmarks/sgd_bench.py --backend torch --device cuda "${BENCH[@]}" || status=1
exit $status
