#!/bin/sh
# Data-parallel scaling of the big MLP's training step on 1 and 2 ranks (one thread each), side by
# side in one run, and the all-reduce of its gradients: builds bench/mpi_step into build-bench
# (Release, -DBNMLP_BUILD_BENCH=ON) and prints a Markdown table.
#     sh bench/mpi_scaling.sh [STEPS]
set -eu
cd "$(dirname "$0")/.."
steps=${1:-10}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBNMLP_BUILD_BENCH=ON -DBNMLP_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target mpi_step >/dev/null
run() { sh tests/mpi/mpiexec.sh mpiexec -n "$1" build-bench/bench/mpi_step --steps "$steps"; }
one=$(run 1)
two=$(run 2)
printf '%s\n%s\n' "$one" "$two" | awk -F, '
    NR == 1 { t1 = $4 }
    { rows[NR] = $0; t[NR] = $4 }
    END {
        print "| ranks | rows per rank | step (median) | step (min) | speed-up | efficiency | all-reduce of the gradients (median) |"
        print "|---:|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= NR; i++) {
            split(rows[i], f, ",")
            printf "| %d | %d | %.1f ms | %.1f ms | %.2fx | %.0f%% | %s |\n", f[1], f[2], f[4] * 1000, f[5] * 1000,
                   t1 / f[4], 100 * t1 / (f[4] * f[1]), (f[1] == 1 ? "-" : sprintf("%.2f ms (%d floats)", f[6] * 1000, f[3]))
        }
    }'
