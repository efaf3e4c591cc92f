/*
 * quantize.c - `bnmlp quantize --model m.bnmlp --calibration x.csv --out q.bnmlp`: the int8
 * inference form of a saved model (bnmlp_model_quantize; docs/deploy.md, "int8"), calibrated on
 * the rows of --calibration (read as predict reads its data: a label column is left out), saved
 * as a model file that predict and evaluate read and train and resume refuse. --out is written
 * atomically and never names an input.
 */
#include "quantize.h"

#include <stdio.h>

#include "args.h"
#include "bnmlp.h"
#include "dataio.h"
#include "safety.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

const char QUANTIZE_USAGE[] =
    "usage: bnmlp quantize --model FILE --calibration FILE --out FILE [--label-column COL]\n"
    "                      [--threads N] [--quiet]\n";

const char QUANTIZE_HELP[] =
    "Writes the int8 inference form of a saved model (docs/deploy.md, \"int8\"): batch norm folded,\n"
    "every dense layer's kernel int8 per output column (scale max|w| / 127), its input int8 per\n"
    "tensor with the scale max|x| / 127 over the calibration rows, int32 sums; activations and the\n"
    "loss stay float32. predict and evaluate read the file; train and resume refuse it.\n"
    "\n"
    "  --model FILE            a model saved by bnmlp train (never overwritten)\n"
    "  --calibration FILE      CSV or .npy rows the model will see (e.g. its training data); a\n"
    "                          file with one column more than the model's inputs has its label\n"
    "                          column left out (the last one, or --label-column)\n"
    "  --label-column COL      the column to leave out: a CSV header name or a 0-based index\n"
    "  --out FILE              the int8 model file to write\n"
    "  --threads N             threads of the library's pool (default 0: all online cores)\n"
    "  --quiet                 print nothing on success\n";

static const flag_spec QUANTIZE_FLAGS[] = {
    {"--model", VALUE_STRING, FIELD(model), 0, 0, CLOSED},
    {"--calibration", VALUE_STRING, FIELD(data), 0, 0, CLOSED},
    {"--label-column", VALUE_STRING, FIELD(label_column), 0, 0, CLOSED},
    {"--out", VALUE_STRING, FIELD(out), 0, 0, CLOSED},
    {"--threads", VALUE_SIZE, FIELD(threads), 0, 1024, CLOSED},
    {"--quiet", VALUE_SET_TRUE, FIELD(quiet), 0, 0, CLOSED},
};

int run_quantize(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    int status = command_parse_flags(cmd, QUANTIZE_FLAGS, COUNT_OF(QUANTIZE_FLAGS), &opts, argc, argv, first);
    static const char *const required[] = {"--model", "--calibration", "--out", NULL};
    if (status >= 0 || (status = command_require_flags(cmd, &opts, required)) >= 0) return status;
    const path_role roles[] = {
        {"--model", opts.model, false}, {"--calibration", opts.data, false}, {"--out", opts.out, true}};
    if (!paths_check(cmd->name, roles, COUNT_OF(roles))) return CLI_EXIT_FAILURE;
    bnmlp_model *model = command_load_model(cmd, opts.model, "model");
    if (model == NULL) return CLI_EXIT_FAILURE;
    if (bnmlp_model_is_quantized(model)) {
        cli_failure(cmd->name, "%s is already an int8 model: quantize the float model it came from",
                    opts.model);
        bnmlp_model_free(model);
        return CLI_EXIT_FAILURE;
    }
    bnmlp_status result =
        cli_given(&opts, "--threads") ? bnmlp_model_set_threads(model, opts.threads) : BNMLP_OK;
    const data_source source = {.path = opts.data, .label_column = opts.label_column};
    bnmlp_tensor *x = NULL;
    bnmlp_model *quantized = NULL;
    int exit_status = CLI_EXIT_FAILURE;
    if (result != BNMLP_OK) {
        cli_failure(cmd->name, "cannot use --threads %zu: %s", opts.threads, bnmlp_status_string(result));
    } else if (data_read_features(cmd->name, &source, bnmlp_model_input_width(model), &x)) {
        quantized = bnmlp_model_quantize(model, x, NULL, &result);
        if (quantized == NULL)
            cli_failure(cmd->name, "cannot quantize %s on the rows of %s: %s", opts.model, opts.data,
                        bnmlp_status_string(result));
        else if ((result = bnmlp_model_save(quantized, opts.out)) != BNMLP_OK)
            cli_failure(cmd->name, "cannot write %s: %s", opts.out, bnmlp_status_string(result));
        else
            exit_status = CLI_EXIT_OK;
    }
    if (exit_status == CLI_EXIT_OK && !opts.quiet)
        printf("quantized %s to int8 on %zu calibration rows: %zu layers -> %s\n", opts.model, x->rows,
               bnmlp_model_layer_count(quantized), opts.out);
    bnmlp_model_free(quantized);
    bnmlp_tensor_free(x);
    bnmlp_model_free(model);
    return exit_status;
}
