#!/bin/sh
# Runs a program on N MPI processes for ctest: mpiexec.sh MPIEXEC NUMPROC_FLAG N PROGRAM [ARGS...]
# With Open MPI it adds --oversubscribe (CI machines have fewer cores than some tests' ranks) and,
# when run as root (CI runs as root), --allow-run-as-root.
set -eu
mpiexec=$1 numproc_flag=$2 ranks=$3
shift 3
extra=""
# Open MPI refuses even --version as root without these (other MPIs ignore them).
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
if "$mpiexec" --version 2>&1 | grep -qiE "open ?mpi|openrte"; then
    extra="--oversubscribe"
    [ "$(id -u)" -ne 0 ] || extra="$extra --allow-run-as-root"
fi
# shellcheck disable=SC2086
exec "$mpiexec" $extra "$numproc_flag" "$ranks" "$@"
