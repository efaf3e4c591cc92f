/*
 * export.h - `bnmlp export`: a saved model written in one of the library's export formats (the
 * tool keeps no list: the names come from bnmlp_export_format_name).
 */
#ifndef BNMLP_CLI_EXPORT_H
#define BNMLP_CLI_EXPORT_H

#include <stdio.h>

#include "command.h"

/* Runs `bnmlp export` on argv[first..argc); the exit status (0, 1 failure, 2 usage). */
int run_export(const command *cmd, int argc, char **argv, int first);

/* Prints the library's export formats with their sentences, for export's help. */
void export_print_formats(FILE *out);

#endif /* BNMLP_CLI_EXPORT_H */
