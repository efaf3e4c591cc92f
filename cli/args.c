/*
 * args.c - parsing a subcommand's flags from its table.
 */
#include "args.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_options_default(cli_options *opts) {
    *opts = (cli_options){
        .batch_size = 32,
        .optimizer = NULL,
        .seed = 1,
        .threads = 0,
        .validation_split = 0.0,
    };
}

/* Prints "bnmlp COMMAND: " and the formatted message with a newline on stderr. */
static void report(const char *command, const char *format, va_list args) {
    fprintf(stderr, "bnmlp %s: ", command);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
}

void cli_usage_error(const char *command, const char *format, ...) {
    va_list args;
    va_start(args, format);
    report(command, format, args);
    va_end(args);
}

void cli_failure(const char *command, const char *format, ...) {
    va_list args;
    va_start(args, format);
    report(command, format, args);
    va_end(args);
}

bool cli_given(const cli_options *opts, const char *name) {
    for (size_t i = 0; i < opts->given_count; i++) {
        if (strcmp(opts->given[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Describes the accepted range of a number flag into buffer, e.g. "an integer from 1 to 1000000". */
static void describe_range(const flag_spec *spec, char *buffer, size_t size) {
    bool integer = spec->kind == VALUE_SIZE || spec->kind == VALUE_U32;
    const char *low = (spec->open & MIN_OPEN) ? "above" : "from";
    const char *high = (spec->open & MAX_OPEN) ? "below" : "up to";
    snprintf(buffer, size, "%s %s %.10g %s %.10g", integer ? "an integer" : "a number", low, spec->min, high,
             spec->max);
}

/* Stores a flag's value into its field; false (reported) for a bad value. */
static bool apply_flag(cli_options *opts, const char *command, const flag_spec *spec, const char *value) {
    void *field = (char *)opts + spec->offset;
    unsigned long long integer = 0;
    double real = 0.0;
    char range[96];
    switch (spec->kind) {
    case VALUE_SET_TRUE: *(bool *)field = true; return true;
    case VALUE_STRING:
        if (value[0] == '\0') {
            cli_usage_error(command, "%s needs a non-empty value", spec->name);
            return false;
        }
        *(const char **)field = value;
        return true;
    case VALUE_SIZE:
    case VALUE_U32:
        if (!parse_decimal(value, spec->min, spec->max, &integer)) {
            describe_range(spec, range, sizeof range);
            cli_usage_error(command, "bad number for %s: '%s' (expected %s)", spec->name, value, range);
            return false;
        }
        if (spec->kind == VALUE_SIZE) {
            *(size_t *)field = (size_t)integer;
        } else {
            *(uint32_t *)field = (uint32_t)integer;
        }
        return true;
    case VALUE_FLOAT:
    case VALUE_DOUBLE:
        if (!parse_real(value, spec->min, spec->max, spec->open, &real)) {
            describe_range(spec, range, sizeof range);
            cli_usage_error(command, "bad number for %s: '%s' (expected %s)", spec->name, value, range);
            return false;
        }
        if (spec->kind == VALUE_FLOAT) {
            *(float *)field = (float)real;
        } else {
            *(double *)field = real;
        }
        return true;
    }
    return false;
}

/* Finds arg ("--name" or "--name=value") in the table; *inline_value gets the text after '=' or
 * NULL. NULL for a flag the table does not have. */
static const flag_spec *find_flag(const flag_spec *table, size_t count, const char *arg,
                                  const char **inline_value) {
    size_t name_length = strcspn(arg, "=");
    for (size_t i = 0; i < count; i++) {
        if (strlen(table[i].name) == name_length && strncmp(arg, table[i].name, name_length) == 0) {
            *inline_value = arg[name_length] == '=' ? arg + name_length + 1 : NULL;
            return &table[i];
        }
    }
    return NULL;
}

/* Handles argv[*index] (and its value, advancing *index past it). */
static parse_result parse_argument(cli_options *opts, const char *command, const flag_spec *table,
                                   size_t count, int argc, char **argv, int *index) {
    const char *arg = argv[*index];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        return PARSE_HELP;
    }
    if (strncmp(arg, "--", 2) != 0) {
        cli_usage_error(command, "unexpected argument '%s' (every value follows its flag)", arg);
        return PARSE_ERROR;
    }
    const char *value = NULL;
    const flag_spec *spec = find_flag(table, count, arg, &value);
    if (spec == NULL) {
        size_t name_length = strcspn(arg, "=");
        cli_usage_error(command, "unknown flag '%.*s'", (int)name_length, arg);
        return PARSE_ERROR;
    }
    if (cli_given(opts, spec->name)) {
        cli_usage_error(command, "%s is given twice", spec->name);
        return PARSE_ERROR;
    }
    bool takes_value = spec->kind != VALUE_SET_TRUE;
    if (takes_value && value == NULL) {
        if (*index + 1 >= argc) {
            cli_usage_error(command, "%s needs a value", spec->name);
            return PARSE_ERROR;
        }
        value = argv[++*index];
    } else if (!takes_value && value != NULL) {
        cli_usage_error(command, "%s takes no value", spec->name);
        return PARSE_ERROR;
    }
    if (!apply_flag(opts, command, spec, value)) {
        return PARSE_ERROR;
    }
    if (opts->given_count < MAX_GIVEN_FLAGS) {
        opts->given[opts->given_count++] = spec->name;
    }
    return PARSE_RUN;
}

parse_result cli_parse(cli_options *opts, const char *command, const flag_spec *table, size_t count,
                       int first, int argc, char **argv) {
    /* --help anywhere wins over errors elsewhere, as git does. */
    for (int index = first; index < argc; index++) {
        if (strcmp(argv[index], "--help") == 0 || strcmp(argv[index], "-h") == 0) {
            return PARSE_HELP;
        }
    }
    for (int index = first; index < argc; index++) {
        parse_result result = parse_argument(opts, command, table, count, argc, argv, &index);
        if (result != PARSE_RUN) {
            return result;
        }
    }
    return PARSE_RUN;
}
