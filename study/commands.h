/* commands: the client's subcommands.  Each takes argv from its own name on, prints --help, reports
 * errors as one line on stderr, and returns the process exit status. */
#ifndef STUDY_COMMANDS_H
#define STUDY_COMMANDS_H

int cmd_classify(int argc, char **argv);
int cmd_accuracy(int argc, char **argv);
int cmd_rtt(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_load_study(int argc, char **argv);
int cmd_topology(int argc, char **argv);
int cmd_recommend(int argc, char **argv);

/* Where the default model and the shared data live: $IMGREC_MODEL / $IMGREC_SHARED, else the
 * Makefile's defaults relative to the repository root. */
const char *default_model(void);
const char *default_shared(void);

/* The file study/run.sh --quick leaves in its output folder (recommend refuses such smoke numbers). */
#define STUDY_SMOKE_MARK "SMOKE"

struct classifier;
/* A classifier for --model FILE or --url URL (neither: the default model).  NULL after printing why. */
struct classifier *open_classifier(const char *model, const char *url);

#endif
