#!/usr/bin/env bash
# Generates N (default 3) held-out draws of the six network conditions of ../shared/data/net
# (lan, wifi, mobile, spike, drift, harsh) with the same generator and other seeds:
# OUT_DIR/draw-K/*.csv for K = 1..N, seed offset K (the shared traces are offset 0).
# These are for checking that the figures generalize: never tune against them.
# Usage: heldout.sh OUT_DIR [N]   (runs tools/setup.sh first for numpy)
set -euo pipefail
if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 OUT_DIR [N]" >&2
    exit 2
fi
out="$1"
n="${2:-3}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
    echo "heldout.sh: N must be a positive integer, got '$n'" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
gen="$repo/../shared/data/net/make_traces.py"
if [[ ! -f "$gen" ]]; then
    echo "heldout.sh: $gen not found (shared data missing)" >&2
    exit 1
fi
"$here/setup.sh"
py="${PESQ_VENV:-$repo/target/pesq-venv}/bin/python"
for k in $(seq 1 "$n"); do
    echo "heldout.sh: $out/draw-$k (seed offset $k)" >&2
    "$py" "$gen" "$out/draw-$k" "$k" >&2
done
