#!/usr/bin/env bash
# The prepared GPU check (issue #20): one run, under 8 minutes with the build.
#
#   tools/gpu_check.sh --prepare   here, before asking for a GPU: copies the
#                                  shared diffvg-API benchmark and wheels of the
#                                  pure-Python dependencies the GPU image lacks
#                                  into .gpu_check/ (git-ignored; name it in the
#                                  device tool's `carry`)
#   tools/gpu_check.sh             on the GPU machine, from the repository root:
#       1. environment (nvidia-smi, nvcc, torch)
#       2. build with PYDIFFVG_CUDA=1 for sm_90 (PYDIFFVG_CUDA_ARCHITECTURES)
#       3. python -m pytest -k cuda tests
#       4. the shared diffvg-API benchmark on CUDA
#       5. benchmarks/bench_curves.py at 2040x1344, 2048 cubic curves, open and
#          closed, forward and backward
#
# Without a GPU or nvcc (a CPU dry run) the CUDA steps are skipped and said
# so; steps 3-5 then run the CPU and emulated device paths at small sizes, so
# that every part of the script is exercised. Logs go to $OUT when it is set
# (the device tool's folder that comes back), else to .gpu_check/logs; the
# summary is summary.txt there. Each step has a time limit that keeps the
# whole run inside GPU_CHECK_BUDGET_S (default 450 s on a GPU, 1800 s for a
# dry run); at most 7 log files
# come back (the device tool returns 8). Device-tool command:
#   bash tools/gpu_check.sh        with carry [".gpu_check"] and timeout_s 540
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
prepared="${root}/.gpu_check"

if [[ "${1:-}" == "--prepare" ]]; then
    mkdir -p "${prepared}/wheels"
    exclude="$(git rev-parse --git-path info/exclude)"
    mkdir -p "$(dirname "${exclude}")"
    grep -qx '/.gpu_check/' "${exclude}" 2>/dev/null || echo '/.gpu_check/' >> "${exclude}"
    bench="${root}/../shared/bench/diffvg_api_bench.py"
    [[ -f "${bench}" ]] && cp -f "${bench}" "${prepared}/diffvg_api_bench.py" \
        || echo "gpu_check --prepare: ${bench} not found; step 4 will be skipped" >&2
    # Pure-Python wheels: defusedxml (a core dependency the GPU image lacks).
    python -m pip download -q --no-deps --only-binary=:all: -d "${prepared}/wheels" "defusedxml==0.7.1" \
        || echo "gpu_check --prepare: could not fetch the defusedxml wheel" >&2
    ls -l "${prepared}" "${prepared}/wheels"
    exit 0
fi

logs="${OUT:-${prepared}/logs}"
mkdir -p "${logs}"
summary="${logs}/summary.txt"
: > "${summary}"
start=$(date +%s)
python_bin="$(command -v python3 || command -v python)"
export PYTHONUNBUFFERED=1 PYTHONPATH="${root}${PYTHONPATH:+:${PYTHONPATH}}"

note() { echo "$*" | tee -a "${summary}"; }
left() { echo $(( budget - ($(date +%s) - start) )); }
# step NAME LIMIT_S COMMAND...: runs COMMAND under min(LIMIT_S, time left),
# logging to NAME.log, and notes its status and seconds in the summary.
step() {
    local name="$1" limit="$2"; shift 2
    local remaining; remaining=$(left)
    (( limit > remaining )) && limit=${remaining}
    if (( limit < 10 )); then note "${name}: SKIPPED (out of time)"; return 1; fi
    local t0; t0=$(date +%s)
    timeout --kill-after=10 "${limit}" "$@" > "${logs}/${name}.log" 2>&1
    local rc=$?
    local verdict=ok; (( rc == 124 || rc == 137 )) && verdict="TIMED OUT after ${limit} s" || { (( rc != 0 )) && verdict="FAILED rc=${rc}"; }
    note "${name}: ${verdict} ($(( $(date +%s) - t0 )) s) -> ${name}.log"
    tail -n 3 "${logs}/${name}.log" | sed 's/^/    /' | tee -a "${summary}"
    return ${rc}
}

# 1. Environment.
{
    date -u; uname -m; nproc
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    command -v nvcc >/dev/null && nvcc --version | tail -n 2
    "${python_bin}" -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())"
} > "${logs}/environment.log" 2>&1
cat "${logs}/environment.log" | tee -a "${summary}"

