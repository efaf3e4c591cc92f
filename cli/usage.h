/*
 * usage.h - the help texts of the bnmlp tool (docs/cli.md says the same at more length).
 */
#ifndef BNMLP_CLI_USAGE_H
#define BNMLP_CLI_USAGE_H

/* Synopses (printed after a usage error) and flag lists (with --help) of each subcommand. */
extern const char TRAIN_USAGE[], TRAIN_HELP[];
/* train's training-control flags, printed after TRAIN_HELP (one string would exceed C's 4095). */
extern const char TRAIN_CONTROLS_HELP[];
/* The gradient-clipping flags (optimizer settings of every kind), printed by train and resume. */
extern const char CLIP_HELP[];
extern const char RESUME_USAGE[], RESUME_HELP[];
extern const char EVALUATE_USAGE[], EVALUATE_HELP[];
extern const char PREDICT_USAGE[], PREDICT_HELP[];
extern const char SUMMARY_USAGE[], SUMMARY_HELP[];
extern const char EXPORT_USAGE[], EXPORT_HELP[];

/* The exit statuses, at the end of every help. */
extern const char EXIT_STATUS_HELP[];

/* The tool's own usage (bnmlp --help), before the list of subcommands. */
extern const char TOOL_USAGE[];

#endif /* BNMLP_CLI_USAGE_H */
