#!/usr/bin/env bash
# The one command behind the jitter-sim README table: voxflow's jitter buffer against neteq 0.9.1
# and a fixed 200 ms buffer on the shared traces and on held-out draws, with wideband PESQ on
# harsh, judged against the targets of issue 10.
#
# Usage: compare.sh [OUT_DIR]        (default <repo>/target/jitter-compare)
# Environment:
#   DRAWS=N       held-out draws to generate and run (default 3; 0 = none)
#   SKIP_BUILD=1  use the existing target/release/voxflow
#   AUDIO=FILE    speech to packetize (default: jitter-sim's embedded clip)
#
# Steps: (a) cargo build --release -p voxflow-cli --features neteq; (b) tools/setup.sh (PESQ venv)
# and tools/heldout.sh; (c) per trace set and buffer, `voxflow jitter-sim --json` (harsh with
# --out for voxflow and neteq, and the loss-free reference); (d) tools/pesq_wb.py on harsh's
# outputs; (e) tools/table.py prints the markdown tables. Each buffer runs in its own process, so
# one that fails (panics) is reported as such and the others still appear.
# Exit status: 0 when the tables were printed, whatever the verdicts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="${1:-$repo/target/jitter-compare}"
draws="${DRAWS:-3}"
net="$repo/../shared/data/net"
bin="$repo/target/release/voxflow"
buffers=(voxflow neteq fixed:200)
say() { echo "compare.sh: $*" >&2; }

if [[ ! -f "$net/harsh.csv" ]]; then
    say "$net/harsh.csv not found (shared data missing)"
    exit 1
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    say "building voxflow (release, --features neteq)"
    (cd "$repo" && cargo build --release -p voxflow-cli --features neteq)
fi
[[ -x "$bin" ]] || { say "$bin missing"; exit 1; }
"$here/setup.sh"
py="${PESQ_VENV:-$repo/target/pesq-venv}/bin/python"

# Only ever delete a previous run of this script (or an empty folder).
if [[ -e "$out" ]]; then
    if [[ -d "$out/main" || -z "$(ls -A "$out" 2>/dev/null)" ]]; then
        rm -rf "$out"
    else
        say "$out exists and is not a previous compare.sh run; not touching it"
        exit 1
    fi
fi
mkdir -p "$out/main"
cp "$net"/*.csv "$out/main/"
if [[ "$draws" -gt 0 ]]; then
    "$here/heldout.sh" "$out" "$draws"
fi
audio=()
[[ -n "${AUDIO:-}" ]] && audio=(--audio "$AUDIO")

for set in "$out"/main "$out"/draw-*; do
    [[ -d "$set" ]] || continue
    name="$(basename "$set")"
    others=()
    for t in lan wifi mobile spike drift; do
        [[ -f "$set/$t.csv" ]] && others+=("$set/$t.csv")
    done
    for b in "${buffers[@]}"; do
        tag="${b//:/-}"
        say "$name: $b"
        if ! "$bin" jitter-sim "${others[@]}" --buffer "$b" --json "${audio[@]}" \
            > "$set/run-$tag.json" 2> "$set/run-$tag.log"; then
            rm -f "$set/run-$tag.json"
            { echo "jitter-sim failed on lan..drift:"; tail -n 3 "$set/run-$tag.log"; } \
                > "$set/failed-$tag.txt"
        fi
        wav=()
        if [[ "$b" != fixed:* ]]; then
            wav=(--out "$set/harsh-$tag.wav" --reference "$set/harsh-reference.wav")
        fi
        if ! "$bin" jitter-sim "$set/harsh.csv" --buffer "$b" --json "${audio[@]}" "${wav[@]}" \
            > "$set/harsh-$tag.json" 2> "$set/harsh-$tag.log"; then
            rm -f "$set/harsh-$tag.json" "$set/harsh-$tag.wav"
            { echo "jitter-sim failed on harsh:"; tail -n 3 "$set/harsh-$tag.log"; } \
                >> "$set/failed-$tag.txt"
        fi
    done
    for b in voxflow neteq; do
        if [[ -f "$set/harsh-$b.wav" ]]; then
            say "$name: PESQ of harsh, $b"
            "$py" "$here/pesq_wb.py" "$set/harsh-reference.wav" "$set/harsh-$b.wav" \
                > "$set/pesq-$b.json" || true
            rm -f "$set/harsh-$b.wav"
        fi
    done
    rm -f "$set/harsh-reference.wav"
done
say "results in $out"
"$py" "$here/table.py" "$out"
