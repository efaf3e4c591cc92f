/*
 * command.c - what every subcommand of the bnmlp tool shares (command.h).
 */
#include "command.h"

#include "usage.h"

void command_print_help(const command *cmd, FILE *out) {
    fputs(cmd->usage, out);
    fputs("\n", out);
    fputs(cmd->help, out);
    if (cmd->more_help != NULL) {
        cmd->more_help(out);
    }
    fputs(EXIT_STATUS_HELP, out);
}

void command_print_usage(const command *cmd) {
    fputs(cmd->usage, stderr);
    fprintf(stderr, "Run 'bnmlp help %s' for every flag.\n", cmd->name);
}

int command_usage_error(const command *cmd, const char *message, const char *detail) {
    cli_usage_error(cmd->name, "%s%s", message, detail != NULL ? detail : "");
    command_print_usage(cmd);
    return CLI_EXIT_USAGE;
}

int command_parse_flags(const command *cmd, const flag_spec *table, size_t count, cli_options *opts, int argc,
                        char **argv, int first) {
    cli_options_default(opts);
    parse_result result = cli_parse(opts, cmd->name, table, count, first, argc, argv);
    if (result == PARSE_HELP) {
        command_print_help(cmd, stdout);
        return CLI_EXIT_OK;
    }
    if (result == PARSE_ERROR) {
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int command_require_flags(const command *cmd, const cli_options *opts, const char *const *names) {
    for (size_t i = 0; names[i] != NULL; i++) {
        if (!cli_given(opts, names[i])) {
            return command_usage_error(cmd, "missing required flag ", names[i]);
        }
    }
    return -1;
}

bnmlp_model *command_load_model(const command *cmd, const char *path, const char *what) {
    bnmlp_error_detail detail = {0};
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_load(path, NULL, &detail, &status);
    if (model == NULL) {
        if (status == BNMLP_ERR_FILE_OPEN || detail.message[0] == '\0') {
            cli_failure(cmd->name, "cannot load %s %s: %s", what, path,
                        detail.message[0] != '\0' ? detail.message : bnmlp_status_string(status));
        } else {
            cli_failure(cmd->name, "cannot load %s %s: %s (at byte %llu: %s)", what, path,
                        bnmlp_status_string(status), (unsigned long long)detail.offset, detail.message);
        }
    }
    return model;
}
