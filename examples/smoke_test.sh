#!/bin/sh
# Smoke test of the circles example (run by ctest as circles_smoke).
#
# Usage: sh smoke_test.sh PATH/TO/circles
#
# Runs short studies into a temporary directory and checks the files they write (existence,
# CSV headers, row counts, SVG framing), that results do not depend on --jobs, the --dump-data
# and --plot-data output, and the exit statuses (0 success, 1 unwritable file, 2 bad usage).
# Prints one line per check and "N passed, M failed"; exits non-zero when any check fails.

set -u

circles=${1:?usage: smoke_test.sh PATH/TO/circles}
passed=0
failed=0

tmp=$(mktemp -d 2>/dev/null) || tmp="${TMPDIR:-/tmp}/circles-smoke.$$"
mkdir -p "$tmp" || { echo "cannot create a temporary directory"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# check DESCRIPTION COMMAND...: runs the command and counts it as passed when it succeeds.
check() {
    description=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok      $description"
    else
        failed=$((failed + 1))
        echo "FAILED  $description"
    fi
}

# status_is EXPECTED COMMAND...: the command (output discarded) exits with EXPECTED.
status_is() {
    expected=$1
    shift
    "$@" >"$tmp/last.out" 2>"$tmp/last.err"
    actual=$?
    if [ "$actual" -ne "$expected" ]; then
        echo "        exit status $actual, expected $expected: $*"
        sed 's/^/        | /' "$tmp/last.err" | head -n 5
        return 1
    fi
    return 0
}

# line_count FILE: number of lines of FILE.
line_count() {
    echo $(($(wc -l <"$1")))
}

# has_lines FILE N: FILE exists and has exactly N lines.
has_lines() {
    [ -f "$1" ] && [ "$(line_count "$1")" -eq "$2" ]
}

# first_line_is FILE TEXT: the first line of FILE is exactly TEXT.
first_line_is() {
    [ -f "$1" ] && [ "$(head -n 1 "$1")" = "$2" ]
}

# is_svg FILE: FILE starts with "<svg" or "<?xml" and its last line is "</svg>".
is_svg() {
    [ -s "$1" ] || return 1
    case $(head -n 1 "$1") in
    "<svg"* | "<?xml"*) ;;
    *) return 1 ;;
    esac
    [ "$(tail -n 1 "$1")" = "</svg>" ]
}

# csv_rows_valid FILE: every data row of a data-set dump is "number,number,0|1".
csv_rows_valid() {
    [ -f "$1" ] && awk -F, 'NR > 1 && (NF != 3 || ($3 != "0" && $3 != "1") || $1 == "" || $2 == "") { bad = 1 } END { exit bad }' "$1"
}

summary_header="variant,runs,train_acc_mean,train_acc_std,test_acc_mean,test_acc_std,epochs_to_80_mean,runs_not_reaching_80,seconds_per_run_median"
history_header="variant,run,epoch,loss,acc,val_loss,val_acc"
all_variants="none after before nogammabeta momentum0 input"

# --- A short study with every variant ------------------------------------------------------
out="$tmp/all"
check "all variants, 2 repeats, 5 epochs: exit 0" \
    status_is 0 "$circles" --variants all --repeats 2 --epochs 5 --jobs 2 --out-dir "$out" --quiet
check "--quiet prints nothing on stdout" test ! -s "$tmp/last.out"
check "summary.csv header" first_line_is "$out/summary.csv" "$summary_header"
check "summary.csv has one row per variant (6)" has_lines "$out/summary.csv" 7
check "history.csv header" first_line_is "$out/history.csv" "$history_header"
check "history.csv has variants*repeats*epochs rows (60)" has_lines "$out/history.csv" 61
for svg in dataset test-accuracy; do
    check "$svg.svg is a complete SVG" is_svg "$out/$svg.svg"
done
for variant in $all_variants; do
    check "curves-$variant.svg is a complete SVG" is_svg "$out/curves-$variant.svg"
done

# --- The same study on one thread gives the same history, bit for bit ----------------------
check "--jobs 1: exit 0" \
    status_is 0 "$circles" --variants all --repeats 2 --epochs 5 --jobs 1 --out-dir "$tmp/one" --quiet
check "history.csv identical with --jobs 1 and --jobs 2" cmp -s "$out/history.csv" "$tmp/one/history.csv"

