/*
 * import.c - `bnmlp import --from PATH.safetensors [--layers SPEC] --out m.bnmlp`: the weights of a
 * safetensors file (PyTorch's nn.Sequential names; docs/deploy.md) into a model file. The
 * architecture comes from the file's metadata (a libbnmlp export), or from --layers, parsed as
 * train parses it, for a file PyTorch wrote.
 */
#include "import.h"

#include <stdio.h>

#include "args.h"
#include "bnmlp.h"
#include "command.h"
#include "spec.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

const char IMPORT_USAGE[] =
    "usage: bnmlp import --from FILE.safetensors --out FILE [--layers SPEC] [--loss NAME]\n"
    "                    [--batch-size N] [--seed K] [--quiet]\n";

const char IMPORT_HELP[] =
    "Reads a safetensors file with PyTorch's nn.Sequential names (\"0.weight\", \"1.running_mean\", ...)\n"
    "and saves it as a model file. A file bnmlp export wrote carries its architecture; a file\n"
    "PyTorch wrote needs --layers, in train's SPEC language, with one layer per nn.Sequential\n"
    "module (dense:N adds its activation as the next module; a BatchNorm1d is bn with its eps and\n"
    "momentum = 1 - PyTorch's, see docs/deploy.md). Names, dtypes and shapes must match exactly.\n"
    "\n"
    "  --from FILE             the safetensors file\n"
    "  --out FILE              the model file to write\n"
    "  --layers SPEC           the architecture (as bnmlp train --layers), instead of the file's\n"
    "  --loss NAME             with --layers: the loss (default: from the last activation, as train)\n"
    "  --batch-size N          the largest batch the saved model is built for. Default 32\n"
    "  --seed K                the model's seed (its fit shuffles when trained on). Default 1\n"
    "  --quiet                 print nothing on success\n";

static const flag_spec IMPORT_FLAGS[] = {
    {"--from", VALUE_STRING, FIELD(from), 0, 0, CLOSED},
    {"--out", VALUE_STRING, FIELD(out), 0, 0, CLOSED},
    {"--layers", VALUE_STRING, FIELD(layers), 0, 0, CLOSED},
    {"--loss", VALUE_STRING, FIELD(loss), 0, 0, CLOSED},
    {"--batch-size", VALUE_SIZE, FIELD(batch_size), 1, 1000000, CLOSED},
    {"--seed", VALUE_U32, FIELD(seed), 0, 4294967295.0, CLOSED},
    {"--quiet", VALUE_SET_TRUE, FIELD(quiet), 0, 0, CLOSED},
};

/* Reports a failed read of path. Returns 1. */
static int read_failure(const command *cmd, const char *path, bnmlp_status status,
                        const bnmlp_error_detail *detail) {
    if (detail->message[0] == '\0')
        cli_failure(cmd->name, "cannot import %s: %s", path, bnmlp_status_string(status));
    else
        cli_failure(cmd->name, "cannot import %s: %s (at byte %llu: %s)", path, bnmlp_status_string(status),
                    (unsigned long long)detail->offset, detail->message);
    return CLI_EXIT_FAILURE;
}

