#!/usr/bin/env bash
# bench/run.sh - builds the benchmarks and runs libbnmlp and PyTorch side by side.
#
# Builds build-bench (Release, benchmarks on, tests off), then for 1 and 2 threads runs
# bench/mlp_step and bench/torch_peer.py interleaved, round after round (ours, torch, ours,
# torch, ...; on 2 threads PyTorch runs twice per round, plain and with OMP_WAIT_POLICY=PASSIVE,
# and its faster configuration is kept per workload), then prints the ratios torch / ours per
# workload (> 1: libbnmlp is faster), each side's GFLOP/s and its fraction of the core's peak
# (bench/fma_peak --csv, run before and after the workloads: the best of the two counts). Then
# bench/gemm, if that binary was built, and bench/fma_peak's own table.
#
#   bench/run.sh            default: 5 rounds x 5 samples, about 6 minutes on 2 cores
#   bench/run.sh --quick    2 rounds x 3 samples, about 1.5-2.5 minutes
#   bench/run.sh --sweep    adds the width sweep (sweep.wW.train, W 64-2048) to the default set
#   options: --rounds N --reps N --threads "1 2" --filter NAME[,NAME] --sweep --no-build --no-gemm
#   (--filter runs exactly the workloads it names, the sweep's too: --filter sweep runs only it)
#
# Raw results: build-bench/bench-results/<date>/all.csv, fma_peak.csv, and summary.md beside it.
#
# The PyTorch peer runs under `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`: those variables,
# when set in this machine's environment, override OpenBLAS's own CPU detection (core type and
# cache size) and would make PyTorch's GEMM use kernels or blockings not meant for this CPU.
# They are unset for that command alone; nothing else sees a changed environment.
# torch_peer.py keeps PyTorch's large tensors in glibc's heap (mallopt), its fastest and steadiest
# configuration here (bench/README.md, "Memory").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-bench
PYTHON=/usr/bin/python3 # Debian's, with python3-torch; the python3 first on PATH has no torch

rounds=5 reps=5 threads_list="1 2" filter="" build=1 run_gemm=1 quick=0 sweep=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 rounds=2 reps=3 extra=(--sample-ms 30 --warmup-ms 100) ;;
    --rounds) rounds=$2; shift ;;
    --reps) reps=$2; shift ;;
    --threads) threads_list=$2; shift ;;
    --filter) filter=$2; shift ;;
    --no-build) build=0 ;;
    --no-gemm) run_gemm=0 ;;
    --sweep) sweep=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$build" = 1 ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBNMLP_BUILD_BENCH=ON -DBNMLP_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j2 >/dev/null
fi
MLP_STEP=$BUILD/bench/mlp_step
GEMM=$BUILD/bench/gemm
[ -x "$MLP_STEP" ] || { echo "run.sh: $MLP_STEP missing (build failed?)" >&2; exit 1; }

have_torch=1
if ! "$PYTHON" -c 'import torch, sklearn' 2>/dev/null; then
  echo "run.sh: $PYTHON cannot import torch and sklearn: PyTorch side skipped" >&2
  have_torch=0
fi

OUT=$BUILD/bench-results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
ALL=$OUT/all.csv
echo "phase,round,impl,threads,workload,unit,median_s,min_s,samples,calls,check" >"$ALL"

torch_peer() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" "$ROOT/bench/torch_peer.py" "$@"
}

# Without --filter, every workload of either side but the width sweep's (sweep.*), unless --sweep.
if [ -z "$filter" ] && [ "$sweep" = 0 ]; then
  names=$({
    "$MLP_STEP" --list
    if [ "$have_torch" = 1 ]; then torch_peer --list; fi
  } | awk '$1 !~ /^sweep\./ { print $1 }' | sort -u | paste -sd, -)
  filter=$names
fi
common=(--csv --reps "$reps" "${extra[@]}")
[ -n "$filter" ] && common+=(--filter "$filter")

