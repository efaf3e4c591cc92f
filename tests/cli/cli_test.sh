#!/bin/sh
# End-to-end test of the bnmlp tool (run by ctest as cli_end_to_end, and by .ci/run).
#
# Usage: sh cli_test.sh PATH/TO/bnmlp PATH/TO/circles
#
# On the tutorial's data (make_circles 1000 points, noise 0.1, random_state 1, written by the
# circles example's --dump-data): trains the tutorial's model (first half trains, second half
# validates), checks its test accuracy, the progress, history and plot files, evaluates, predicts
# and summarizes the saved model, resumes from a checkpoint bit for bit, trains softmax, MSE and
# .npy variants, then checks every usage error (exit 2, with a message naming the problem) and
# runtime errors (exit 1, naming the path or reason). Prints one line per check and
# "N passed, M failed"; exits non-zero when any check fails.

set -u

bnmlp=${1:?usage: cli_test.sh PATH/TO/bnmlp PATH/TO/circles}
circles=${2:?usage: cli_test.sh PATH/TO/bnmlp PATH/TO/circles}
# Relative paths of the programs stay valid after the cd below.
case $bnmlp in */*) case $bnmlp in /*) ;; *) bnmlp="$PWD/$bnmlp" ;; esac ;; esac
case $circles in */*) case $circles in /*) ;; *) circles="$PWD/$circles" ;; esac ;; esac
# Files written by format version 1 (tests/fixtures/model-v1), beside this script.
fixtures=$(cd "$(dirname "$0")/../fixtures/model-v1" && pwd)
passed=0
failed=0

tmp=$(mktemp -d 2>/dev/null) || tmp="${TMPDIR:-/tmp}/bnmlp-cli-test.$$"
mkdir -p "$tmp" || { echo "cannot create a temporary directory"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
cd "$tmp" || exit 1

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

# status_is EXPECTED COMMAND...: the command exits with EXPECTED (stdout in last.out, stderr in last.err).
status_is() {
    expected=$1
    shift
    "$@" >"$tmp/last.out" 2>"$tmp/last.err" </dev/null
    actual=$?
    if [ "$actual" -ne "$expected" ]; then
        echo "        exit status $actual, expected $expected: $*"
        sed 's/^/        | /' "$tmp/last.err" | head -n 8
        return 1
    fi
    return 0
}

# err_has TEXT: the last command's stderr contains TEXT (fixed string).
err_has() {
    if ! grep -qF -- "$1" "$tmp/last.err"; then
        echo "        stderr lacks '$1':"
        sed 's/^/        | /' "$tmp/last.err" | head -n 8
        return 1
    fi
}

# usage_error DESCRIPTION TEXT ARGS...: bnmlp ARGS exits with 2, names TEXT, and prints the usage.
usage_error() {
    description=$1
    text=$2
    shift 2
    check "$description: exit 2" status_is 2 "$bnmlp" "$@"
    check "$description: message names it" err_has "$text"
    check "$description: usage printed" err_has "usage: bnmlp"
}

# failure DESCRIPTION TEXT ARGS...: bnmlp ARGS exits with 1 and its message contains TEXT.
failure() {
    description=$1
    text=$2
    shift 2
    check "$description: exit 1" status_is 1 "$bnmlp" "$@"
    check "$description: message names it" err_has "$text"
}

# metric NAME FILE: the value after "NAME: " on the first line of FILE that has it.
metric() {
    sed -n "s/.*[[:space:]]$1: \([0-9.]*\).*/\1/p; s/^$1: \([0-9.]*\).*/\1/p" "$2" | head -n 1
}

# between VALUE LOW HIGH: LOW <= VALUE <= HIGH (decimals).
between() {
    awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v + 0 >= lo + 0 && v + 0 <= hi + 0) }'
}

# is_svg FILE: FILE starts with "<?xml" or "<svg" and ends with "</svg>".
is_svg() {
    [ -s "$1" ] || return 1
    case $(head -n 1 "$1") in
    "<svg"* | "<?xml"*) ;;
    *) return 1 ;;
    esac
    [ "$(tail -n 1 "$1")" = "</svg>" ]
}

lines() {
    echo $(($(wc -l <"$1")))
}

spec="dense:50:relu:he_uniform,bn,dense:1:sigmoid"
tutorial="--lr 0.01 --momentum 0.9 --batch-size 32"

# --- The tutorial's data -------------------------------------------------------------------
check "circles --dump-data writes the tutorial's data" status_is 0 "$circles" --dump-data data.csv
head -n 501 data.csv >train.csv
{ head -n 1 data.csv; tail -n 500 data.csv; } >test.csv
check "train.csv and test.csv have 500 rows each" test "$(lines train.csv)" -eq 501 -a "$(lines test.csv)" -eq 501

# --- The tutorial's run ----------------------------------------------------------------------
check "train (tutorial: 2-50-1, BN after ReLU, SGD 0.01 / 0.9, 100 epochs, split 0.5): exit 0" \
    status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 100 $tutorial --validation-split 0.5 \
    --out model.bnmlp --history history.csv --plot curves.svg
cp last.out train.out
cp last.err train.err
val_accuracy=$(metric val_accuracy train.out)
echo "        tutorial run: $(cat train.out)"
check "test accuracy (val_accuracy) in the tutorial's 0.80-0.88" between "$val_accuracy" 0.80 0.88
check "stdout: the last epoch's metrics" grep -q "^epoch 100/100  loss: [0-9.]*  accuracy: [0-9.]*  val_loss: [0-9.]*  val_accuracy: " train.out
check "progress: one plain line per epoch when stderr is not a terminal" test "$(grep -c '^Epoch [0-9]*/100  16/16 \[==============================\] ' train.err)" -eq 100
check "progress: no carriage return when stderr is not a terminal" sh -c "! tr '\r' '#' <train.err | grep -q '#'"
check "progress: metrics on every line" test "$(grep -c 'loss: [0-9.]*  accuracy: [0-9.]*  val_loss: [0-9.]*  val_accuracy: [0-9.]*$' train.err)" -eq 100
check "progress: a final line with the total time" grep -q '^100 epochs in [0-9.]*s' train.err
check "model file written" test -s model.bnmlp
check "history.csv: header" test "$(head -n 1 history.csv)" = "epoch,loss,accuracy,val_loss,val_accuracy"
check "history.csv: one row per epoch" test "$(lines history.csv)" -eq 101
check "history.csv: the last row is epoch 100" grep -q '^100,' history.csv
check "curves.svg is a complete SVG" is_svg curves.svg
check "curves.svg has the loss and the accuracy panels" sh -c 'grep -q "Loss per epoch" curves.svg && grep -q "Accuracy per epoch" curves.svg'
check "curves.svg has a legend with training and validation" sh -c 'grep -q ">training<" curves.svg && grep -q ">validation<" curves.svg'

# --- The same model through --validation-data ----------------------------------------------
check "train on train.csv with --validation-data test.csv: exit 0" \
    status_is 0 "$bnmlp" train --data train.csv --validation-data test.csv --layers "$spec" --epochs 100 $tutorial \
    --out model2.bnmlp --quiet
check "--quiet prints no progress" test ! -s last.err
check "the same model as with --validation-split 0.5, bit for bit" cmp -s model.bnmlp model2.bnmlp

# --- evaluate, predict, summary ------------------------------------------------------------
check "evaluate on the test half: exit 0" status_is 0 "$bnmlp" evaluate --model model.bnmlp --data test.csv
echo "        evaluate: $(cat last.out)"
check "evaluate's accuracy equals train's val_accuracy" test "$(metric accuracy last.out)" = "$val_accuracy"
check "predict --labels: exit 0" status_is 0 "$bnmlp" predict --model model.bnmlp --data test.csv --out preds.csv --labels
check "predictions: header p,label and 500 rows" sh -c 'test "$(head -n 1 preds.csv)" = "p,label" && test "$(wc -l <preds.csv)" -eq 501'
tail -n 500 preds.csv | cut -d, -f2 >predicted.txt
tail -n 500 test.csv | cut -d, -f3 >truth.txt
predicted_accuracy=$(paste -d, predicted.txt truth.txt | awk -F, '$1 == $2 { n++ } END { printf "%.4f", n / NR }')
check "predicted labels give evaluate's accuracy ($predicted_accuracy)" test "$predicted_accuracy" = "$val_accuracy"
check "predict without --labels: probabilities only" \
    sh -c "'$bnmlp' predict --model model.bnmlp --data test.csv --out p.csv && test \"\$(head -n 1 p.csv)\" = p"
check "summary: exit 0" status_is 0 "$bnmlp" summary --model model.bnmlp
check "summary lists the batch-norm layer and 401 parameters" sh -c 'grep -q BatchNormalization last.out && grep -q "Total params: 401" last.out'

# --- Checkpoints and resume ----------------------------------------------------------------
check "train 40 epochs with --checkpoint-every 20: exit 0" \
    status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 40 $tutorial --validation-split 0.5 \
    --out part.bnmlp --checkpoint-every 20 --quiet
check "checkpoint written to OUT.ckpt" test -s part.bnmlp.ckpt
check "summary of the checkpoint says 40 epochs" sh -c "'$bnmlp' summary --model part.bnmlp.ckpt | grep -q 'after 40 epochs'"
check "resume to 100 epochs: exit 0" \
    status_is 0 "$bnmlp" resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 100 $tutorial \
    --validation-split 0.5 --out resumed.bnmlp --history resumed.csv
check "resume's progress counts from epoch 41" grep -q '^Epoch 41/100 ' last.err
check "resumed model equals the uninterrupted one, bit for bit" cmp -s model.bnmlp resumed.bnmlp
check "resumed history: epochs 41 to 100, the same last row" \
    sh -c 'test "$(sed -n 2p resumed.csv | cut -d, -f1)" = 41 && test "$(tail -n 1 resumed.csv)" = "$(tail -n 1 history.csv)"'
check "train --checkpoint FILE: exit 0" \
    status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 4 --checkpoint-every 2 --checkpoint named.ckpt \
    --out named.bnmlp --quiet
check "--checkpoint FILE is where checkpoints go" test -s named.ckpt

# --- The checkpoint keeps the optimizer's settings: resume needs no optimizer flag ----------
adam="--optimizer adam --lr 0.005 --weight-decay 0.001"
check "adam (lr 0.005, weight decay 0.001), 12 epochs: exit 0" \
    status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 12 $adam --validation-split 0.5 \
    --out adam.bnmlp --quiet
check "the same run stopped after 6 epochs with a checkpoint: exit 0" \
    status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 6 $adam --validation-split 0.5 \
    --out adam-part.bnmlp --checkpoint-every 3 --quiet
check "resume to 12 epochs without optimizer flags: exit 0" \
    status_is 0 "$bnmlp" resume --checkpoint adam-part.bnmlp.ckpt --data data.csv --epochs 12 \
    --validation-split 0.5 --out adam-resumed.bnmlp --quiet
check "resumed with the checkpoint's adam settings: the uninterrupted model, bit for bit" \
    cmp -s adam.bnmlp adam-resumed.bnmlp
check "resume with --lr (and --override) changes the rate: another model" sh -c \
    "'$bnmlp' resume --checkpoint adam-part.bnmlp.ckpt --data data.csv --epochs 12 --validation-split 0.5 \
    --lr 0.05 --override --out adam-lr.bnmlp --quiet && ! cmp -s adam.bnmlp adam-lr.bnmlp"
cp "$fixtures/checkpoint.bnmlp" v1.ckpt
# (bit for bit with the compiler that wrote it, gcc; another may round the last bit apart)
check "a version-1 checkpoint resumed with its run's flags predicts as the model that run saved" \
    sh -c "'$bnmlp' resume --checkpoint v1.ckpt --data '$fixtures/data.csv' --epochs 3 --batch-size 16 \
    --optimizer adam --lr 0.005 --out v1.bnmlp --quiet && \
    '$bnmlp' predict --model v1.bnmlp --data '$fixtures/data.csv' --out v1.csv && \
    paste -d, v1.csv '$fixtures/model-predictions.csv' | \
    awk -F, 'NR > 1 { d = \$1 - \$2; if (d < 0) d = -d; if (d > 1e-6) bad = 1 } END { exit bad }'"
check "rmsprop (centered, momentum, rho 0.9): exit 0" status_is 0 "$bnmlp" train --data data.csv \
    --layers "$spec" --epochs 5 --optimizer rmsprop --lr 0.001 --rho 0.9 --centered --momentum 0.5 \
    --epsilon 1e-7 --validation-split 0.5 --out rmsprop.bnmlp --quiet