# Dependencies the GPU image may lack, from the prepared wheels.
if ! "${python_bin}" -c "import defusedxml" 2>/dev/null; then
    if ls "${prepared}"/wheels/*.whl >/dev/null 2>&1; then
        "${python_bin}" -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu_check_site \
            "${prepared}"/wheels/*.whl && export PYTHONPATH="${PYTHONPATH}:/tmp/gpu_check_site"
    else
        note "defusedxml missing and no prepared wheels (run tools/gpu_check.sh --prepare here first)"
    fi
fi

gpu=0
if command -v nvcc >/dev/null && "${python_bin}" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    gpu=1
fi
# The GPU run must end inside 8 minutes; a dry run on a small shared CPU
# machine only has to end.
budget="${GPU_CHECK_BUDGET_S:-$(( gpu ? 450 : 1800 ))}"
# Limits per step: on the GPU, then in a dry run.
limit() { if (( gpu )); then echo "$1"; else echo "$2"; fi; }

# 2. Build.
if (( gpu )); then
    step build_cuda 330 env PYDIFFVG_CUDA=1 PYDIFFVG_CUDA_ARCHITECTURES="${PYDIFFVG_CUDA_ARCHITECTURES:-90}" \
        PYDIFFVG_BUILD_DIR=build/gpu-check "${python_bin}" setup.py build_ext --inplace || { note "build failed: stopping"; exit 1; }
    step built_with_cuda 30 "${python_bin}" -c "import pydiffvg; from pydiffvg import _core; print(pydiffvg.__file__, 'built_with_cuda', _core.built_with_cuda()); assert _core.built_with_cuda()" \
        || { note "the module has no CUDA: stopping"; exit 1; }
else
    note "build_cuda: SKIPPED (no GPU or no nvcc: CPU dry run)"
    if ! "${python_bin}" -c "from pydiffvg import _core" 2>/dev/null; then
        step build_cpu 300 "${python_bin}" setup.py build_ext --inplace || exit 1
    fi
fi

# 3. Tests: the cuda cases (skipped without a GPU) of the modules that use
# the device fixture (collecting only those saves a minute). Modules whose
# optional dependencies are missing are skipped by their importorskip lines.
mapfile -t device_tests < <(grep -lE "def test_[a-z0-9_]+\(.*\bdevice\b|device_case\(" tests/test_*.py)
step pytest_cuda "$(limit 120 400)" "${python_bin}" -m pytest -q -rs -k cuda "${device_tests[@]}" -p no:cacheprovider \
    --continue-on-collection-errors
(( gpu )) || step pytest_emulated_parity 300 "${python_bin}" -m pytest -q tests/test_device_emulation.py -p no:cacheprovider

# 4. The shared diffvg-API benchmark.
bench="${prepared}/diffvg_api_bench.py"
[[ -f "${bench}" ]] || bench="${root}/../shared/bench/diffvg_api_bench.py"
if [[ ! -f "${bench}" ]]; then
    note "diffvg_api_bench: SKIPPED (no diffvg_api_bench.py; run tools/gpu_check.sh --prepare)"
elif (( gpu )); then
    step diffvg_api_bench_cuda 90 "${python_bin}" benchmarks/diffvg_api_bench_on_device.py --device cuda --bench "${bench}" --runs 5
else
    note "diffvg_api_bench_cuda: SKIPPED (no GPU); one small case on the emulated device path instead"
    step diffvg_api_bench_emulated 300 "${python_bin}" benchmarks/diffvg_api_bench_on_device.py --device emulated --bench "${bench}" \
        --cases circles64_256_mc2 --runs 1
fi

# 5. Many cubic curves, forward and backward.
if (( gpu )); then
    step bench_curves_cuda 90 "${python_bin}" benchmarks/bench_curves.py --device cuda --runs 5
else
    note "bench_curves_cuda: SKIPPED (no GPU); --small on cpu and emulated instead"
    step bench_curves_small 400 bash -c "'${python_bin}' benchmarks/bench_curves.py --device cpu --small --runs 1 && \
        '${python_bin}' benchmarks/bench_curves.py --device emulated --small --runs 1"
fi

note "total: $(( $(date +%s) - start )) s (budget ${budget} s), gpu=${gpu}, logs in ${logs}"
