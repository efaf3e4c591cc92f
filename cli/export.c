/*
 * export.c - `bnmlp export`: loads a saved model and writes it in one of the library's export
 * formats (bnmlp_model_export). The formats, their sentences and whether each writes a directory
 * come from the library, so a new format needs nothing here. For a directory format, --out is
 * created if missing (as mkdir -p; directories created for an export that then fails are removed
 * again); the files it will hold are checked against the model like any other output.
 */
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "args.h"
#include "bnmlp.h"
#include "command.h"
#include "safety.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* Longest path the command builds (OUT/NAME_test.c). */
#define PATH_SIZE 4096

/* Most directories --out may need created. */
#define MAX_CREATED 64

/* Most rows a self-test may store. */
#define MAX_TEST_ROWS 100000

static const flag_spec EXPORT_FLAGS[] = {
    {"--model", VALUE_STRING, FIELD(model), 0, 0, CLOSED},
    {"--format", VALUE_STRING, FIELD(format), 0, 0, CLOSED},
    {"--out", VALUE_STRING, FIELD(out), 0, 0, CLOSED},
    {"--name", VALUE_STRING, FIELD(export_name), 0, 0, CLOSED},
    {"--with-test", VALUE_SET_TRUE, FIELD(with_test), 0, 0, CLOSED},
    {"--test-rows", VALUE_SIZE, FIELD(test_rows), 1, MAX_TEST_ROWS, CLOSED},
    {"--weights", VALUE_STRING, FIELD(weights), 0, 0, CLOSED},
};

/* The weight storages --weights takes; the names are the tool's words for the library's enum. */
static const struct {
    const char *name;
    bnmlp_export_weights weights;
} WEIGHTS[] = {
    {"float32", BNMLP_EXPORT_WEIGHTS_FLOAT32},
    {"int8", BNMLP_EXPORT_WEIGHTS_INT8},
};

void export_print_formats(FILE *out) {
    fprintf(out, "\nFormats (--format), from the library:\n");
    for (size_t i = 0; i < bnmlp_export_format_count(); i++) {
        fprintf(out, "  %-12s %s%s\n", bnmlp_export_format_name(i), bnmlp_export_format_summary(i),
                bnmlp_export_format_writes_directory(i) ? " (--out: a directory)" : "");
    }
}

/* "a, b, c": the library's format names, into buffer. */
static void list_formats(char *buffer, size_t size) {
    size_t used = 0;
    buffer[0] = '\0';
    for (size_t i = 0; i < bnmlp_export_format_count() && used < size; i++) {
        int n = snprintf(buffer + used, size - used, "%s%s", i > 0 ? ", " : "", bnmlp_export_format_name(i));
        used += n > 0 ? (size_t)n : 0;
    }
}

/* Creates path and its missing parents (mkdir -p), recording each directory created in created
 * (*count of them, in creation order); false (reported) when one cannot be made. */
static bool make_directories(const command *cmd, const char *path, char created[][PATH_SIZE], size_t *count) {
    char partial[PATH_SIZE];
    size_t length = strlen(path);
    if (length >= sizeof partial) {
        cli_failure(cmd->name, "the path %s is too long", path);
        return false;
    }
    for (size_t end = 1; end <= length; end++) {
        if (end < length && path[end] != '/') continue;
        memcpy(partial, path, end);
        partial[end] = '\0';
        struct stat info;
        if (stat(partial, &info) == 0) {
            if (!S_ISDIR(info.st_mode)) {
                cli_failure(cmd->name, "cannot create directory %s: %s exists and is not a directory", path,
                            partial);
                return false;
            }
            continue;
        }
        if (mkdir(partial, 0777) != 0 && errno != EEXIST) {
            cli_failure(cmd->name, "cannot create directory %s: %s", partial, strerror(errno));
            return false;
        }
        if (*count < MAX_CREATED) memcpy(created[(*count)++], partial, end + 1);
    }
    return true;
}

/* Removes the directories make_directories created, newest first (rmdir: only if still empty). */
static void remove_directories(char created[][PATH_SIZE], size_t count) {
    while (count-- > 0) rmdir(created[count]);
}

/* Checks the files a directory format writes (OUT/NAME.h, OUT/NAME.c, OUT/NAME_test.c: the C
 * format's; another directory format's files are its own) against the model; false (reported). */