check "help lists the library's losses and optimizers" sh -c \
    "'$bnmlp' help train | grep -q 'binary_crossentropy (or bce)' && '$bnmlp' help resume | grep -q '^  rmsprop '"

# --- Gradient clipping: --clipnorm, --clipvalue, --global-clipnorm ----------------------------
check "help train and help resume list the three clipping flags with their Keras/PyTorch names" sh -c \
    "for c in train resume; do '$bnmlp' help \$c >h.txt && grep -q '^  --clipnorm C  .*' h.txt && \
    grep -q '^  --clipvalue V  .*Keras.s clipvalue' h.txt && grep -q '^  --global-clipnorm C  ' h.txt && \
    grep -q 'global_clipnorm, PyTorch.s clip_grad_norm_' h.txt && grep -q 'clip_grad_value_' h.txt || exit 1; done"
clip="--optimizer adam --lr 0.005 --validation-split 0.5 --quiet"
check "unclipped adam, 8 epochs: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 8 \
    $clip --out clip-none.bnmlp
# Limits far below the gradients' norms and elements bite; limits far above them change nothing, bit
# for bit, so the difference is the clipping's.
for flag in "--clipnorm 0.05" "--clipvalue 0.01" "--global-clipnorm 0.05"; do
    check "$flag (bites): another model than unclipped" sh -c "'$bnmlp' train --data data.csv --layers '$spec' \
        --epochs 8 $clip $flag --out clip.bnmlp && ! cmp -s clip.bnmlp clip-none.bnmlp"
done
for flag in "--clipnorm 0" "--clipnorm 1e30" "--clipvalue 1e30" "--global-clipnorm 1e30"; do
    check "$flag (never reached): the unclipped model, bit for bit" sh -c "'$bnmlp' train --data data.csv \
        --layers '$spec' --epochs 8 $clip $flag --out clip.bnmlp && cmp -s clip.bnmlp clip-none.bnmlp"
done
usage_error "--clipnorm -1" "bad value for --clipnorm: -1" train --data data.csv --layers "$spec" --epochs 1 \
    --clipnorm -1
usage_error "--clipvalue abc" "bad number for --clipvalue: 'abc'" train --data data.csv --layers "$spec" --epochs 1 \
    --clipvalue abc
usage_error "--global-clipnorm nan" "bad number for --global-clipnorm: 'nan'" train --data data.csv \
    --layers "$spec" --epochs 1 --global-clipnorm nan
usage_error "--clipnorm inf" "bad number for --clipnorm: 'inf'" train --data data.csv --layers "$spec" --epochs 1 \
    --clipnorm inf
usage_error "--clipvalue without a value" "--clipvalue needs a value" train --data data.csv --layers "$spec" \
    --epochs 1 --clipvalue
usage_error "--clipnorm with --global-clipnorm" "at most one of --clipnorm, --clipvalue and --global-clipnorm" \
    train --data data.csv --layers "$spec" --epochs 1 --clipnorm 1 --global-clipnorm 2
check "--clipnorm 0.05, 8 epochs: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 8 \
    $clip --clipnorm 0.05 --out clip-whole.bnmlp
check "the same stopped after 4 epochs with a checkpoint: exit 0" status_is 0 "$bnmlp" train --data data.csv \
    --layers "$spec" --epochs 4 $clip --clipnorm 0.05 --out clip-part.bnmlp --checkpoint-every 4
check "resume without --clipnorm keeps the checkpoint's: the uninterrupted clipped model, bit for bit" sh -c \
    "'$bnmlp' resume --checkpoint clip-part.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --quiet \
    --out clip-resumed.bnmlp && cmp -s clip-resumed.bnmlp clip-whole.bnmlp"
check "resume --clipnorm 0 --override drops it: another model" sh -c \
    "'$bnmlp' resume --checkpoint clip-part.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --quiet \
    --clipnorm 0 --override --out clip-off.bnmlp 2>/dev/null && ! cmp -s clip-off.bnmlp clip-whole.bnmlp"
usage_error "resume --clipnorm 0.1 (the checkpoint's is 0.05) without --override" "changes clip-part.bnmlp.ckpt's clipnorm" \
    resume --checkpoint clip-part.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --clipnorm 0.1
usage_error "resume --clipvalue on a --clipnorm checkpoint" "the checkpoint's included" resume \
    --checkpoint clip-part.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --clipvalue 0.1 --override
check "resume --clipnorm 0 --clipvalue 0.1 --override switches the clipping, with a warning for each" sh -c \
    "'$bnmlp' resume --checkpoint clip-part.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --quiet \
    --clipnorm 0 --clipvalue 0.1 --override --out clip-value.bnmlp 2>w.txt && grep -q 'warning: --clipnorm 0 replaces' w.txt \
    && grep -q 'warning: --clipvalue 0.1 replaces' w.txt"

# --- Other losses and data forms -----------------------------------------------------------
check "softmax (2 classes, adam): exit 0" \
    status_is 0 "$bnmlp" train --data data.csv --layers dense:16:relu,bn,dense:2:softmax --epochs 10 --optimizer adam \
    --lr 0.01 --validation-split 0.5 --out softmax.bnmlp --quiet
check "softmax: predict --labels writes p0,p1,label" \
    sh -c "'$bnmlp' predict --model softmax.bnmlp --data test.csv --out sp.csv --labels && test \"\$(head -n 1 sp.csv)\" = p0,p1,label"
check "mse: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers dense:8:tanh,dense:1 --loss mse --epochs 3 \
    --validation-split 0.5 --out mse.bnmlp --optimizer adamw
check "mse: loss only, no accuracy" sh -c '! grep -q accuracy last.out && ! grep -q accuracy last.err && grep -q "val_loss: " last.out'
check "mse: evaluate prints the loss only" sh -c "'$bnmlp' evaluate --model mse.bnmlp --data test.csv | grep -v accuracy | grep -q '^loss: '"
check "--label-column by name: exit 0" status_is 0 "$bnmlp" train --data data.csv --label-column label \
    --layers dense:4:relu,dense:1:sigmoid --epochs 2 --out byname.bnmlp --quiet
check "--label-column by index (2): exit 0" status_is 0 "$bnmlp" train --data data.csv --label-column 2 \
    --layers dense:4:relu,dense:1:sigmoid --epochs 2 --out byindex.bnmlp --quiet
check "leaky_relu, bn options, nesterov, weight decay: exit 0" status_is 0 "$bnmlp" train --data data.csv \
    --layers "dense:16:glorot_normal:nobias,bn:momentum=0.9:eps=1e-5:variance=unbiased:average=cumulative,leaky_relu:alpha=0.2,dense:1:sigmoid" \
    --epochs 2 --momentum 0.9 --nesterov --weight-decay 1e-4 --out options.bnmlp --quiet

# --- Dropout and norm layers, spaces in SPEC --------------------------------------------------
awk -F, 'NR == 1 { print; next } { printf "%.6f,%.6f,%s\n", $1 * 1000 + 5000, $2 / 1000, $3 }' data.csv >scaled.csv
dspec="norm, dense:16:relu , dropout:0.3,dense:1:sigmoid"
check "norm and dropout with spaces in SPEC on unscaled data (x1000 + 5000, /1000): exit 0" \
    status_is 0 "$bnmlp" train --data scaled.csv --layers "$dspec" --epochs 30 --optimizer adam --lr 0.01 \
    --validation-split 0.5 --out drop.bnmlp --quiet
check "the adapted norm layer standardizes: val_accuracy above 0.75" between "$(metric val_accuracy last.out)" 0.75 1
check "summary lists Normalization and Dropout with its rate" sh -c \
    "'$bnmlp' summary --model drop.bnmlp | grep -q 'normalization (Normalization)' && '$bnmlp' summary --model drop.bnmlp | grep -q 'dropout (Dropout).*rate 0.3'"
check "evaluate and predict apply the stored norm layer: exit 0" sh -c \
    "'$bnmlp' evaluate --model drop.bnmlp --data scaled.csv >/dev/null && '$bnmlp' predict --model drop.bnmlp --data scaled.csv --out drop.csv"
check "dropout: the same run stopped after 3 epochs with a checkpoint: exit 0" \
    status_is 0 "$bnmlp" train --data scaled.csv --layers "$dspec" --epochs 3 --optimizer adam --lr 0.01 \
    --validation-split 0.5 --out drop-part.bnmlp --checkpoint-every 3 --quiet
check "dropout: uninterrupted 6 epochs: exit 0" \
    status_is 0 "$bnmlp" train --data scaled.csv --layers "$dspec" --epochs 6 --optimizer adam --lr 0.01 \
    --validation-split 0.5 --out drop-whole.bnmlp --quiet
check "dropout: resumed to 6 epochs equals the uninterrupted model, bit for bit (the masks' step is saved)" \
    sh -c "'$bnmlp' resume --checkpoint drop-part.bnmlp.ckpt --data scaled.csv --epochs 6 --validation-split 0.5 \
    --out drop-resumed.bnmlp --quiet && cmp -s drop-whole.bnmlp drop-resumed.bnmlp"
check "--layers 'dense:8:relu, bn, dense:1:sigmoid' (spaces around tokens): exit 0" \
    status_is 0 "$bnmlp" train --data data.csv --layers "dense:8:relu, bn, dense:1:sigmoid" --epochs 2 --quiet \
    --out spaces.bnmlp

