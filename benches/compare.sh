#!/usr/bin/env bash
# Runs the whole comparison and prints one Markdown table of medians and
# ratios: the criterion benches (pprocess-rs, the raw socketpair, ipc-channel,
# procspawn, rayon) and the Python peers (multiprocessing, pprocess 0.5.1).
#
#   benches/compare.sh [--quick] [--no-peers]
#
# PEERS_DIR (default: ../shared/peers from the repository root) holds the
# peers' scripts. Results go to target/bench-compare/<stamp>/ (criterion
# data, peer logs, table.md).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

mode=full
peers=1
for arg in "$@"; do
    case "$arg" in
        --quick) mode=quick ;;
        --no-peers) peers=0 ;;
        *) echo "usage: benches/compare.sh [--quick] [--no-peers]" >&2; exit 2 ;;
    esac
done

peers_dir="${PEERS_DIR:-$root/../shared/peers}"
stamp="$(date +%Y%m%d-%H%M%S)-$mode"
out="$root/target/bench-compare/$stamp"
mkdir -p "$out"
export CRITERION_HOME="$out/criterion"

if [ "$mode" = quick ]; then
    export PPROCESS_BENCH_QUICK=1
    crit=(--warm-up-time 0.2 --measurement-time 0.5 --sample-size 10 --noplot)
    export ANCHOR_RUNS="${ANCHOR_RUNS:-3}"
    mp_items=(d1 d4 d5 d6)
    pp_items=(e1)
else
    # Full mode also writes criterion's HTML reports, with plots, to
    # $CRITERION_HOME/report/index.html.
    crit=(--warm-up-time 1 --measurement-time 3 --sample-size 20)
    export ANCHOR_RUNS="${ANCHOR_RUNS:-5}"
    mp_items=()
    pp_items=()
fi

{
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "mode: $mode; criterion: ${crit[*]}"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$out/machine.txt" >&2

cargo bench -p pprocess-benches --no-run >&2
for bench in channel exchange start pmap; do
    echo "== cargo bench --bench $bench" >&2
    cargo bench -p pprocess-benches --bench "$bench" -- "${crit[@]}" 2>&1 \
        | tee "$out/$bench.log" | grep -E '^[a-z_0-9]+/|time:|cpu_task' >&2
done

peer_logs=()
if [ "$peers" = 1 ]; then
    if [ -f "$peers_dir/mp_bench.py" ]; then
        echo "== python3 mp_bench.py ${mp_items[*]:-}" >&2
        (cd "$peers_dir" && python3 mp_bench.py "${mp_items[@]}") > "$out/mp.log"
        peer_logs+=("$out/mp.log")
        echo "== python3 pprocess_bench.py ${pp_items[*]:-}" >&2
        if (cd "$peers_dir" && python3 pprocess_bench.py "${pp_items[@]}") > "$out/pprocess.log"; then
            peer_logs+=("$out/pprocess.log")
        else
            echo "pprocess_bench.py failed (is the Python package index reachable?)" >&2
        fi
    else
        echo "no peers in $peers_dir (set PEERS_DIR); skipping the Python peers" >&2
    fi
fi

cargo run -q --release -p pprocess-benches --bin bench-table -- \
    "$CRITERION_HOME" "${peer_logs[@]}" > "$out/table.md"
cat "$out/machine.txt" "$out/table.md"
echo "(saved in $out)" >&2
if [ "$mode" = full ]; then
    echo "(criterion's HTML reports: $CRITERION_HOME/report/index.html)" >&2
fi