static bool check_directory_outputs(const command *cmd, const cli_options *opts) {
    static const char *const suffixes[] = {".h", ".c", "_test.c"};
    char paths[COUNT_OF(suffixes)][PATH_SIZE];
    path_role roles[COUNT_OF(suffixes) + 1] = {{"--model", opts->model, false}};
    const size_t length = strlen(opts->out);
    const char *slash = length > 0 && opts->out[length - 1] == '/' ? "" : "/";
    for (size_t i = 0; i < COUNT_OF(suffixes); i++) {
        int n = snprintf(paths[i], PATH_SIZE, "%s%s%s%s", opts->out, slash, opts->export_name, suffixes[i]);
        if (n < 0 || n >= PATH_SIZE) {
            cli_failure(cmd->name, "the path %s is too long", opts->out);
            return false;
        }
        roles[i + 1] = (path_role){"--out", paths[i], true};
    }
    if (!paths_check(cmd->name, roles, COUNT_OF(roles))) {
        return false;
    }
    /* Never clobber work: a file of those names is replaced only if an export wrote it. */
    for (size_t i = 0; i < COUNT_OF(suffixes); i++) {
        FILE *file = fopen(paths[i], "rb");
        if (file == NULL) {
            continue;
        }
        char start[512];
        const size_t got = fread(start, 1, sizeof start - 1, file);
        fclose(file);
        start[got] = '\0';
        if (strstr(start, "generated by libbnmlp") == NULL) {
            cli_failure(cmd->name,
                        "%s exists and was not written by bnmlp export: it would be overwritten; move it, or "
                        "choose another --name or --out",
                        paths[i]);
            return false;
        }
    }
    return true;
}

/* Runs the export once the flags are checked; the exit status. */
static int export_model(const command *cmd, const cli_options *opts, size_t format,
                        const bnmlp_export_options *options) {
    const bool directory = bnmlp_export_format_writes_directory(format);
    bnmlp_model *model = command_load_model(cmd, opts->model, "model");
    if (model == NULL) {
        return CLI_EXIT_FAILURE;
    }
    static char created[MAX_CREATED][PATH_SIZE];
    size_t created_count = 0;
    if (directory && !make_directories(cmd, opts->out, created, &created_count)) {
        remove_directories(created, created_count);
        bnmlp_model_free(model);
        return CLI_EXIT_FAILURE;
    }
    bnmlp_error_detail detail = {0};
    bnmlp_status status = bnmlp_model_export(model, opts->format, opts->out, options, &detail);
    bnmlp_model_free(model);
    if (status != BNMLP_OK) {
        remove_directories(created, created_count);
        const char *reason = detail.message[0] != '\0' ? detail.message : bnmlp_status_string(status);
        if (status == BNMLP_ERR_INVALID_ARGUMENT) {
            return command_usage_error(cmd, "", reason);
        }
        cli_failure(cmd->name, "cannot export %s to %s: %s", opts->model, opts->out, reason);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int run_export(const command *cmd, int argc, char **argv, int first) {
    cli_options opts;
    int status = command_parse_flags(cmd, EXPORT_FLAGS, COUNT_OF(EXPORT_FLAGS), &opts, argc, argv, first);
    static const char *const required[] = {"--model", "--format", "--out", NULL};
    if (status >= 0 || (status = command_require_flags(cmd, &opts, required)) >= 0) {
        return status;
    }
    size_t format = bnmlp_export_format_count();
    for (size_t i = 0; i < bnmlp_export_format_count(); i++) {
        if (strcmp(bnmlp_export_format_name(i), opts.format) == 0) {
            format = i;
        }
    }
    if (format == bnmlp_export_format_count()) {
        char list[256];
        list_formats(list, sizeof list);
        cli_usage_error(cmd->name, "unknown --format '%s' (the library's formats: %s)", opts.format, list);
        command_print_usage(cmd);
        return CLI_EXIT_USAGE;
    }
    bnmlp_export_options options = BNMLP_EXPORT_OPTIONS_DEFAULT;
    options.name = opts.export_name;
    options.with_test = opts.with_test;
    options.test_rows = opts.test_rows;
    size_t w = COUNT_OF(WEIGHTS);
    for (size_t i = 0; i < COUNT_OF(WEIGHTS); i++) {
        if (strcmp(WEIGHTS[i].name, opts.weights) == 0) {
            w = i;
        }
    }
    if (w == COUNT_OF(WEIGHTS)) {
        return command_usage_error(cmd, "--weights takes float32 or int8, not ", opts.weights);
    }
    options.weights = WEIGHTS[w].weights;
    if (cli_given(&opts, "--test-rows") && !opts.with_test) {
        return command_usage_error(cmd, "--test-rows needs --with-test", "");
    }
    bool safe;
    if (bnmlp_export_format_writes_directory(format)) {
        safe = check_directory_outputs(cmd, &opts);
    } else {
        const path_role roles[] = {{"--model", opts.model, false}, {"--out", opts.out, true}};
        safe = paths_check(cmd->name, roles, COUNT_OF(roles));
    }
    return safe ? export_model(cmd, &opts, format, &options) : CLI_EXIT_FAILURE;
}
