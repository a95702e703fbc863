/* client: the command-line client of imgrec — classify pictures (here or through the service) and run
 * the three studies (accuracy vs resolution, RTT vs resolution, RTT under Poisson load).
 * A thin main: each subcommand lives in study/cmd_<name>.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "classify", cmd_classify, "classify images in-process (--model) or through the service (--url)" },
    { "accuracy", cmd_accuracy, "top-1/top-5 on a labelled set, optionally per degraded resolution (study 1)" },
    { "rtt", cmd_rtt, "round-trip time per image size, sequential requests (study 2)" },
    { "load", cmd_load, "open-loop Poisson load at one rate: RTT percentiles, throughput, errors" },
    { "load-study", cmd_load_study, "study 3: load at several rates and worker counts, with queueing predictions" },
    { "topology", cmd_topology, "study 3, second part: each balancer policy, batching on/off, a rate step" },
    { "recommend", cmd_recommend, "best resolution for a latency budget, or workers for a rate and p99" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: client COMMAND [OPTIONS] (client COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    opterr = 0; /* each command names a bad option once itself (args_bad_option) */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "client: unknown command '%s' (try client --help)\n", argv[1]);
    return 2;
}
