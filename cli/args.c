/*
 * args.c - parsing a subcommand's flags from its table.
 */
#include "args.h"

#include <math.h>
#include <stdarg.h>

#include "bnmlp.h"
#include <stdlib.h>
#include <string.h>

void cli_options_default(cli_options *opts) {
    *opts = (cli_options){
        .batch_size = 32,
        .optimizer = NULL,
        .seed = 1,
        .threads = 0,
        .validation_split = 0.0,
        .export_name = "model",
        .test_rows = 16,
        .weights = "float32",
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
    case VALUE_SETTING: return false; /* handled by parse_setting */
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
        if (table[i].kind != VALUE_SETTING && strlen(table[i].name) == name_length &&
            strncmp(arg, table[i].name, name_length) == 0) {
            *inline_value = arg[name_length] == '=' ? arg + name_length + 1 : NULL;
            return &table[i];
        }
    }
    return NULL;
}

/* True when the table takes optimizer settings as flags. */
static bool takes_settings(const flag_spec *table, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (table[i].kind == VALUE_SETTING) {
            return true;
        }
    }
    return false;
}

/* Finds the setting the flag arg ("--NAME" or "--NAME=value", dashes for underscores) names in
 * any of the library's optimizers: its name into name, whether it is a switch into *is_switch;
 * false when no optimizer has it. */
static bool find_setting(const char *arg, char *name, size_t size, bool *is_switch) {
    size_t length = strcspn(arg, "=");
    if (length < 3 || length - 2 >= size) {
        return false;
    }
    for (size_t i = 0; i < length - 2; i++) {
        name[i] = arg[2 + i] == '-' ? '_' : arg[2 + i];
    }
    name[length - 2] = '\0';
    for (size_t k = 0; k < bnmlp_optimizer_count(); k++) {
        const char *setting;
        for (size_t i = 0; (setting = bnmlp_optimizer_setting((bnmlp_optimizer_kind)k, i)) != NULL; i++) {
            if (strcmp(setting, name) == 0) {
                *is_switch = bnmlp_optimizer_setting_is_switch((bnmlp_optimizer_kind)k, i);
                return true;
            }
        }
    }
    return false;
}

/* Handles argv[*index] as an optimizer setting (advancing *index past its value): PARSE_RUN,
 * PARSE_ERROR (reported), or PARSE_HELP when arg is no setting. A switch takes no value. */
static parse_result parse_setting(cli_options *opts, const char *command, int argc, char **argv, int *index) {
    const char *arg = argv[*index];
    char name[40];
    bool is_switch = false;
    if (!find_setting(arg, name, sizeof name, &is_switch)) {
        return PARSE_HELP;
    }
    size_t length = strcspn(arg, "=");
    const char *value = arg[length] == '=' ? arg + length + 1 : NULL;
    if (opts->setting_count == sizeof opts->settings / sizeof opts->settings[0]) {
        cli_usage_error(command, "too many optimizer settings");
        return PARSE_ERROR;
    }
    char *flag = opts->settings[opts->setting_count].flag;
    snprintf(flag, sizeof opts->settings[0].flag, "%.*s", (int)length, arg);
    if (cli_given(opts, flag)) {
        cli_usage_error(command, "%s is given twice", flag);
        return PARSE_ERROR;
    }
    double real = 1.0;
    if (is_switch && value != NULL) {
        cli_usage_error(command, "%s takes no value", flag);
        return PARSE_ERROR;
    }
    if (!is_switch) {
        if (value == NULL && *index + 1 >= argc) {
            cli_usage_error(command, "%s needs a value", flag);
            return PARSE_ERROR;
        }
        value = value != NULL ? value : argv[++*index];
        if (!parse_real(value, -1e30, 1e30, CLOSED, &real)) {
            cli_usage_error(command, "bad number for %s: '%s'", flag, value);
            return PARSE_ERROR;
        }
    }
    snprintf(opts->settings[opts->setting_count].name, sizeof opts->settings[0].name, "%s", name);
    opts->settings[opts->setting_count].value = real;
    if (opts->given_count < MAX_GIVEN_FLAGS) {
        opts->given[opts->given_count++] = flag;
    }
    opts->setting_count++;
    return PARSE_RUN;
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
    if (spec == NULL && takes_settings(table, count)) {
        parse_result result = parse_setting(opts, command, argc, argv, index);
        if (result != PARSE_HELP) {
            return result;
        }
    }
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
