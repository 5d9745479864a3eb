#!/usr/bin/env bash
# The CUDA checks of issue 14, as one call on a lent GPU machine (its python3 holds torch;
# nothing is installed: the engine and the headless face need no Textual).
#
#     bash benchmarks/cuda_check.sh DATA_DIR [OUT_DIR] [PARTS]
#
# DATA_DIR holds MNIST/raw (the .gz files are enough). PARTS (default all): any of
#   tests     the CUDA tests: tests/test_sprint.py, tests/test_graphed_step.py, tests/test_warm_up.py
#   trainer   mnist-tui --headless on cuda: --recipe sprint seeds 0 1 2 (and seed 0 with
#             --cuda-graphs off), a resume, --recipe fast
#   profile   benchmarks/cuda_profile.py: ms a step per variant, and where the time goes
#   sweep     benchmarks/sprint.py on cuda, eager then CUDA graphs ($SWEEP_MODES), seeds 0 1 2
#   tricks    benchmarks/sprint.py --throughput on cuda (torch.compile included)
# Writes under OUT_DIR (default $OUT, or /tmp/cuda_check) a text file per part, the benchmark's
# JSON and a tarball of the trainer's run folders (to resume and replay on a CPU machine after).
set -uo pipefail
TIMEFORMAT="wall %R s"
DATA=${1:?usage: cuda_check.sh DATA_DIR [OUT_DIR] [PARTS]}
OUT=${2:-${OUT:-/tmp/cuda_check}}
PARTS=${3:-tests trainer profile sweep tricks}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD PYTHONDONTWRITEBYTECODE=1
PY=${PYTHON:-python3}
RECIPES=${RECIPES:-sprint,issue,e3-b128,e2.5}
SWEEP_MODES=${SWEEP_MODES:-eager graphs}
want() { [[ " $PARTS " == *" $1 "* ]]; }

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
grep -m1 "model name" /proc/cpuinfo

if want tests; then
    echo "== tests: tests/test_sprint.py, tests/test_graphed_step.py"
    MNIST_TUI_TEST_DATA=$DATA $PY -m pytest -q -rs -p no:cacheprovider -o addopts= tests/test_graphed_step.py tests/test_warm_up.py \
        tests/test_sprint.py -k "cuda or graph or warm" >"$OUT/tests.txt" 2>&1
    grep -E "passed|failed|error|SKIPPED|FAILED" "$OUT/tests.txt"
fi

if want profile; then
    echo "== profile: benchmarks/cuda_profile.py"
    $PY benchmarks/cuda_profile.py --data-dir "$DATA" >"$OUT/profile.txt" 2>&1
    head -18 "$OUT/profile.txt"
fi

if want sweep; then
    for mode in $SWEEP_MODES; do
        echo "== sweep: benchmarks/sprint.py on cuda, $mode (recipes $RECIPES, seeds 0 1 2)"
        flag=$([[ $mode == graphs ]] && echo --cuda-graphs)
        $PY benchmarks/sprint.py --device cuda $flag --data-dir "$DATA" --recipes "$RECIPES" \
            --json "$OUT/sprint_$mode.json" >"$OUT/sprint_$mode.txt" 2>&1
        grep -A5 "^recipe  " "$OUT/sprint_$mode.txt" || tail -5 "$OUT/sprint_$mode.txt"
    done
fi

if want trainer; then
    echo "== trainer: mnist-tui --headless on cuda"
    for s in 0 1 2; do
        time $PY -m mnist_tui --headless --recipe sprint --device cuda --seed "$s" --data-dir "$DATA" \
            --run-dir "$OUT/runs/sprint-$s" 2>&1 | tee -a "$OUT/trainer.txt"
    done
    time $PY -m mnist_tui --headless --recipe sprint --device cuda --cuda-graphs off --seed 0 --data-dir "$DATA" \
        --run-dir "$OUT/runs/sprint-0-eager" 2>&1 | tee -a "$OUT/trainer.txt"
    $PY -m mnist_tui --headless --resume "$OUT/runs/sprint-0" --epochs 4 --device cuda --data-dir "$DATA" 2>&1 \
        | tee -a "$OUT/trainer.txt"
    $PY -m mnist_tui --headless --recipe fast --device cuda --seed 0 --data-dir "$DATA" \
        --run-dir "$OUT/runs/fast-0" 2>&1 | tee -a "$OUT/trainer.txt"
    tar -C "$OUT" -czf "$OUT/runs.tgz" runs && rm -rf "$OUT/runs"
fi

if want tricks; then
    echo "== tricks: benchmarks/sprint.py --throughput on cuda (batch 1024, torch.compile included)"
    timeout 300 $PY benchmarks/sprint.py --device cuda --throughput --tp-batch-size 1024 --tp-samples 61440 \
        --tp-compile --data-dir "$DATA" --json "$OUT/throughput.json" 2>&1 | tee "$OUT/throughput.txt" | tail -10
fi