# .npy files (uint8, written byte by byte): 64 rows, features (i*4 mod 256, i*7 mod 256), label x0 >= 128.
npy_u8() { # npy_u8 FILE SHAPE VALUES...: a '|u1' .npy file of the values.
    file=$1
    shape=$2
    shift 2
    header="{'descr': '|u1', 'fortran_order': False, 'shape': $shape, }"
    pad=$((64 - (10 + ${#header} + 1) % 64))
    [ "$pad" -eq 64 ] && pad=0
    {
        printf '\223NUMPY\001\000'
        printf "\\$(printf '%03o' $(((${#header} + pad + 1) % 256)))\\$(printf '%03o' $(((${#header} + pad + 1) / 256)))"
        printf '%s%*s\n' "$header" "$pad" ""
        for v in "$@"; do printf "\\$(printf '%03o' "$v")"; done
    } >"$file"
}
x_values=""
xy_values=""
y_values=""
i=0
while [ $i -lt 64 ]; do
    a=$((i * 4 % 256))
    b=$((i * 7 % 256))
    c=$((a >= 128 ? 1 : 0))
    x_values="$x_values $a $b"
    xy_values="$xy_values $a $b $c"
    y_values="$y_values $c"
    i=$((i + 1))
done
npy_u8 x.npy "(64, 2)" $x_values
npy_u8 xy.npy "(64, 3)" $xy_values
npy_u8 y.npy "(64,)" $y_values
check ".npy data with --labels y.npy: exit 0" status_is 0 "$bnmlp" train --data x.npy --labels y.npy \
    --layers bn,dense:8:relu,dense:1:sigmoid --epochs 5 --batch-size 16 --out npy.bnmlp --quiet
check ".npy data with the label as its last column: exit 0" status_is 0 "$bnmlp" train --data xy.npy \
    --layers bn,dense:8:relu,dense:1:sigmoid --epochs 5 --batch-size 16 --out npy2.bnmlp --quiet
check "evaluate on .npy with --labels: exit 0" status_is 0 "$bnmlp" evaluate --model npy.bnmlp --data x.npy --labels y.npy
check "predict on .npy (label column left out): exit 0" status_is 0 "$bnmlp" predict --model npy2.bnmlp --data xy.npy --out npy.csv

# --- Help and version ----------------------------------------------------------------------
check "bnmlp --help: exit 0, lists the commands" sh -c "'$bnmlp' --help | grep -q '^  resume '"
check "bnmlp --version prints 0.1.0" sh -c "'$bnmlp' --version | grep -q 'bnmlp 0.1.0'"
for cmd in train resume evaluate predict summary; do
    check "bnmlp help $cmd: exit 0, usage on stdout" sh -c "'$bnmlp' help $cmd | grep -q '^usage: bnmlp $cmd'"
    check "bnmlp $cmd --help: exit 0, exit statuses documented" sh -c "'$bnmlp' $cmd --help | grep -q '^Exit status'"
done

# --- Usage errors: exit 2, a message naming the problem, the usage -------------------------
T="train --data data.csv --layers $spec --epochs 2 --quiet"
check "no command: exit 2" status_is 2 "$bnmlp"
check "unknown command: exit 2" status_is 2 "$bnmlp" frobnicate
check "unknown command: named" err_has "unknown command 'frobnicate'"
check "help of an unknown command: exit 2" status_is 2 "$bnmlp" help frobnicate
usage_error "unknown flag" "unknown flag '--bogus'" $T --bogus 1
usage_error "flag without its value" "--epochs needs a value" train --data data.csv --layers "$spec" --epochs
usage_error "bad number" "bad number for --epochs: 'ten'" train --data data.csv --layers "$spec" --epochs ten
usage_error "zero epochs" "bad number for --epochs: '0'" train --data data.csv --layers "$spec" --epochs 0
usage_error "learning rate 0" "bad number for --lr" $T --lr 0
usage_error "momentum above 1" "bad number for --momentum" $T --momentum 1.5
usage_error "--validation-split 1" "bad number for --validation-split" $T --validation-split 1
usage_error "negative --batch-size" "bad number for --batch-size" $T --batch-size -4
usage_error "flag given twice" "--epochs is given twice" $T --epochs 3
usage_error "a value to a flag without one" "--quiet takes no value" train --data data.csv --layers "$spec" --epochs 2 --quiet=yes
usage_error "positional argument" "unexpected argument 'extra'" $T extra
usage_error "missing --layers" "missing required flag --layers" train --data data.csv --epochs 2
usage_error "missing --data" "missing required flag --data" train --layers "$spec" --epochs 2
usage_error "missing --epochs" "missing required flag --epochs" train --data data.csv --layers "$spec"
usage_error "--validation-data with --validation-split" "--validation-data and --validation-split cannot be given together" \
    $T --validation-data test.csv --validation-split 0.2
usage_error "--labels with --label-column" "--labels and --label-column cannot be given together" \
    $T --labels y.npy --label-column 0
usage_error "--validation-labels alone" "--validation-labels needs --validation-data" $T --validation-labels y.npy
usage_error "--checkpoint without --checkpoint-every" "--checkpoint needs --checkpoint-every" $T --checkpoint c.ckpt
usage_error "unknown --loss" "unknown --loss 'hinge'" $T --loss hinge
usage_error "unknown --optimizer" "unknown --optimizer 'adagrad'" $T --optimizer adagrad
check "unknown --optimizer: the library's names are listed" err_has "sgd, adam, adamw, rmsprop"
usage_error "--momentum with adam" "--momentum does not apply to --optimizer adam" $T --optimizer adam --momentum 0.9
usage_error "--rho with sgd" "--rho does not apply to --optimizer sgd" $T --rho 0.9
usage_error "--rho 1" "bad value for --rho: 1 is out of range for --optimizer rmsprop" $T --optimizer rmsprop --rho 1
usage_error "--centered with a value" "--centered takes no value" $T --optimizer rmsprop --centered=1
usage_error "--rho without its value" "--rho needs a value" $T --optimizer rmsprop --rho
usage_error "--rho given twice" "--rho is given twice" $T --optimizer rmsprop --rho 0.9 --rho=0.8
check "--beta2 (any setting by its library name) trains adam: exit 0" status_is 0 "$bnmlp" $T --optimizer adam \
    --beta2 0.99 --epsilon-placement 1 --out beta2.bnmlp
usage_error "softmax with one output" "--loss softmax needs a last dense layer of 2 units or more" $T --loss softmax
usage_error "bad SPEC: unknown activation" "unknown dense option 'rleu'" \
    train --data data.csv --layers dense:50:rleu,bn,dense:1:sigmoid --epochs 2
check "bad SPEC: the SPEC is printed" err_has "    dense:50:rleu,bn,dense:1:sigmoid"
check "bad SPEC: a caret under the bad token" err_has "             ^~~~"
usage_error "bad SPEC: unknown layer" "unknown layer 'conv'" train --data data.csv --layers dense:4,conv,dense:1 --epochs 2
usage_error "bad SPEC: units" "the number of units must be an integer" train --data data.csv --layers dense:0 --epochs 2
usage_error "bad SPEC: bn momentum" "momentum must be a number from 0 to 1" \
    train --data data.csv --layers dense:4,bn:momentum=2,dense:1 --epochs 2
usage_error "bad SPEC: unknown bn option" "unknown bn option 'center'" \
    train --data data.csv --layers dense:4,bn:center=1,dense:1 --epochs 2
usage_error "bad SPEC: empty layer" "empty layer" train --data data.csv --layers dense:4,,dense:1 --epochs 2
usage_error "bad SPEC: no dense layer" "no dense layer" train --data data.csv --layers relu,bn --epochs 2
usage_error "bad SPEC: alpha on an activation without one" "alpha= applies only to an activation that takes one (relu takes none)" \
    train --data data.csv --layers dense:4:relu:alpha=0.1,dense:1 --epochs 2
usage_error "bad SPEC: dropout rate 1" "the dropout rate must be a number from 0 up to (not including) 1" \
    train --data data.csv --layers dense:4,dropout:1,dense:1 --epochs 2
usage_error "bad SPEC: dropout without a rate" "dropout needs a rate" train --data data.csv --layers dense:4,dropout,dense:1 --epochs 2
usage_error "bad SPEC: dropout with an option" "dropout takes only a rate" \
    train --data data.csv --layers dense:4,dropout:0.1:x,dense:1 --epochs 2
usage_error "bad SPEC: norm after another layer" "norm must be the first layer" \
    train --data data.csv --layers dense:4,norm,dense:1 --epochs 2
usage_error "bad SPEC: norm with an option" "norm takes no options" train --data data.csv --layers norm:1,dense:1 --epochs 2
usage_error "bad SPEC: a blank layer" "empty layer" train --data data.csv --layers "dense:4, ,dense:1" --epochs 2
# The activations the library's table has, by name and alias, with alpha where the row takes one.
check "every activation in SPEC: exit 0" status_is 0 "$bnmlp" train --data data.csv \
    --layers dense:8:elu,gelu,dense:8:swish,elu:alpha=0.5,dense:8:silu,tanh,dense:1:sigmoid --epochs 2 --quiet
usage_error "--label-column name on .npy data" "--label-column must be a 0-based index for .npy data" \
    train --data xy.npy --label-column label --layers dense:1:sigmoid --epochs 2
usage_error "resume without --checkpoint" "missing required flag --checkpoint" resume --data data.csv --epochs 50
usage_error "resume to fewer epochs than done" "has already done 40 epochs" \
    resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 40 $tutorial
usage_error "resume with another optimizer" "was trained with --optimizer sgd, not adam" \
    resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 60 --optimizer adam --out r.bnmlp
usage_error "resume with --layers" "unknown flag '--layers'" resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 60 --layers "$spec"
usage_error "evaluate without --data" "missing required flag --data" evaluate --model model.bnmlp
usage_error "predict without --out" "missing required flag --out" predict --model model.bnmlp --data test.csv
usage_error "predict --labels for an MSE model" "--labels needs a classifier" \
    predict --model mse.bnmlp --data test.csv --out m.csv --labels
usage_error "summary without --model" "missing required flag --model" summary
check "--threads 2: runs (library threads) or exit 2 naming bnmlp_model_set_threads" sh -c \
    "'$bnmlp' $T --threads 2 --out t.bnmlp 2>t.err; s=\$?; test \$s -eq 0 || { test \$s -eq 2 && grep -q bnmlp_model_set_threads t.err; }"

# --- --precision: bf16 mixed precision, kept in the model file ------------------------------
usage_error "train --precision fp16" "--precision fp16: expected fp32 or bf16" $T --precision fp16 --out p.bnmlp
usage_error "train --precision with no value" "--precision" $T --precision
usage_error "resume --precision (the checkpoint's is kept)" "unknown flag '--precision'" \
    resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 60 --precision bf16
check "train --precision fp32: the same model as without it, bit for bit" sh -c \
    "'$bnmlp' $T --seed 3 --out p0.bnmlp && '$bnmlp' $T --seed 3 --precision fp32 --out p1.bnmlp && cmp -s p0.bnmlp p1.bnmlp"
check "train --precision bf16 --checkpoint-every 1: exit 0" status_is 0 "$bnmlp" $T --seed 3 --precision bf16 \
    --out bf.bnmlp --checkpoint-every 1
check "the bf16 model differs from the fp32 one" sh -c "! cmp -s p0.bnmlp bf.bnmlp"
check "summary shows the dense layers' bf16" sh -c "'$bnmlp' summary --model bf.bnmlp | grep -q 'bf16'"
check "the fp32 summary does not" sh -c "! '$bnmlp' summary --model p0.bnmlp | grep -q 'bf16'"
check "resume of the bf16 checkpoint (epoch 2 to 3) gives the model of a 3-epoch bf16 run, bit for bit" sh -c \
    "'$bnmlp' resume --checkpoint bf.bnmlp.ckpt --data data.csv --epochs 3 --quiet --out bf3r.bnmlp && \
     '$bnmlp' train --data data.csv --layers '$spec' --epochs 3 --quiet --seed 3 --precision bf16 --out bf3.bnmlp && \
     cmp -s bf3r.bnmlp bf3.bnmlp"
check "predict with the bf16 model: exit 0" status_is 0 "$bnmlp" predict --model bf.bnmlp --data test.csv --out bf.csv
check "evaluate with the bf16 model: exit 0" status_is 0 "$bnmlp" evaluate --model bf.bnmlp --data test.csv
check "help train lists --precision fp32|bf16" sh -c "'$bnmlp' help train | grep -q -- '--precision fp32|bf16'"

# --- Runtime failures: exit 1, naming the path or the reason -------------------------------
: >afile
failure "missing data file" "missing.csv" train --data missing.csv --layers "$spec" --epochs 2
failure "missing model file" "missing.bnmlp" evaluate --model missing.bnmlp --data test.csv
failure "a model file that is not one" "data.csv" summary --model data.csv
failure "unwritable --out (no such directory)" "afile/model.bnmlp" $T --out afile/model.bnmlp
failure "unwritable --history" "nodir/h.csv" $T --history nodir/h.csv
failure "unwritable --plot" "nodir/c.svg" $T --plot nodir/c.svg
failure "unwritable checkpoint" "afile/c.ckpt" $T --checkpoint-every 1 --checkpoint afile/c.ckpt
failure "unwritable predictions" "nodir/p.csv" predict --model model.bnmlp --data test.csv --out nodir/p.csv
printf 'x0,x1,label\n0.5,abc,1\n0.1,0.2,0\n' >bad.csv
failure "a CSV field that is not a number" "line 2" train --data bad.csv --layers dense:1:sigmoid --epochs 2
printf 'x0,x1,label\n0.5,0.3,2\n0.1,0.2,0\n0.3,0.1,1\n' >label2.csv
failure "bce label other than 0 or 1" "label 2 is not 0 or 1" train --data label2.csv --layers dense:1:sigmoid --epochs 2
printf 'x0,x1,label\n0.5,0.3,3\n0.1,0.2,0\n0.3,0.1,1\n' >label3.csv
failure "softmax label beyond the classes" "not a class index from 0 to 1" \
    train --data label3.csv --layers dense:2:softmax --epochs 2
printf 'x0,x1,x2,label\n0.5,0.3,0.1,1\n0.1,0.2,0.2,0\n' >wide.csv
failure "evaluate on data of another width" "the model takes 2" evaluate --model model.bnmlp --data wide.csv
failure "--label-column not in the file" "nosuch" train --data data.csv --label-column nosuch --layers dense:1:sigmoid --epochs 2
failure "divergence" "diverged" train --data data.csv --layers dense:50:relu,dense:1:sigmoid --lr 1e6 --momentum 1 \
    --epochs 20 --out diverged.bnmlp --quiet
check "a diverged model is not saved" test ! -e diverged.bnmlp

# --- Never loses or clobbers work (issue 17): aliased outputs refused before training ----------
L="train --data data.csv --layers dense:4:relu,dense:1:sigmoid --epochs 2 --quiet"
cp data.csv data-before.csv
cp model.bnmlp model-before.bnmlp
failure "--history naming --out" "--out model.bnmlp and --history ./model.bnmlp are the same file" \
    $L --out model.bnmlp --history ./model.bnmlp
check "--history naming --out: the model is left as it was" cmp -s model.bnmlp model-before.bnmlp
failure "--out naming the training CSV" "--out data.csv would overwrite the input --data data.csv" $L --out data.csv
check "--out naming the training CSV: the data is left as it was" cmp -s data.csv data-before.csv
mkdir -p sub outdir
failure "--out naming the data through another path" "would overwrite the input --data" \
    $L --out "sub/../data.csv"
failure "--plot naming --history" "are the same file" $L --out o.bnmlp --history h2.csv --plot h2.csv
check "--plot naming --history: nothing written" test ! -e h2.csv -a ! -e o.bnmlp
failure "the checkpoint naming --out" "are the same file" $L --out o.bnmlp --checkpoint-every 1 --checkpoint o.bnmlp
failure "--validation-data naming --history" "would overwrite the input --validation-data" \
    $L --out o.bnmlp --validation-data test.csv --history test.csv
failure "--out naming a directory" "--out outdir is a directory" $L --out outdir
check "--out naming a directory: refused before the first epoch" sh -c '! grep -q "^Epoch" last.err && ! grep -q "^epoch" last.out'
failure "resume --out naming its checkpoint" "would overwrite the input --checkpoint part.bnmlp.ckpt" \
    resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 60 --out part.bnmlp.ckpt --quiet
failure "predict --out naming --data" "would overwrite the input --data test.csv" \
    predict --model model.bnmlp --data test.csv --out test.csv
failure "predict --out naming --model" "would overwrite the input --model model.bnmlp" \
    predict --model model.bnmlp --data test.csv --out ./model.bnmlp
check "after the refusals the inputs are intact" sh -c 'cmp -s data.csv data-before.csv && cmp -s model.bnmlp model-before.bnmlp'

# --- SIGINT / SIGTERM: the finished epochs are saved, exit 128 + signal ---------------------
# A run long enough to be interrupted: it polls for its progress, never sleeps long.
long="--data data.csv --layers dense:64:relu,bn,dense:64:relu,dense:1:sigmoid --epochs 1000000 --threads 1"
# wait_for PATTERN FILE: polls (up to 60 s) until FILE has a line matching PATTERN.
wait_for() {
    tries=0
    while ! grep -q "$1" "$2" 2>/dev/null; do
        tries=$((tries + 1))
        [ $tries -gt 600 ] && return 1
        sleep 0.1
    done
}
"$bnmlp" train $long --validation-split 0.5 --out sig.bnmlp --history sig.csv --plot sig.svg --checkpoint-every 1 \
    >sig.out 2>sig.err </dev/null &
sig_pid=$!
wait_for '^Epoch 3/' sig.err
kill -TERM $sig_pid
wait $sig_pid
sig_status=$?
check "SIGTERM during train: exit 143 (128 + 15)" test $sig_status -eq 143
sig_epochs=$(sed -n 's/.*interrupted by SIGTERM after epoch \([0-9]*\) of.*/\1/p' sig.err)
check "SIGTERM: the message names the signal and the last full epoch ($sig_epochs)" test -n "$sig_epochs"
check "SIGTERM: noted at once (finishing the epoch under way)" grep -q '^SIGTERM received: finishing epoch [0-9]*, then saving$' sig.err
check "SIGTERM: the model is saved" test -s sig.bnmlp
check "SIGTERM: the history has every finished epoch" test "$(lines sig.csv)" -eq $((${sig_epochs:-0} + 1))
check "SIGTERM: the plot is a complete SVG" is_svg sig.svg
check "SIGTERM: no temporary file is left" sh -c '! ls | grep -q "\.tmp$"'
check "SIGTERM: the checkpoint has the last full epoch" sh -c \
    "'$bnmlp' summary --model sig.bnmlp.ckpt | grep -q 'after ${sig_epochs:-0} epochs'"
check "SIGTERM: resume continues from the checkpoint" status_is 0 "$bnmlp" resume --checkpoint sig.bnmlp.ckpt \
    --data data.csv --validation-split 0.5 --epochs $((${sig_epochs:-0} + 2)) --out sig-resumed.bnmlp
check "SIGTERM: resumed at the epoch after the last saved one" grep -q "^Epoch $((${sig_epochs:-0} + 1))/" last.err
if command -v timeout >/dev/null 2>&1; then
    check "SIGINT (timeout -s INT) during train: exit 130" status_is 130 \
        timeout --preserve-status -s INT 2 "$bnmlp" train $long --out int.bnmlp --history int.csv
    check "SIGINT: the message names it" err_has "interrupted by SIGINT after epoch"
    check "SIGINT: the model and history are saved" sh -c 'test -s int.bnmlp && test "$(wc -l <int.csv)" -gt 1'
    check "SIGINT: the saved model loads and evaluates" status_is 0 "$bnmlp" evaluate --model int.bnmlp --data test.csv
    # Interrupting checkpoint writes at random points leaves no stray temporary file.
    mkdir -p ckpt-int
    for t in 0.3 0.45 0.6 0.75 0.9 1.05; do
        timeout --preserve-status -s INT $t "$bnmlp" train $long --out ckpt-int/m.bnmlp --checkpoint-every 1 \
            --quiet >/dev/null 2>&1 </dev/null
        echo $? >>ckpt-int/status
    done
    check "SIGINT during checkpoint writes (6 tries): exit 130 every time" \
        test "$(grep -c '^130$' ckpt-int/status)" -eq 6
    check "SIGINT during checkpoint writes: no temporary file left" sh -c '! ls ckpt-int | grep -q "tmp"'
else
    echo "skip    SIGINT checks: no timeout command"
fi

# --- resume restores the checkpoint's configuration ------------------------------------------
usage_error "resume of a plain model file" "model.bnmlp is a model file, not a checkpoint" \
    resume --checkpoint model.bnmlp --data data.csv --epochs 200 --out r.bnmlp
usage_error "resume with another --lr, no --override" "--lr 0.05 changes adam-part.bnmlp.ckpt's learning_rate" \
    resume --checkpoint adam-part.bnmlp.ckpt --data data.csv --epochs 12 --validation-split 0.5 --lr 0.05 --out r.bnmlp
check "resume without --override: says how to override" err_has "--override"
check "resume --lr with --override: exit 0, with a warning" status_is 0 "$bnmlp" resume --checkpoint adam-part.bnmlp.ckpt \
    --data data.csv --epochs 12 --validation-split 0.5 --lr 0.05 --override --out r.bnmlp --quiet
check "resume --override: the warning names the change" err_has "warning: --lr 0.05 replaces adam-part.bnmlp.ckpt's learning_rate 0.005"
usage_error "resume with another --batch-size" "--batch-size 16 changes part.bnmlp.ckpt's batch size (32)" \
    resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 60 --batch-size 16 --validation-split 0.5 --out r.bnmlp
usage_error "resume dropping --validation-split" "part.bnmlp.ckpt was trained on 500 rows, but --data data.csv with these flags gives 1000 training rows" \
    resume --checkpoint part.bnmlp.ckpt --data data.csv --epochs 60 --out r.bnmlp --quiet
check "resume dropping --validation-split with --override: exit 0, with a warning" status_is 0 "$bnmlp" resume \
    --checkpoint part.bnmlp.ckpt --data data.csv --epochs 42 --out r.bnmlp --quiet --override
check "resume --override on other rows: the warning says so" err_has "warning: training on 1000 rows instead of the 500"
check "train 8 epochs with --batch-size 16: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" \
    --epochs 8 --batch-size 16 --validation-split 0.5 --out b16.bnmlp --quiet
check "the same run stopped after 4 epochs with a checkpoint: exit 0" status_is 0 "$bnmlp" train --data data.csv \
    --layers "$spec" --epochs 4 --batch-size 16 --validation-split 0.5 --out b16-part.bnmlp --checkpoint-every 4 --quiet
check "resume without --batch-size takes the checkpoint's 16: the uninterrupted model, bit for bit" sh -c \
    "'$bnmlp' resume --checkpoint b16-part.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 \
    --out b16-resumed.bnmlp --quiet && cmp -s b16.bnmlp b16-resumed.bnmlp"

# --- Messages that point at the cause --------------------------------------------------------
printf 'x0,x1,x2,label\n0.5,0.3,0.1,2\n0.1,0.2,0.2,0\n' >wide2.csv
failure "evaluate on data of another width with labels the loss refuses: the width is named" \
    "has 3 feature columns; the model takes 2" evaluate --model model.bnmlp --data wide2.csv
check "... and not the label" sh -c '! grep -q "is not 0 or 1" last.err'
failure "an inferred loss that does not fit the labels is named" \
    "loss binary_crossentropy was inferred from the last layer; use --loss NAME" \
    train --data data.csv --layers dense:8:relu,dense:3:sigmoid --epochs 2 --quiet
usage_error "--loss softmax on a linear last layer" "--loss softmax needs class probabilities: end SPEC with a softmax, e.g. dense:3:softmax" \
    train --data data.csv --layers dense:16:relu,bn,dense:3 --loss softmax --epochs 2 --quiet
printf 'x0,x1,label\n0.5,0.3,1\n0.1,1e30,0\n0.3,0.1,1\n' >huge.csv
failure "a huge finite input is named, with its line" "huge.csv: line 3: feature 2 is 1e+30" \
    train --data huge.csv --layers dense:4:relu,dense:1:sigmoid --epochs 2 --quiet
check "a huge input: standardizing is suggested" err_has "standardize"
failure "a label error names the file's line (header counted)" "label2.csv: line 2: label 2 is not 0 or 1" \
    train --data label2.csv --layers dense:1:sigmoid --epochs 2
printf 'x0,x1\n0.5,-1.27\n0.1,0.2\n0.3,0.1\n' >nolabel.csv
failure "a file without a label column: the label column is pointed at" "the labels are the last column of the file" \
    train --data nolabel.csv --layers dense:2:softmax --epochs 2
printf '0.5,0.3,1\n0.1,0.2,0\n0.3,0.1,3\n' >noheader.csv
failure "a label error in a file without header: line = row" "noheader.csv: line 3: label 3 is not 0 or 1" \
    train --data noheader.csv --layers dense:1:sigmoid --epochs 2

# --- What train read, predict to stdout, --classes, summary, help ----------------------------
check "train prints what it read: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers dense:4:relu,dense:1:sigmoid \
    --epochs 1 --validation-split 0.5 --out read.bnmlp
check "train: rows and features read" err_has "Read data.csv: 1000 rows, 2 features, labels from the last column"
check "train: classes and their counts" err_has "Classes (binary_crossentropy): 0: 500 rows, 1: 500 rows"
check "train: training and validation rows" err_has "Training on 500 rows, validating on 500 rows"
check "predict --out - writes to stdout: exit 0" status_is 0 "$bnmlp" predict --model model.bnmlp --data test.csv --out -
check "predict --out -: the predictions on stdout, no file named -" sh -c \
    'test "$(head -n 1 last.out)" = p && test "$(wc -l <last.out)" -eq 501 && test ! -e ./-'
check "predict --out - gives the file's bytes" sh -c "'$bnmlp' predict --model model.bnmlp --data test.csv --out p.csv && cmp -s p.csv last.out"
check "predict --classes adds the label column" sh -c \
    "'$bnmlp' predict --model model.bnmlp --data test.csv --out pc.csv --classes && test \"\$(head -n 1 pc.csv)\" = p,label"
check "predict --labels (the old name) still works, with a warning" sh -c \
    "'$bnmlp' predict --model model.bnmlp --data test.csv --out pl.csv --labels 2>pl.err && cmp -s pl.csv pc.csv && grep -q 'now --classes' pl.err"
check "two batch-norm layers: exit 0" status_is 0 "$bnmlp" train --data data.csv --epochs 1 --quiet --out bn2.bnmlp \
    --layers "dense:8:relu:he_uniform,bn,dense:8:leaky_relu:alpha=0.2:nobias,bn:momentum=0.9:eps=1e-5:variance=unbiased,dense:1:sigmoid"
check "summary of a model with two batch-norm layers: exit 0" status_is 0 "$bnmlp" summary --model bn2.bnmlp
check "summary: every parameter count ends under 'Param #'" awk '
    /Param #/ { col = index($0, "Param #") + 6 }
    /^=/ { rule++ ; next }
    rule == 1 && col > 0 { if (substr($0, col, 1) !~ /[0-9]/ || substr($0, col + 1, 1) ~ /[0-9]/) bad = 1; rows++ }
    END { exit !(col > 0 && rows == 8 && !bad) }' last.out
check "summary: batch norm's settings, alpha, initializer" sh -c \
    'grep -q "momentum=0.9 eps=1e-05 variance=unbiased" last.out && grep -q "leaky_relu alpha=0.2" last.out && grep -q "he_uniform" last.out && grep -q "no bias" last.out'
check "help: --threads says 0 to 1024 and what 1 means" sh -c "'$bnmlp' help train | grep -q '0 to 1024' && '$bnmlp' help train | grep -q '1: no thread'"
check "help: the interruption status is documented" sh -c "'$bnmlp' help train | grep -q '130'"

# --- Text class labels --------------------------------------------------------------------
# train.csv / test.csv with their 0/1 labels as names ("inner ring" sorts before "outer, ring", so
# the classes keep their indices and the models must match the numeric ones).
awk -F, 'NR == 1 { print; next } { $NF = ($NF == 0 ? "inner ring" : "\"outer, ring\""); print }' OFS=, train.csv >train-text.csv
awk -F, 'NR == 1 { print; next } { $NF = ($NF == 0 ? "inner ring" : "\"outer, ring\""); print }' OFS=, test.csv >test-text.csv
check "text labels: train exit 0" status_is 0 "$bnmlp" train --data train-text.csv --layers "dense:8:relu,bn,dense:1:sigmoid" \
    --epochs 3 --out text.bnmlp
check "text labels: train names the classes it read" err_has 'Classes (binary_crossentropy): 0 "inner ring": '
check "numeric labels, same run: exit 0" status_is 0 "$bnmlp" train --data train.csv --layers "dense:8:relu,bn,dense:1:sigmoid" \
    --epochs 3 --out numeric.bnmlp --quiet
check "text labels: predictions equal the numeric model's" sh -c "'$bnmlp' predict --model text.bnmlp --data test.csv --out pt.csv && \
    '$bnmlp' predict --model numeric.bnmlp --data test.csv --out pn.csv && cmp -s pt.csv pn.csv"
check "predict --classes prints the class names" sh -c "'$bnmlp' predict --model text.bnmlp --data test-text.csv --out - --classes >names.csv && \
    head -n 1 names.csv | grep -qx 'p,label' && test \$(grep -c ',inner ring\$' names.csv) -gt 0 && \
    test \$(grep -c ',\"outer, ring\"\$' names.csv) -gt 0 && test \$(wc -l <names.csv) -eq 501"
check "predict --classes names agree with the numeric labels" sh -c "'$bnmlp' predict --model numeric.bnmlp --data test.csv --out - --classes | \
    sed -e 's/,0\$/,inner ring/' -e 's/,1\$/,\"outer, ring\"/' | cmp -s - names.csv"
check "predict --classes to a file" sh -c "'$bnmlp' predict --model text.bnmlp --data test.csv --out names2.csv --classes && cmp -s names.csv names2.csv"
check "evaluate with text labels: exit 0" status_is 0 "$bnmlp" evaluate --model text.bnmlp --data test-text.csv
cp last.out eval-text.out
check "evaluate with text labels equals evaluate with numbers" sh -c "'$bnmlp' evaluate --model numeric.bnmlp --data test.csv | cmp -s - eval-text.out"
sed '7s/inner ring$/inner rung/; 7s/"outer, ring"$/inner rung/' test-text.csv >test-unknown.csv
failure "evaluate: a class the model does not know" "test-unknown.csv: line 7: class 'inner rung' is not one of the model's classes" \
    evaluate --model text.bnmlp --data test-unknown.csv
failure "evaluate: text labels on a model trained on numbers" "the model has no class names" \
    evaluate --model numeric.bnmlp --data test-text.csv
sed '2s/inner ring$/middle/; 2s/"outer, ring"$/middle/' train-text.csv >train-three.csv
failure "train: 3 text classes for a 1-output model" "the label column names 3 classes" \
    train --data train-three.csv --layers "dense:4:relu,dense:1:sigmoid" --epochs 1 --out three.bnmlp --quiet
check "train: 3 text classes with a 3-way softmax: exit 0" status_is 0 "$bnmlp" train --data train-three.csv \
    --layers "dense:4:relu,dense:3:softmax" --epochs 1 --out three.bnmlp --quiet
check "train: text validation data mapped through the names: exit 0" status_is 0 "$bnmlp" train --data train-text.csv \
    --validation-data test-text.csv --layers "dense:4:relu,dense:1:sigmoid" --epochs 1 --out tv.bnmlp --quiet
check "text labels: train with a checkpoint: exit 0" status_is 0 "$bnmlp" train --data train-text.csv \
    --layers "dense:4:relu,dense:1:sigmoid" --epochs 2 --out tc.bnmlp --checkpoint-every 1 --quiet
check "text labels: resume maps them through the checkpoint's names: exit 0" status_is 0 "$bnmlp" resume \
    --checkpoint tc.bnmlp.ckpt --data train-text.csv --epochs 3 --out tc3.bnmlp --quiet
check "text labels: the resumed model still names its classes" sh -c \
    "'$bnmlp' predict --model tc3.bnmlp --data test.csv --out - --classes | grep -q ',inner ring\$'"
failure "train: validation data with a class the training data lacks" "class 'inner rung' is not one of the model's classes" \
    train --data train-text.csv --validation-data test-unknown.csv --layers "dense:4:relu,dense:1:sigmoid" --epochs 1 --out tv.bnmlp --quiet
# --- Class weights: --class-weight, --weight-normalization, kept by checkpoints ----------------
# An imbalanced set: every row of class 0 of the tutorial's data, one in six of class 1 (about 500
# and 80), halved into a training and a test part.
awk -F, 'NR == 1 || $NF == 0 || NR % 6 == 0' data.csv >imbalanced.csv
awk 'NR == 1 || NR % 2 == 0' imbalanced.csv >imb-train.csv
awk 'NR == 1 || NR % 2 == 1' imbalanced.csv >imb-test.csv
imb="--layers $spec $tutorial --epochs 60 --quiet"
check "imbalanced set: train without class weights: exit 0" status_is 0 "$bnmlp" train --data imb-train.csv $imb --out imb-plain.bnmlp
check "imbalanced set: train --class-weight balanced: exit 0" status_is 0 "$bnmlp" train --data imb-train.csv $imb \
    --class-weight balanced --out imb-balanced.bnmlp
plain_recall=$("$bnmlp" evaluate --model imb-plain.bnmlp --data imb-test.csv --metrics recall | sed -n 's/^recall: \([0-9.]*\).*/\1/p')
balanced_recall=$("$bnmlp" evaluate --model imb-balanced.bnmlp --data imb-test.csv --metrics recall | sed -n 's/^recall: \([0-9.]*\).*/\1/p')
echo "        minority recall: ${plain_recall:-?} without class weights, ${balanced_recall:-?} balanced"
check "balanced class weights raise the minority class's recall" \
    awk -v a="${plain_recall:-1}" -v b="${balanced_recall:-0}" 'BEGIN { exit !(b > a + 0.1) }'
check "train prints the balanced weights (training rows only) in what it read" sh -c \
    "'$bnmlp' train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp \
    --class-weight balanced --validation-split 0.5 2>&1 >/dev/null | grep -q '^Class weights (balanced, normalization batch): 0: 0\.[0-9]*, 1: [0-9.]*\$'"
check "explicit weights with the weight-sum normalization: exit 0" status_is 0 "$bnmlp" train --data imb-train.csv \
    --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight 1:5 --weight-normalization sum
check "what it read: unlisted classes weigh 1" err_has 'Class weights (1:5, normalization sum): 0: 1, 1: 5'
check "text labels: weights by class name: exit 0" status_is 0 "$bnmlp" train --data train-text.csv \
    --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight '"outer, ring":2,inner ring:0.5'
check "text labels: the weights are printed with the names" \
    err_has 'Class weights ("outer, ring":2,inner ring:0.5, normalization batch): 0 "inner ring": 0.5, 1 "outer, ring": 2'
check "class weights change the run" sh -c "'$bnmlp' train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid \
    --epochs 2 --out cw1.bnmlp --quiet && ! cmp -s cw1.bnmlp cw.bnmlp"
check "weights of 1 give the unweighted model, bit for bit" sh -c "'$bnmlp' train --data imb-train.csv \
    --layers dense:2:relu,dense:1:sigmoid --epochs 2 --out cw2.bnmlp --quiet --class-weight 0:1,1:1 && cmp -s cw1.bnmlp cw2.bnmlp"
check "class weights: train 4 epochs: exit 0" status_is 0 "$bnmlp" train --data imb-train.csv $tutorial \
    --layers "$spec" --epochs 4 --class-weight balanced --weight-normalization sum --out cw4.bnmlp --quiet
check "class weights: the same run stopped after 2 with a checkpoint: exit 0" status_is 0 "$bnmlp" train \
    --data imb-train.csv $tutorial --layers "$spec" --epochs 2 --class-weight balanced --weight-normalization sum \
    --out cw2part.bnmlp --checkpoint-every 2 --quiet
check "resume continues with the checkpoint's class weights: exit 0" status_is 0 "$bnmlp" resume \
    --checkpoint cw2part.bnmlp.ckpt --data imb-train.csv --epochs 4 --out cw4resumed.bnmlp
check "resume says which class weights it continues with" \
    err_has 'Class weights (from the checkpoint, normalization sum): 0: 0.'
check "resumed with the stored class weights: the uninterrupted model, bit for bit" cmp -s cw4.bnmlp cw4resumed.bnmlp
usage_error "--class-weight: an unknown class" "--class-weight: unknown class '2' (the model's classes: the class indices 0 to 1)" \
    train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight 0:1,2:3
usage_error "--class-weight: an unknown class name" "unknown class 'middle' (the model's classes: the class names \"inner ring\", \"outer, ring\" or the indices 0 to 1)" \
    train --data train-text.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight middle:2
usage_error "--class-weight: a negative weight" "--class-weight: the weight '-1' of class 1 is not a number from 0 to" \
    train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight 1:-1
usage_error "--class-weight: a weight that is no number" "the weight 'heavy' of class 0" \
    train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight 0:heavy
usage_error "--class-weight: a class given twice" "--class-weight: class 1 (index 1) is given twice" \
    train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight 1:2,0:1,1:3
usage_error "--class-weight: an item without a weight" "bad --class-weight item '1' (expected CLASS:WEIGHT, or balanced)" \
    train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight 1
usage_error "--class-weight with mean squared error" "--class-weight needs classes: the loss mean_squared_error" \
    train --data imb-train.csv --layers dense:2:relu,dense:1 --loss mse --epochs 1 --out cw.bnmlp --class-weight balanced
# Every row of class 1 last: --validation-split 0.2 leaves the training rows none of them.
{ head -n 1 imb-train.csv; awk -F, 'NR > 1 && $NF == 0' imb-train.csv; awk -F, 'NR > 1 && $NF == 1' imb-train.csv; } >ones-last.csv
usage_error "--class-weight balanced: a class without training rows" "--class-weight balanced: class 1 has no training row" \
    train --data ones-last.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight balanced \
    --validation-split 0.2
usage_error "--weight-normalization: an unknown name" "unknown --weight-normalization 'mean' (expected one of batch, sum)" \
    train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --class-weight balanced \
    --weight-normalization mean
usage_error "--weight-normalization without --class-weight" "--weight-normalization needs --class-weight" \
    train --data imb-train.csv --layers dense:2:relu,dense:1:sigmoid --epochs 1 --out cw.bnmlp --weight-normalization sum

# --- Training controls: early stopping, reduce-LR-on-plateau, schedules, --save-best -------
# The tutorial's model with BN: its val_loss rises over the first epochs, so patience 3 stops it.
check "--early-stopping 3,0,restore: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" \
    --epochs 60 $tutorial --validation-split 0.5 --early-stopping 3,0,restore --quiet --out es.bnmlp --history es.csv
cp last.out es.out
check "--early-stopping: stopped before --epochs (says so on stdout)" grep -q '^early stopping after epoch [0-9]*: no val_loss improvement in 3 epochs' es.out
check "--early-stopping: the history ends at the stopping epoch" test "$(lines es.csv)" -lt 61
best=$(sed -n 's/^restored the weights of epoch \([0-9]*\) (best val_loss).*/\1/p' es.out)
check "--early-stopping ...,restore: names the restored epoch" test -n "$best"
best_val_loss=$(awk -F, -v e="$best" '$1 == e { printf "%.4f", $4 }' es.csv)
check "restore: the history has the restored epoch's row" test -n "$best_val_loss"
check "restore: the saved model has the best epoch's val_loss (evaluate on the validation rows)" sh -c \
    "'$bnmlp' evaluate --model es.bnmlp --data test.csv | grep -q '^loss: $best_val_loss '"
check "--save-best without --early-stopping: all the epochs run" status_is 0 "$bnmlp" train --data data.csv \
    --layers "$spec" --epochs 8 $tutorial --validation-split 0.5 --save-best --quiet --out sb.bnmlp --history sb.csv
check "--save-best: 8 epochs in the history" test "$(lines sb.csv)" -eq 9
check "--save-best: the best epoch's weights are saved" grep -q '^restored the weights of epoch [0-9]* (best val_loss); sb.bnmlp holds them' last.out
check "--save-best --monitor loss (no validation): exit 0" status_is 0 "$bnmlp" train --data data.csv \
    --layers dense:4:relu,dense:1:sigmoid --epochs 4 --save-best --monitor loss --quiet --out sbl.bnmlp
check "--save-best --monitor loss: names loss" grep -q '(best loss)' last.out
check "--reduce-lr 0.5,0: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 6 $tutorial \
    --validation-split 0.5 --reduce-lr 0.5,0 --quiet --out rl.bnmlp --history rl.csv
check "--reduce-lr: the history has a learning_rate column" test "$(head -n 1 rl.csv)" = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate"
check "--reduce-lr: some epoch ran at half the rate of the one before" awk -F, '
    NR > 2 && $6 + 0 > 0 && prev + 0 > 0 && ($6 / prev > 0.49 && $6 / prev < 0.51) { found = 1 }
    NR > 1 { prev = $6 }
    END { exit !found }' rl.csv
check "--lr-schedule step:3:0.5: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers dense:4:relu,dense:1:sigmoid \
    --epochs 7 --lr 0.1 --lr-schedule step:3:0.5 --quiet --out st.bnmlp --history st.csv
check "--lr-schedule step:3:0.5: rates 0.1 x3, 0.05 x3, 0.025" test "$(cut -d, -f6 st.csv | tr '\n' ' ')" = \
    "learning_rate 0.100000001 0.100000001 0.100000001 0.0500000007 0.0500000007 0.0500000007 0.0250000004 "
check "--lr-schedule multistep:2,4:0.1: rates 0.1, 0.01 at epoch 3, 0.001 at epoch 5" sh -c \
    "'$bnmlp' train --data data.csv --layers dense:4:relu,dense:1:sigmoid --epochs 5 --lr 0.1 --lr-schedule multistep:2,4:0.1 --quiet --out ms.bnmlp --history ms.csv >/dev/null &&
     test \"\$(cut -d, -f6 ms.csv | tr '\n' ' ')\" = 'learning_rate 0.100000001 0.100000001 0.00999999978 0.00999999978 0.00100000005 '"
for schedule in exp:0.9 cosine cosine:5:0.001 onecycle:0.2 onecycle:0.2:0.5; do
    check "--lr-schedule $schedule: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers dense:4:relu,dense:1:sigmoid \
        --epochs 6 --lr 0.1 --lr-schedule "$schedule" --quiet --out sc.bnmlp --history sc.csv
done
check "--lr-schedule onecycle:0.2: peaks at 0.2" grep -q ',0.200000003$' sc.csv
check "--standardize: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers dense:4:relu,dense:1:sigmoid \
    --epochs 3 --standardize --quiet --out std.bnmlp
check "--standardize: the same model as a SPEC starting with norm, bit for bit" sh -c \
    "'$bnmlp' train --data data.csv --layers norm,dense:4:relu,dense:1:sigmoid --epochs 3 --quiet --out norm.bnmlp >/dev/null && cmp -s std.bnmlp norm.bnmlp"
check "--standardize: summary shows the normalization layer" sh -c "'$bnmlp' summary --model std.bnmlp | grep -q Normalization"

check "help train: the training controls and the schedule kinds" sh -c \
    "'$bnmlp' help train | grep -q -- '--early-stopping P' && '$bnmlp' help train | grep -q 'onecycle:MAX_LR'"
controls="train --data data.csv --layers dense:4:relu,dense:1:sigmoid --epochs 4 --out bad.bnmlp --quiet"
for bad in x -1 1.5 3,-1 3,x 3,restore,0 3,0.1,foo 3,1,2,3 ""; do
    usage_error "--early-stopping '$bad'" "--early-stopping" $controls --early-stopping "$bad"
done
for bad in 1,2 0,2 0.5 0.5,x 0.5,-1 0.5,2,-1 0.5,2,1,4 ""; do
    usage_error "--reduce-lr '$bad'" "--reduce-lr" $controls --reduce-lr "$bad"
done
for bad in foo step step:0 step:x step:3:0 step:1:2:3 multistep multistep:5,2 multistep:0 multistep:1,,2 exp exp:0 \
    exp:-1 cosine:0 cosine:5:-1 onecycle onecycle:0 onecycle:0.1:1 onecycle:0.1:0.05 constant ""; do
    usage_error "--lr-schedule '$bad'" "--lr-schedule" $controls --lr-schedule "$bad"
done
usage_error "--monitor alone" "--monitor needs --early-stopping" $controls --monitor loss
usage_error "--monitor unknown" "unknown --monitor 'foo'" $controls --early-stopping 2 --monitor foo
usage_error "--monitor val_loss without validation" "needs validation rows" $controls --early-stopping 2 --monitor val_loss
usage_error "--monitor val_accuracy without validation" "needs validation rows" $controls --save-best --monitor val_accuracy
usage_error "--monitor accuracy with mse" "needs a loss with an accuracy" train --data data.csv --layers dense:1:linear \
    --loss mse --epochs 2 --quiet --out bad.bnmlp --early-stopping 1 --monitor accuracy
usage_error "--reduce-lr with --lr-schedule" "--reduce-lr and --lr-schedule cannot be given together" $controls \
    --reduce-lr 0.5,2 --lr-schedule exp:0.9
usage_error "--standardize with a SPEC starting with norm" "already starts with one" train --data data.csv \
    --layers norm,dense:1:sigmoid --epochs 1 --standardize
usage_error "--standardize takes no value" "--standardize takes no value" $controls --standardize=1
usage_error "--save-best takes no value" "--save-best takes no value" $controls --save-best=yes
check "no model written by a refused control" test ! -e bad.bnmlp

# --- evaluate's metrics and confusion matrix (the library's accumulators over every row) ----
check "evaluate (binary): exit 0" status_is 0 "$bnmlp" evaluate --model model.bnmlp --data test.csv
cp last.out eval.out
check "evaluate (binary): precision, recall, F1, AUC on one line" \
    grep -q '^accuracy: [0-9.]*  precision: [0-9.]*  recall: [0-9.]*  f1_score: [0-9.]*  auc: [0-9.]*  roc_auc: [0-9.]*$' eval.out
eval_accuracy=$(metric accuracy eval.out)
check "evaluate (binary): the metric accuracy is evaluate's" test "$(sed -n 's/^accuracy: \([0-9.]*\) .*/\1/p' eval.out)" = "$eval_accuracy"
check "evaluate (binary): a 2 x 2 confusion matrix of the 500 rows, its diagonal the accuracy" awk -v acc="$eval_accuracy" '
    /^confusion matrix/ { on = 1; next }
    on && $1 == 0 && NF == 2 { next }
    on && NF == 3 { total += $2 + $3; right += ($1 == 0 ? $2 : $3); rows++; if ($1 == 1) { tp = $3; fn = $2 } else { fp = $3 } }
    END { exit !(rows == 2 && total == 500 && sprintf("%.4f", right / total) == acc) }' eval.out
tp=$(awk '/^confusion/ { on = 1; next } on && NF == 3 && $1 == 1 { print $3 }' eval.out)
fp=$(awk '/^confusion/ { on = 1; next } on && NF == 3 && $1 == 0 { print $3 }' eval.out)
fn=$(awk '/^confusion/ { on = 1; next } on && NF == 3 && $1 == 1 { print $2 }' eval.out)
check "evaluate (binary): precision and recall agree with the matrix" test \
    "$(metric precision eval.out) $(metric recall eval.out)" = \
    "$(awk -v tp="$tp" -v fp="$fp" -v fn="$fn" 'BEGIN { printf "%.4f %.4f", tp / (tp + fp), tp / (tp + fn) }')"
check "evaluate --metrics auc,f1: those two, in that order" sh -c \
    "'$bnmlp' evaluate --model model.bnmlp --data test.csv --metrics auc,f1 | sed -n 2p | grep -q '^auc: [0-9.]*  f1_score: [0-9.]*\$'"
check "evaluate (softmax, 2 classes): top-k, macro and weighted F1, a 2 x 2 matrix" sh -c \
    "'$bnmlp' evaluate --model softmax.bnmlp --data test.csv >sm.out && grep -q '  top_k_categorical_accuracy: [0-9.]*  f1_macro: [0-9.]*  f1_weighted: [0-9.]*\$' sm.out && grep -q '^confusion matrix' sm.out"
awk -F, 'NR == 1 { print; next } { $3 = NR % 3; print }' OFS=, data.csv >three.csv
check "3 classes: train" status_is 0 "$bnmlp" train --data three.csv --layers dense:8:relu,dense:3:softmax --epochs 2 \
    --quiet --out three.bnmlp
check "evaluate (3 classes): a 3 x 3 matrix of the 1000 rows" sh -c \
    "'$bnmlp' evaluate --model three.bnmlp --data three.csv | awk '/^confusion/ { on = 1; next } on && NF == 4 && \$1 ~ /^[0-2]\$/ { n += \$2 + \$3 + \$4; r++ } END { exit !(r == 3 && n == 1000) }'"
check "evaluate (mse): MAE, RMSE, R², no matrix" sh -c \
    "'$bnmlp' evaluate --model mse.bnmlp --data test.csv >mse.out && grep -q '^mean_absolute_error: [0-9.]*  root_mean_squared_error: [0-9.]*  r2_score: -*[0-9.]*\$' mse.out && ! grep -q confusion mse.out"
check "evaluate (mse): RMSE squared is the loss" awk '
    /^loss:/ { loss = $2 } /root_mean_squared_error/ { for (i = 1; i <= NF; i++) if ($i == "root_mean_squared_error:") r = $(i + 1) }
    END { d = r * r - loss; exit !(d < 0.0002 && d > -0.0002) }' mse.out
for bad in foo mae confusion_matrix auc,auc "auc,,f1" ","; do
    usage_error "evaluate --metrics '$bad'" "--metrics" evaluate --model model.bnmlp --data test.csv --metrics "$bad"
    check "evaluate --metrics '$bad': nothing on stdout" test ! -s last.out
done
usage_error "evaluate --metrics accuracy for mse names the task" "not a metric of this model's task, regression" \
    evaluate --model mse.bnmlp --data test.csv --metrics accuracy

# --- train --metrics: per epoch, on the training and the validation rows --------------------
check "train --metrics auc,f1,precision: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 5 \
    $tutorial --validation-split 0.5 --metrics auc,f1,precision --out mt.bnmlp --history mt.csv
cp last.out mt.out
cp last.err mt.err
check "--metrics: history columns NAME then val_NAME" test "$(head -n 1 mt.csv)" = \
    "epoch,loss,accuracy,val_loss,val_accuracy,auc,f1_score,precision,val_auc,val_f1_score,val_precision"
check "--metrics: every epoch's row has the 10 fields" awk -F, 'NR > 1 && NF != 11 { bad = 1 } END { exit bad || NR != 6 }' mt.csv
check "--metrics: on every progress line" test "$(grep -c '  auc: [0-9.]*  f1_score: [0-9.]*  precision: [0-9.]*  val_auc: [0-9.]*  val_f1_score: [0-9.]*  val_precision: [0-9.]*$' mt.err)" -eq 5
check "--metrics: on the last epoch's stdout line" grep -q '^epoch 5/5  .*  val_precision: [0-9.]*$' mt.out
last_val=$(awk -F, 'END { printf "auc: %.4f  f1_score: %.4f  precision: %.4f", $9, $10, $11 }' mt.csv)
check "--metrics: the last epoch's val_ values are evaluate's on the validation rows" sh -c \
    "'$bnmlp' evaluate --model mt.bnmlp --data test.csv --metrics auc,f1,precision | sed -n 2p | grep -qx '$last_val'"
check "--metrics: training is unchanged (the same model and history, bit for bit)" sh -c \
    "'$bnmlp' train --data data.csv --layers '$spec' --epochs 5 $tutorial --validation-split 0.5 --quiet --out mt0.bnmlp --history mt0.csv >/dev/null &&
     cmp -s mt.bnmlp mt0.bnmlp && cut -d, -f1-5 mt.csv | cmp -s - mt0.csv"
check "--metrics without validation: the training columns only" sh -c \
    "'$bnmlp' train --data data.csv --layers dense:4:relu,dense:1 --loss mse --epochs 2 --metrics rmse,r2 --quiet --out mr.bnmlp --history mr.csv >/dev/null &&
     test \"\$(head -n 1 mr.csv)\" = epoch,loss,accuracy,val_loss,val_accuracy,root_mean_squared_error,r2_score"
check "--metrics accuracy: the training value is Keras's (fit's own accuracy, from the same training-mode outputs)" sh -c \
    "'$bnmlp' train --data data.csv --layers '$spec' --epochs 3 $tutorial --validation-split 0.5 --metrics accuracy --quiet --out ma.bnmlp --history ma.csv >/dev/null &&
     awk -F, 'NR > 1 && (\$6 != \$3 || \$7 != \$5) { bad = 1 } END { exit bad || NR != 4 }' ma.csv"
check "--monitor val_auc --metrics auc --early-stopping: watches the metric (Keras's monitor=\"val_auc\")" sh -c \
    "'$bnmlp' train --data data.csv --layers '$spec' --epochs 30 $tutorial --validation-split 0.5 --metrics auc --monitor val_auc \
       --early-stopping 2,0,restore --quiet --out mv.bnmlp --history mv.csv >mv.out &&
     grep -q '^early stopping after epoch [0-9]*: no val_auc improvement in 2 epochs (best: epoch [0-9]*)' mv.out &&
     grep -q '^restored the weights of epoch [0-9]* (best val_auc)' mv.out"
usage_error "--monitor val_auc without auc in --metrics" "--monitor val_auc needs auc in --metrics" train --data data.csv \
    --layers "$spec" --epochs 2 --validation-split 0.5 --metrics f1 --monitor val_auc --early-stopping 2 --quiet --out bad.bnmlp
usage_error "--monitor val_metric (the library's generic name)" "unknown --monitor 'val_metric'" train --data data.csv \
    --layers "$spec" --epochs 2 --validation-split 0.5 --metrics auc --monitor val_metric --early-stopping 2 --quiet --out bad.bnmlp
for bad in foo mae confusion_matrix auc,auc "auc," ""; do
    usage_error "train --metrics '$bad'" "--metrics" train --data data.csv --layers "$spec" --epochs 2 --quiet \
        --out bad.bnmlp --metrics "$bad"
done
check "no model written by a refused --metrics" test ! -e bad.bnmlp

# --- resume takes the controls and --metrics (not --standardize) -----------------------------
check "resume source: train 4 epochs with checkpoints" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" \
    --epochs 4 $tutorial --validation-split 0.5 --quiet --out rc.bnmlp --checkpoint-every 2
check "resume --early-stopping 1,0,restore --metrics auc (--override: rc's run had none): exit 0" status_is 0 \
    "$bnmlp" resume --checkpoint rc.bnmlp.ckpt --data data.csv --validation-split 0.5 --epochs 40 \
    --early-stopping 1,0,restore --metrics auc --quiet --out rc2.bnmlp --history rc2.csv --override
check "resume --early-stopping --override: the warning names the stored none" \
    err_has "warning: --early-stopping (patience 1, min_delta 0, monitor val_loss, restore) replaces rc.bnmlp.ckpt's early stopping (none) (--override)"
check "resume --metrics: the history has auc and val_auc from epoch 5" sh -c \
    "test \"\$(head -n 1 rc2.csv)\" = epoch,loss,accuracy,val_loss,val_accuracy,auc,val_auc && test \"\$(sed -n 2p rc2.csv | cut -d, -f1)\" = 5"
check "resume --metrics: epoch 5's values are the uninterrupted run's (mt.csv)" test \
    "$(sed -n 2p rc2.csv | cut -d, -f6)" = "$(sed -n 6p mt.csv | cut -d, -f6)"
check "resume --early-stopping ...,restore: restores an epoch of the resumed run" grep -q '^restored the weights of epoch [0-9]* (best val_loss)' last.out
usage_error "resume --lr-schedule on a run without one" "--lr-schedule (exp:0.9) changes rc.bnmlp.ckpt's learning-rate schedule (none)" \
    resume --checkpoint rc.bnmlp.ckpt --data data.csv --validation-split 0.5 --epochs 8 --lr-schedule exp:0.9
usage_error "resume --monitor alone" "--monitor needs --early-stopping" resume --checkpoint rc.bnmlp.ckpt \
    --data data.csv --epochs 8 --monitor loss
usage_error "resume --metrics mae on a binary model" "not a metric of this model's task" resume --checkpoint rc.bnmlp.ckpt \
    --data data.csv --epochs 8 --metrics mae

# --- A resumed run's history and plot include the epochs before the resume ---------------------
check "history source: 8 epochs uninterrupted, with --metrics auc" status_is 0 "$bnmlp" train --data data.csv \
    --layers "$spec" --epochs 8 --validation-split 0.5 --metrics auc --quiet --out hf.bnmlp --history hf.csv --plot hf.svg
check "history source: the same run stopped after 3 epochs with a checkpoint" status_is 0 "$bnmlp" train \
    --data data.csv --layers "$spec" --epochs 3 --validation-split 0.5 --metrics auc --quiet --out hp.bnmlp \
    --history hp.csv --checkpoint-every 3
check "resume --history naming the interrupted run's history: exit 0" status_is 0 "$bnmlp" resume \
    --checkpoint hp.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --metrics auc --quiet \
    --out hr.bnmlp --history hp.csv --plot hr.svg
check "resume: the history continues the file, byte for byte the uninterrupted run's" cmp -s hf.csv hp.csv
check "resume: the plot's curves include the epochs before the resume" sh -c \
    "grep -v '<text' hf.svg >hf.curves && grep -v '<text' hr.svg >hr.curves && cmp -s hf.curves hr.curves"
printf 'epoch,loss\n1,0.5\n' >not-history.csv
failure "resume --history naming a file that is not a history" "--history not-history.csv exists but cannot be continued" \
    resume --checkpoint hp.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --quiet --out hn.bnmlp \
    --history not-history.csv
check "... refused before training: nothing written, the file kept" sh -c \
    "test ! -e hn.bnmlp && test \"\$(cat not-history.csv)\" = \"\$(printf 'epoch,loss\\n1,0.5')\""
head -n 3 hf.csv >short-history.csv
failure "resume --history with fewer epochs than the checkpoint" "it holds 2 epochs, not the 3 the checkpoint has done" \
    resume --checkpoint hp.bnmlp.ckpt --data data.csv --epochs 8 --validation-split 0.5 --quiet --out hn.bnmlp \
    --history short-history.csv

# --- resume continues the checkpoint's controls: settings and state, bit for bit ------------
# The tutorial's model stops after epoch 4 (patience 3, best epoch 1); interrupted after epoch 2
# and resumed with no control flag, early stopping triggers after the resume and puts back epoch
# 1's weights, from before it, and the step schedule goes on.
controls="--early-stopping 3,0,restore --lr-schedule step:2:0.7"
check "controls: the whole run: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 60 \
    $tutorial --validation-split 0.5 $controls --quiet --out cw.bnmlp --history cw.csv
check "controls: the whole run stops after epoch 4, best epoch 1" \
    grep -q '^early stopping after epoch 4: no val_loss improvement in 3 epochs (best: epoch 1)' last.out
check "controls: the run interrupted after epoch 2, with a checkpoint: exit 0" status_is 0 "$bnmlp" train \
    --data data.csv --layers "$spec" --epochs 2 $tutorial --validation-split 0.5 $controls --quiet --out cp.bnmlp \
    --checkpoint-every 2
check "controls: resume with no control flag: exit 0" status_is 0 "$bnmlp" resume --checkpoint cp.bnmlp.ckpt \
    --data data.csv --validation-split 0.5 --epochs 60 --quiet --out cr.bnmlp --history cr.csv
check "controls: early stopping triggers after the resume, restoring epoch 1" sh -c \
    "grep -q '^early stopping after epoch 4: ' last.out && grep -q '^restored the weights of epoch 1 (best val_loss)' last.out"
check "controls: the resumed model is the uninterrupted one, byte for byte" cmp -s cw.bnmlp cr.bnmlp
check "controls: the resumed history is the uninterrupted one's epochs 3 and 4, byte for byte" sh -c \
    "head -n 1 cw.csv >cw-tail.csv && tail -n +4 cw.csv >>cw-tail.csv && cmp -s cw-tail.csv cr.csv"
check "controls: the same flags again are fine" status_is 0 "$bnmlp" resume --checkpoint cp.bnmlp.ckpt \
    --data data.csv --validation-split 0.5 --epochs 60 --quiet --out cr2.bnmlp $controls
check "controls: ... and give the same model" cmp -s cw.bnmlp cr2.bnmlp
usage_error "resume with another --lr-schedule" \
    "--lr-schedule (step:3:0.7) changes cp.bnmlp.ckpt's learning-rate schedule (step:2:0.7)" \
    resume --checkpoint cp.bnmlp.ckpt --data data.csv --validation-split 0.5 --epochs 60 --out r.bnmlp --lr-schedule step:3:0.7
usage_error "resume with another --early-stopping" \
    "--early-stopping (patience 4, min_delta 0, monitor val_loss) changes cp.bnmlp.ckpt's early stopping (patience 3, min_delta 0, monitor val_loss, restore)" \
    resume --checkpoint cp.bnmlp.ckpt --data data.csv --validation-split 0.5 --epochs 60 --out r.bnmlp --early-stopping 4
usage_error "resume with another --monitor" "monitor val_accuracy, restore) changes cp.bnmlp.ckpt's early stopping" \
    resume --checkpoint cp.bnmlp.ckpt --data data.csv --validation-split 0.5 --epochs 60 --out r.bnmlp \
    --early-stopping 3,0,restore --monitor val_accuracy
usage_error "resume adding --reduce-lr" "--reduce-lr (factor 0.5, patience 2, min_lr 0, monitor val_loss) changes cp.bnmlp.ckpt's reduce-LR-on-plateau (none)" \
    resume --checkpoint cp.bnmlp.ckpt --data data.csv --validation-split 0.5 --epochs 60 --out r.bnmlp --reduce-lr 0.5,2
check "resume --lr-schedule step:3:0.7 --override: exit 0" status_is 0 "$bnmlp" resume --checkpoint cp.bnmlp.ckpt \
    --data data.csv --validation-split 0.5 --epochs 60 --quiet --out co.bnmlp --lr-schedule step:3:0.7 --override \
    --history co.csv
check "resume --override: the warning names the old and new schedule" \
    err_has "warning: --lr-schedule (step:3:0.7) replaces cp.bnmlp.ckpt's learning-rate schedule (step:2:0.7) (--override)"
check "resume --override: the new schedule's rates (epoch 3 at 0.01)" sh -c \
    'test "$(sed -n 2p co.csv | cut -d, -f6)" = 0.00999999978 && test "$(sed -n 2p cr.csv | cut -d, -f6)" = 0.00699999975'

# --- --plot: headroom above accuracy 1.0, --plot-log, the best and restored epochs marked ----
check "--plot with early stopping's restore: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" \
    --epochs 12 $tutorial --validation-split 0.5 --early-stopping 3,0,restore --quiet --out pm.bnmlp --history pm.csv \
    --plot pm.svg
check "--plot: a complete SVG" is_svg pm.svg
best_epoch=$(awk -F, 'NR > 1 && (best == "" || $4 + 0 < best + 0) { best = $4; epoch = $1 } END { print epoch }' pm.csv)
restored=$(sed -n 's/^restored the weights of epoch \([0-9]*\).*/\1/p' last.out)
check "--plot: the lowest val_loss's epoch ($best_epoch) is marked on both panels" \
    test "$(grep -c ">best val_loss: epoch $best_epoch<" pm.svg)" -eq 2
check "--plot: the restored epoch ($restored) is marked on both panels" \
    test "$(grep -c ">restored: epoch $restored<" pm.svg)" -eq 2
check "--plot without validation: no best-epoch marker" sh -c \
    "'$bnmlp' train --data data.csv --layers dense:4:relu,dense:1:sigmoid --epochs 3 --quiet --out pn.bnmlp --plot pn.svg >/dev/null && ! grep -q 'best val_loss' pn.svg"
check "--plot-log: exit 0" status_is 0 "$bnmlp" train --data data.csv --layers "$spec" --epochs 12 $tutorial \
    --validation-split 0.5 --quiet --out pl.bnmlp --plot pl.svg --plot-log
check "--plot-log: the loss axis's ticks are evenly spaced in log10 (constant ratios), not in value" awk '
    /translate\(0 500\)/ { exit }
    /text-anchor="end"/ { sub(/<\/text>.*/, ""); sub(/.*>/, ""); v[n++] = $0 + 0 }
    END { if (n < 3) exit 1; r1 = v[1] / v[0]; r2 = v[2] / v[1]; d1 = v[1] - v[0]; d2 = v[2] - v[1]
          exit !(r1 - r2 < 0.02 && r2 - r1 < 0.02 && (d2 - d1 > 0.001 || d1 - d2 > 0.001)) }' pl.svg
usage_error "--plot-log without --plot" "--plot-log needs --plot" train --data data.csv --layers "$spec" --epochs 1 \
    --plot-log
awk -F, 'NR == 1 { print; next } { print $1 "," $2 "," ($1 > 0 ? 1 : 0) }' data.csv >separable.csv
check "--plot on separable data (accuracy near 1): exit 0" status_is 0 "$bnmlp" train --data separable.csv \
    --layers dense:4:relu,dense:1:sigmoid --epochs 20 --lr 0.5 --quiet --out sep.bnmlp --plot sep.svg
check "--plot: room above the accuracy panel's top tick (not on the frame)" awk '
    /translate\(0 500\)/ { on = 1 }
    on && /text-anchor="end"/ { match($0, /y="[0-9.]*"/); y = substr($0, RSTART + 3, RLENGTH - 4) }
    END { exit !(y + 0 > 74.5) }' sep.svg

# --- export: the library's formats (docs/deploy.md) -------------------------------------------
check "export --format c: exit 0, --out created" status_is 0 "$bnmlp" export --model model.bnmlp --format c \
    --out exported/c --name tutorial
check "export wrote tutorial.h and tutorial.c, nothing else" \
    sh -c 'test -s exported/c/tutorial.h && test -s exported/c/tutorial.c && test "$(ls exported/c | wc -l)" -eq 2'
check "export --with-test --test-rows 4 --weights int8: exit 0" status_is 0 "$bnmlp" export --model model.bnmlp \
    --format c --out exported/c --name tutorial8 --with-test --test-rows 4 --weights int8
check "the self-test stores 4 rows and int8 kernels" \
    sh -c 'grep -q "^#define ROWS 4$" exported/c/tutorial8_test.c && grep -q "static const int8_t" exported/c/tutorial8.c'
check "export twice: the same bytes" sh -c "'$bnmlp' export --model model.bnmlp --format c --out exported/again \
    --name tutorial && cmp -s exported/c/tutorial.c exported/again/tutorial.c"
check "help export lists the library's formats" sh -c "'$bnmlp' help export | grep -q '^  c  '"
check "bnmlp --help lists export" sh -c "'$bnmlp' --help | grep -q '^  export '"
usage_error "export without --format" "missing required flag --format" export --model model.bnmlp --out x
usage_error "export --format unknown" "unknown --format 'pdf' (the library's formats: c" export --model model.bnmlp \
    --format pdf --out x
usage_error "export --weights int4" "--weights takes float32 or int8, not int4" export --model model.bnmlp --format c \
    --out x --weights int4
usage_error "export --test-rows without --with-test" "--test-rows needs --with-test" export --model model.bnmlp \
    --format c --out x --test-rows 3
usage_error "export --name 9lives" "the name must be a C identifier" export --model model.bnmlp --format c \
    --out bad-name-dir --name 9lives
check "a refused export leaves no directory it created" test ! -e bad-name-dir
failure "export --out over a file (a directory format)" "exists and is not a directory" export --model model.bnmlp \
    --format c --out model.bnmlp
failure "export whose files would overwrite the model" "--model" export --model exported/c/tutorial.c --format c \
    --out exported/c --name tutorial
failure "export of a missing model" "cannot load model missing.bnmlp" export --model missing.bnmlp --format c --out x
mkdir -p own-code && printf 'int main(void) { return 0; }\n' >own-code/tutorial.c
failure "export --format c over a file it did not write" "own-code/tutorial.c exists and was not written by bnmlp export" \
    export --model model.bnmlp --format c --out own-code --name tutorial
check "... the file is kept, and nothing else is written" sh -c \
    "test \"\$(cat own-code/tutorial.c)\" = 'int main(void) { return 0; }' && test \"\$(ls own-code)\" = tutorial.c"
check "export --format onnx: exit 0" status_is 0 "$bnmlp" export --model model.bnmlp --format onnx --out exported/m.onnx
check "export --format onnx: one file, ONNX's ModelProto (ir_version 7 first: bytes 08 07)" sh -c \
    "test -s exported/m.onnx && test \"\$(od -An -tx1 -N2 exported/m.onnx | tr -d ' ')\" = 0807"
check "export --format onnx twice: the same bytes" sh -c "'$bnmlp' export --model model.bnmlp --format onnx \
    --out exported/m2.onnx && cmp -s exported/m.onnx exported/m2.onnx"
usage_error "export --format onnx --with-test" "this format has no self-test" export --model model.bnmlp --format onnx \
    --out exported/t.onnx --with-test
check "... nothing written" test ! -e exported/t.onnx
failure "export --format onnx into a missing directory" "missing-dir/m.onnx" export --model model.bnmlp --format onnx \
    --out missing-dir/m.onnx
failure "export --format onnx over the model" "would overwrite the input --model" export --model model.bnmlp \
    --format onnx --out ./model.bnmlp

# --- import: safetensors with PyTorch's nn.Sequential names (tools/gen_safetensors_fixtures.py) --------
st="$fixtures/../safetensors"
torch_spec="dense:8,bn:eps=0.001:momentum=0.9:variance=unbiased,relu,dropout:0.2,dense:6:tanh,bn:eps=1e-5:momentum=0.9:variance=unbiased,dense:3:softmax"
check "import a libbnmlp export (architecture from its metadata): exit 0" \
    status_is 0 "$bnmlp" import --from "$st/libbnmlp_model.safetensors" --out imported.bnmlp
check "import: the saved model has the export's 10 layers and loss" sh -c \
    "'$bnmlp' summary --model imported.bnmlp | grep -q 'Loss: categorical_crossentropy' &&
     test \$('$bnmlp' summary --model imported.bnmlp | grep -c '^ [a-z_0-9]* (') -eq 10"
check "import a PyTorch file with --layers: exit 0" \
    status_is 0 "$bnmlp" import --from "$st/torch_model.safetensors" --layers "$torch_spec" --out torch.bnmlp --quiet
check "import --quiet prints nothing" test ! -s last.out
check "import: the PyTorch model is saved" test -s torch.bnmlp
check "export --format safetensors of the tutorial's model: exit 0" \
    status_is 0 "$bnmlp" export --model model.bnmlp --format safetensors --out tutorial.safetensors
check "import it back: exit 0" status_is 0 "$bnmlp" import --from tutorial.safetensors --out tutorial-back.bnmlp --quiet
check "the imported model predicts the test half as the trained one, bit for bit" sh -c \
    "'$bnmlp' predict --model model.bnmlp --data test.csv --out p-trained.csv &&
     '$bnmlp' predict --model tutorial-back.bnmlp --data test.csv --out p-back.csv && cmp -s p-trained.csv p-back.csv"
check "export --format safetensors twice: the same bytes" sh -c \
    "'$bnmlp' export --model tutorial-back.bnmlp --format safetensors --out again.safetensors &&
     cmp -s tutorial.safetensors again.safetensors"
failure "import of a PyTorch file without --layers" "needs --layers" import --from "$st/torch_model.safetensors" \
    --out x.bnmlp
failure "import with --layers of another width" "has shape (8, 5); layer 0 needs (7, 5)" import \
    --from "$st/torch_model.safetensors" --layers "dense:7,bn,relu,dropout:0.2,dense:6:tanh,bn,dense:3:softmax" \
    --out x.bnmlp
failure "import with --layers missing a batch norm" "tensor '2.weight' (layer 2, dense) is missing" import \
    --from "$st/torch_model.safetensors" --layers "dense:8,relu,dense:6,dense:6:tanh,bn,dense:3:softmax" --out x.bnmlp
head -c 100 "$st/torch_model.safetensors" >truncated.safetensors
failure "import of a truncated file" "header of" import --from truncated.safetensors --out x.bnmlp
failure "import of a missing file" "missing.safetensors" import --from missing.safetensors --out x.bnmlp
check "a failed import writes no model" test ! -e x.bnmlp
usage_error "import without --from" "--from" import --out x.bnmlp
usage_error "import without --out" "--out" import --from "$st/torch_model.safetensors"
usage_error "import --loss without --layers" "--loss needs --layers" import --from "$st/torch_model.safetensors" \
    --out x.bnmlp --loss mse
usage_error "import with a bad --layers" "dense" import --from "$st/torch_model.safetensors" --out x.bnmlp \
    --layers "dense:zero"

# --- quantize: the int8 inference form (docs/deploy.md, "int8") -----------------------------
check "quantize --calibration train.csv: exit 0" status_is 0 "$bnmlp" quantize --model model.bnmlp \
    --calibration train.csv --out int8.bnmlp
check "quantize wrote the int8 model; the float model is untouched" sh -c \
    "test -s int8.bnmlp && '$bnmlp' summary --model model.bnmlp | grep -vq DenseInt8"
check "summary of the int8 model names its int8 layers" sh -c "'$bnmlp' summary --model int8.bnmlp | grep -q DenseInt8"
check "predict reads the int8 model: one row per data row" sh -c \
    "'$bnmlp' predict --model int8.bnmlp --data test.csv --out int8-pred.csv && test \$(wc -l <int8-pred.csv) -eq 501"
check "evaluate reads the int8 model" sh -c "'$bnmlp' evaluate --model int8.bnmlp --data test.csv >int8-eval.txt"
check "the int8 model's test accuracy is within 0.02 of the float model's" sh -c \
    "'$bnmlp' evaluate --model model.bnmlp --data test.csv >float-eval.txt && awk -v a=\$(sed -n 's/.*accuracy: \\([0-9.]*\\).*/\\1/p' float-eval.txt | head -n 1) \
    -v b=\$(sed -n 's/.*accuracy: \\([0-9.]*\\).*/\\1/p' int8-eval.txt | head -n 1) 'BEGIN { d = a - b; exit !(a != \"\" && b != \"\" && d <= 0.02 && d >= -0.02) }'"
check "bnmlp --help lists quantize" sh -c "'$bnmlp' --help | grep -q '^  quantize '"
usage_error "quantize without --calibration" "missing required flag --calibration" quantize --model model.bnmlp \
    --out q.bnmlp
failure "quantize --out over its model" "--model" quantize --model model.bnmlp --calibration train.csv \
    --out model.bnmlp
failure "quantize --out over its calibration data" "--calibration" quantize --model model.bnmlp \
    --calibration train.csv --out train.csv
failure "quantize on calibration data of another width" "the model takes 2" quantize --model model.bnmlp \
    --calibration wide.csv --out q.bnmlp
failure "quantize on missing calibration data" "missing.csv" quantize --model model.bnmlp \
    --calibration missing.csv --out q.bnmlp
failure "quantize of an int8 model" "already an int8 model" quantize --model int8.bnmlp \
    --calibration train.csv --out q.bnmlp
check "refused quantizations write nothing" test ! -e q.bnmlp
failure "resume of an int8 model" "cannot be trained" resume --checkpoint int8.bnmlp --data data.csv --epochs 2
failure "export of an int8 model" "cannot be exported" export --model int8.bnmlp --format onnx --out q.onnx

# --- Progress on a terminal: a newline per epoch, never wider than the terminal ------------
if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
    COLUMNS=60 script -qec "'$bnmlp' train --data data.csv --layers dense:4:relu,dense:1:sigmoid --epochs 5 \
        --validation-split 0.5 --out tty.bnmlp" /dev/null </dev/null >tty.txt 2>&1
    tr '\r' '\n' <tty.txt >tty-lines.txt
    check "terminal progress: every epoch's validation values stay on screen" \
        test "$(grep -c 'val_accuracy: [0-9.]*$' tty-lines.txt)" -ge 5
    check "terminal progress: no line wider than the terminal (60)" \
        awk '/^(Epoch |    )/ && length($0) > 59 { bad = 1 } END { exit bad }' tty-lines.txt
    check "terminal progress: each epoch's line is redrawn per batch before its final one" sh -c \
        "for e in 1 2 3 4 5; do test \$(grep -c \"^Epoch \$e/5 \" tty-lines.txt) -ge 2 || exit 1; done"
    check "terminal progress: a batch's line shows the running loss and accuracy, without validation" awk '
        /^Epoch 1\/5  [0-9]*\/16 .*accuracy: [0-9.]*$/ { if ((getline next_line) > 0 && next_line !~ /val_loss/) found = 1 }
        END { exit !found }' tty-lines.txt
else
    echo "skip    terminal progress checks: no script(1)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