/* The model of --layers SPEC with the file's weights; NULL (reported, *exit set) on failure. */
static bnmlp_model *import_with_spec(const command *cmd, const cli_options *opts, int *exit_status) {
    static layer_spec spec;
    spec_error problem;
    if (!spec_parse(opts->layers, &spec, &problem)) {
        spec_print_error(stderr, cmd->name, opts->layers, &problem);
        command_print_usage(cmd);
        *exit_status = CLI_EXIT_USAGE;
        return NULL;
    }
    bnmlp_loss loss = spec_last_activation(&spec) == BNMLP_ACTIVATION_SOFTMAX
                          ? BNMLP_LOSS_CATEGORICAL_CROSSENTROPY
                          : BNMLP_LOSS_BINARY_CROSSENTROPY;
    if (opts->loss != NULL && bnmlp_loss_from_name(opts->loss, &loss) != BNMLP_OK) {
        *exit_status = command_usage_error(cmd, "unknown --loss (see bnmlp help train for the names)", NULL);
        return NULL;
    }
    bnmlp_error_detail detail = {0};
    size_t width = 0;
    bnmlp_status status = bnmlp_safetensors_input_width(opts->from, &width, &detail);
    if (status != BNMLP_OK) {
        *exit_status = read_failure(cmd, opts->from, status, &detail);
        return NULL;
    }
    bnmlp_model *model = bnmlp_model_create(width, &status);
    if (model != NULL && (status = spec_add_layers(&spec, model, opts->seed)) == BNMLP_OK &&
        (status = bnmlp_model_set_loss(model, loss)) == BNMLP_OK)
        status = bnmlp_model_build(model, opts->batch_size, opts->seed);
    if (status != BNMLP_OK) {
        cli_failure(cmd->name, "cannot build the model of --layers %s for %zu inputs: %s", opts->layers,
                    width, bnmlp_status_string(status));
        bnmlp_model_free(model);
        *exit_status = CLI_EXIT_FAILURE;
        return NULL;
    }
    status = bnmlp_model_load_safetensors(model, opts->from, &detail);
    if (status != BNMLP_OK) {
        *exit_status = read_failure(cmd, opts->from, status, &detail);
        bnmlp_model_free(model);
        return NULL;
    }
    return model;
}

int run_import(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    cli_options_default(&opts);
    const parse_result parsed =
        cli_parse(&opts, cmd->name, IMPORT_FLAGS, COUNT_OF(IMPORT_FLAGS), first, argc, argv);
    if (parsed == PARSE_HELP) {
        command_print_help(cmd, stdout);
        return CLI_EXIT_OK;
    }
    if (parsed == PARSE_ERROR) {
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    if (!cli_given(&opts, "--from")) return command_usage_error(cmd, "missing required flag --from", NULL);
    if (!cli_given(&opts, "--out")) return command_usage_error(cmd, "missing required flag --out", NULL);
    if (cli_given(&opts, "--loss") && !cli_given(&opts, "--layers"))
        return command_usage_error(cmd, "--loss needs --layers (a file with metadata carries its loss)",
                                   NULL);
    int exit_status = CLI_EXIT_FAILURE;
    bnmlp_model *model = NULL;
    if (opts.layers != NULL) {
        model = import_with_spec(cmd, &opts, &exit_status);
    } else {
        bnmlp_safetensors_config config = BNMLP_SAFETENSORS_DEFAULT;
        config.max_batch = opts.batch_size;
        config.seed = opts.seed;
        bnmlp_error_detail detail = {0};
        bnmlp_status status;
        model = bnmlp_model_import_safetensors(opts.from, &config, &status, &detail);
        if (model == NULL) {
            exit_status = read_failure(cmd, opts.from, status, &detail);
            if (status == BNMLP_ERR_UNSUPPORTED && detail.message[0] != '\0')
                fprintf(stderr, "bnmlp import: a file PyTorch wrote needs --layers SPEC\n");
        }
    }
    if (model == NULL) return exit_status;
    const bnmlp_status saved = bnmlp_model_save(model, opts.out);
    if (saved != BNMLP_OK) {
        cli_failure(cmd->name, "cannot write %s: %s", opts.out, bnmlp_status_string(saved));
        bnmlp_model_free(model);
        return CLI_EXIT_FAILURE;
    }
    if (!opts.quiet)
        printf("imported %s: %zu layers, %zu inputs, %zu outputs, loss %s -> %s\n", opts.from,
               bnmlp_model_layer_count(model), bnmlp_model_input_width(model),
               bnmlp_model_output_width(model), bnmlp_loss_name(bnmlp_model_loss(model)), opts.out);
    bnmlp_model_free(model);
    return CLI_EXIT_OK;
}