# --- Default variants (none, after, before) ------------------------------------------------
out="$tmp/default"
check "default variants: exit 0" status_is 0 "$circles" --repeats 2 --epochs 5 --out-dir "$out"
check "the table is printed" grep -q "^after " "$tmp/last.out"
check "summary.csv has 3 rows" has_lines "$out/summary.csv" 4
check "history.csv has 3*2*5 rows" has_lines "$out/history.csv" 31
check "curves-before.svg written" is_svg "$out/curves-before.svg"
check "curves-input.svg not written" test ! -e "$out/curves-input.svg"
check "--bn-average debiased: exit 0" \
    status_is 0 "$circles" --variants after --repeats 2 --epochs 5 --bn-average debiased --out-dir "$tmp/debiased"
check "the header names the average" grep -q "debiased average" "$tmp/last.out"
check "--save-model: exit 0" \
    status_is 0 "$circles" --variants none,after --repeats 2 --epochs 3 --save-model "$tmp/models" --out-dir "$tmp/saved"
check "--save-model wrote after.bnmlp" test -s "$tmp/models/after.bnmlp"
check "--save-model wrote none.bnmlp" test -s "$tmp/models/none.bnmlp"
check "--save-model wrote no other model" test ! -e "$tmp/models/before.bnmlp"
check "--bn-average cumulative: exit 0" \
    status_is 0 "$circles" --variants after --repeats 2 --epochs 5 --bn-average=cumulative --out-dir "$tmp/cumulative"

# --- Data dump and plot --------------------------------------------------------------------
check "--dump-data (37 rows): exit 0" status_is 0 "$circles" --dump-data "$tmp/data.csv" --n-samples 37 --out-dir "$tmp/unused"
check "--dump-data header" first_line_is "$tmp/data.csv" "x0,x1,label"
check "--dump-data has header + 37 rows" has_lines "$tmp/data.csv" 38
check "--dump-data rows are x0,x1,label" csv_rows_valid "$tmp/data.csv"
check "--dump-data does not train (no --out-dir created)" test ! -e "$tmp/unused"
check "--dump-data default (1000 rows)" status_is 0 "$circles" --dump-data "$tmp/default.csv"
check "default dump has header + 1000 rows" has_lines "$tmp/default.csv" 1001
check "--dump-data moons, no noise, no shuffle: exit 0" \
    status_is 0 "$circles" --dump-data "$tmp/moons.csv" --dataset moons --n-samples 50 --noise 0 --no-shuffle
check "moons dump has header + 50 rows" has_lines "$tmp/moons.csv" 51
check "--plot-data: exit 0" status_is 0 "$circles" --plot-data "$tmp/data.svg" --factor 0.5 --random-state 7
check "--plot-data writes a complete SVG" is_svg "$tmp/data.svg"

# --- Usage errors exit with 2, --help with 0 -----------------------------------------------
check "--help: exit 0" status_is 0 "$circles" --help
check "--help prints the usage on stdout" grep -q "Usage" "$tmp/last.out"
check "unknown flag: exit 2" status_is 2 "$circles" --bogus
check "unknown flag prints the usage" grep -q "Usage" "$tmp/last.err"
check "positional argument: exit 2" status_is 2 "$circles" extra
check "--epochs 0: exit 2" status_is 2 "$circles" --epochs 0
check "--epochs abc: exit 2" status_is 2 "$circles" --epochs abc
check "--repeats -1: exit 2" status_is 2 "$circles" --repeats -1
check "--lr 0: exit 2" status_is 2 "$circles" --lr 0
check "--momentum 1.5: exit 2" status_is 2 "$circles" --momentum 1.5
check "--factor 1: exit 2" status_is 2 "$circles" --factor 1
check "--variants after,bogus: exit 2" status_is 2 "$circles" --variants after,bogus
check "--dataset squares: exit 2" status_is 2 "$circles" --dataset squares
check "--bn-average median: exit 2" status_is 2 "$circles" --bn-average median
check "--epochs without a value: exit 2" status_is 2 "$circles" --epochs
check "--quiet=1: exit 2" status_is 2 "$circles" --quiet=1
check "--batch-size 1 with batch norm: exit 2" status_is 2 "$circles" --batch-size 1

# --- Files that cannot be written exit with 1, naming the path -----------------------------
: >"$tmp/file"
check "unwritable --out-dir: exit 1" status_is 1 "$circles" --repeats 1 --epochs 1 --out-dir "$tmp/file/sub" --quiet
check "unwritable --out-dir: the path is reported" grep -q "$tmp/file/sub" "$tmp/last.err"
check "unwritable --dump-data: exit 1" status_is 1 "$circles" --dump-data "$tmp/file/data.csv"
check "unwritable --dump-data: the path is reported" grep -q "$tmp/file/data.csv" "$tmp/last.err"
if [ -w /dev/full ]; then
    check "--dump-data /dev/full (write error): exit 1" status_is 1 "$circles" --dump-data /dev/full
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
