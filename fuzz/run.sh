#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and prints, per target, the runs reached
# and the crashes found (files written to artifacts/<target>/ during this run).
# cargo-fuzz needs a nightly compiler; RUSTC_BOOTSTRAP=1 lets a stable one accept its flags.
# Usage: fuzz/run.sh [SECONDS]
set -uo pipefail
secs="${1:-60}"
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 2; }
targets=$(cargo fuzz list) || exit 2
mkdir -p logs
status=0
printf '%-12s %12s %8s\n' target runs crashes
for t in $targets; do
    mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
    before=$(ls "artifacts/$t" | wc -l)
    log="logs/$t.log"
    # New inputs go to work/<target> (not committed); corpus/<target> is the committed seed set.
    cargo fuzz run "$t" "work/$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    after=$(ls "artifacts/$t" | wc -l)
    # libFuzzer's closing lines: "Done N runs in S second(s)" and, with -print_final_stats,
    # "stat::number_of_executed_units: N"; a crash ends the run early with no "Done" line.
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    [ -n "$runs" ] || runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9]\+')
    [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    crashes=$((after - before))
    printf '%-12s %12s %8s\n' "$t" "${runs:-?}" "$crashes"
    if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; then
        status=1
        echo "  $t: exit $rc, see fuzz/$log and fuzz/artifacts/$t/" >&2
    fi
done
exit $status
