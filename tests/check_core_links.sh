#!/bin/sh
# check_core_links.sh LINK_LIBRARIES ARCHIVE: the core library links only libc, libm and pthreads.
# Fails when bnmlp's INTERFACE_LINK_LIBRARIES name anything else (MPI above all) or when the
# archive needs an MPI symbol.
set -eu
libraries=$1 archive=$2
for library in $(printf '%s' "$libraries" | tr ';' ' '); do
    case "$library" in
        m | -lm | */libm.so | */libm.a | */libm.so.* | pthread | -pthread | -lpthread | Threads::Threads) ;;
        *) echo "core library links $library: only libc, libm and pthreads are allowed" >&2; exit 1 ;;
    esac
done
if nm "$archive" | grep -E ' U (P?MPI_|ompi_|mpi_)'; then
    echo "core library $archive needs MPI symbols" >&2
    exit 1
fi
echo "core links: ${libraries:-(none)}; no MPI symbol in $archive"
