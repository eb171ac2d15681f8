#!/usr/bin/env bash
# Times this checkout's pydiffvg with the shared diffvg-API benchmark
# (../shared/bench/diffvg_api_bench.py relative to the repository root; the
# script is shared so that other implementations can be timed with it too).
# Prints its JSON lines. Arguments are passed through, e.g.
#   benchmarks/run_diffvg_api_bench.sh --cases circles,strokes --runs 5 --threads 2
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="${repo_root}/../shared/bench/diffvg_api_bench.py"
if [[ ! -f "${bench}" ]]; then
    echo "run_diffvg_api_bench.sh: ${bench} not found (expected ../shared next to the repository)" >&2
    exit 2
fi
cd "${repo_root}"
PYTHONPATH="${repo_root}${PYTHONPATH:+:${PYTHONPATH}}" exec python "${bench}" "$@"