# bench/fma_peak --csv: the one-core peaks the fractions of peak are taken of (appended per run).
FMA_PEAK=$BUILD/bench/fma_peak
PEAKS=$OUT/fma_peak.csv
peak_args=()
[ "$quick" = 1 ] && peak_args+=(--quick)
measure_peaks() {
  [ -x "$FMA_PEAK" ] || return 0
  "$FMA_PEAK" --csv "${peak_args[@]}" >>"$PEAKS" 2>"$OUT/last.err" || {
    echo "run.sh: bench/fma_peak failed" >&2
    cat "$OUT/last.err" >&2
  }
}

# run_side <phase> <round> <command...>: appends the command's CSV rows, tagged, to all.csv.
run_side() {
  local phase=$1 round=$2
  shift 2
  local tmp=$OUT/last.csv
  if "$@" >"$tmp" 2>"$OUT/last.err"; then
    tail -n +2 "$tmp" | sed "s/^/$phase,$round,/" >>"$ALL"
  else
    echo "run.sh: failed: $*" >&2
    cat "$OUT/last.err" >&2
  fi
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores online"
echo "command: bench/run.sh $([ "$quick" = 1 ] && echo --quick) $([ "$sweep" = 1 ] && echo --sweep) (rounds $rounds, samples $reps)"
start=$(date +%s)
measure_peaks
for threads in $threads_list; do
  ours_threads=$threads
  if ! "$MLP_STEP" --threads "$threads" --list >/dev/null 2>&1; then
    ours_threads=1
    echo "note: libbnmlp has no bnmlp_model_set_threads yet: on $threads threads it runs on 1" >&2
  fi
  for round in $(seq 1 "$rounds"); do
    echo "threads $threads, round $round/$rounds ($(($(date +%s) - start)) s)" >&2
    run_side "$threads" "$round" "$MLP_STEP" --threads "$ours_threads" "${common[@]}"
    if [ "$have_torch" = 1 ]; then
      run_side "$threads" "$round" torch_peer --threads "$threads" "${common[@]}"
      if [ "$threads" -gt 1 ]; then
        run_side "$threads" "$round" torch_peer --threads "$threads" --passive "${common[@]}"
      fi
    fi
  done
done
measure_peaks
rm -f "$OUT/last.csv" "$OUT/last.err"

peaks_option=()
[ -s "$PEAKS" ] && peaks_option=(--peaks "$PEAKS")
"$PYTHON" "$ROOT/bench/aggregate.py" "$ALL" "${peaks_option[@]}" | tee "$OUT/summary.md"

if [ "$run_gemm" = 1 ] && [ -x "$GEMM" ]; then
  # bench/gemm is another engineer's; run it with --quick when it understands that.
  gemm_args=()
  if [ "$quick" = 1 ] && "$GEMM" --help 2>&1 | grep -q -- '--quick'; then
    gemm_args+=(--quick)
  fi
  echo
  echo "### bench/gemm ${gemm_args[*]:-} (OPENBLAS_THREAD_TIMEOUT=4, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)"
  echo
  # OpenBLAS's workers spin for ~2^28 cycles after every call by default; in bench/gemm's
  # interleaved rounds they then hold the second core while our 2-thread sample runs, which
  # put several of our 2-thread rows at exactly 1-thread speed. Timeout 4 (the least) lets them
  # sleep between samples; OpenBLAS's own 2-thread figures were the same with it, within noise.
  # OpenBLAS's side runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as the PyTorch peer does:
  # set in this environment (Haswell, 512), they force OpenBLAS onto its AVX2 kernel at about half
  # its AVX-512 speed, and our GEMM looked 1.8-1.9x faster than OpenBLAS when it is at parity.
  timeout 600 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_THREAD_TIMEOUT=4 "$GEMM" "${gemm_args[@]}" |
    tee "$OUT/gemm.txt" ||
    echo "run.sh: bench/gemm failed" >&2
  if [ -x "$FMA_PEAK" ]; then
    echo
    echo "### bench/fma_peak ${peak_args[*]:-}"
    echo
    "$FMA_PEAK" "${peak_args[@]}" | tee "$OUT/fma_peak.txt"
  fi
elif [ "$run_gemm" = 1 ]; then
  echo "(bench/gemm not built: no GEMM table)"
fi
echo "total $(($(date +%s) - start)) s; raw results in $OUT"
