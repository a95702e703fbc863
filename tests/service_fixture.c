/* service_fixture: start and stop the programs for integration tests (see service_fixture.h). */
#define _GNU_SOURCE
#include "tests/service_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/service_harness.h"

#define MAX_ARGS 32
#define HEALTHY_WITHIN_MS 30000 /* generous: a loaded 2-core machine */

const char *fx_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set: run the tests through make check\n", name);
        abort();
    }
    return v;
}

void fx_bin(const char *prog, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", fx_env("IMGREC_BIN"), prog);
}

/* Copies base args then extra (NULL-terminated) into argv; returns 0 or -1 when too many. */
static int join_args(const char *argv[], int n, const char *const extra[])
{
    for (int i = 0; extra && extra[i]; i++) {
        if (n >= MAX_ARGS - 1)
            return -1;
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    return 0;
}

/* A program that did not come up: show why on stderr. */
static void dump_log(const char *path)
{
    char *text;
    size_t len;
    fprintf(stderr, "---- %s ----\n", path);
    if (sh_read_file(path, &text, &len) == 0) {
        fwrite(text, 1, len, stderr);
        free(text);
    }
}

static int spawn_worker(struct service *s, int port, const char *id, const char *const extra[], pid_t *pid)
{
    char bin[PATH_MAX], portstr[16], log[PATH_MAX + 32];
    fx_bin("worker", bin, sizeof bin);
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(log, sizeof log, "%s/worker-%d.log", s->dir, port);
    const char *argv[MAX_ARGS] = { bin, "--port", portstr, "--host", "127.0.0.1", "--model",
                                   fx_env("IMGREC_MODEL"), "--name", id };
    pid_t child;
    if (join_args(argv, 9, extra) != 0 || (child = sh_spawn(argv, log)) < 0)
        return -1;
    if (pid)
        *pid = child;
    if (sh_wait_healthy(port, child, HEALTHY_WITHIN_MS) == 0)
        return 0;
    dump_log(log);
    return -1;
}

int service_extra_worker(struct service *s, const char *const extra[])
{
    int port = sh_free_port();
    char id[64];
    snprintf(id, sizeof id, "127.0.0.1:%d", port);
    return port > 0 && spawn_worker(s, port, id, extra, NULL) == 0 ? port : -1;
}

int service_worker_on(struct service *s, int port, pid_t *pid)
{
    char id[64];
    snprintf(id, sizeof id, "127.0.0.1:%d", port);
    return spawn_worker(s, port, id, NULL, pid);
}

int service_balancer_over_own_worker(struct service *s, const char *const extra[], int *worker_port, pid_t *pid)
{
    *worker_port = sh_free_port();
    char backend[32];
    snprintf(backend, sizeof backend, "127.0.0.1:%d", *worker_port);
    const char *backends[] = { backend };
    if (service_worker_on(s, *worker_port, pid) != 0)
        return -1;
    return service_extra_balancer(s, backends, 1, extra);
}

int service_extra_balancer(struct service *s, const char *const backends[], int n, const char *const extra[])
{
    char bin[PATH_MAX], portstr[16], log[PATH_MAX + 32];
    int port = sh_free_port();
    fx_bin("balancer", bin, sizeof bin);
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(log, sizeof log, "%s/balancer-%d.log", s->dir, port);
    const char *argv[MAX_ARGS] = { bin, "--port", portstr, "--host", "127.0.0.1", "--www", fx_env("IMGREC_WWW"),
                                   "--results", s->results };
    int argc = 9;
    for (int i = 0; i < n && argc < MAX_ARGS - 2; i++) {
        argv[argc++] = "--backend";
        argv[argc++] = backends[i];
    }
    pid_t child;
    if (port <= 0 || join_args(argv, argc, extra) != 0 || (child = sh_spawn(argv, log)) < 0)
        return -1;
    if (sh_wait_healthy(port, child, HEALTHY_WITHIN_MS) == 0)
        return port;
    dump_log(log);
    return -1;
}

/* results/demo/{table.md,plot.svg} and a symlink that points outside the folder. */
static int make_results(struct service *s)
{
    char path[PATH_MAX + 64];
    snprintf(s->results, sizeof s->results, "%s/results", s->dir);
    snprintf(path, sizeof path, "%s/demo", s->results);
    if (mkdir(s->results, 0755) != 0 || mkdir(path, 0755) != 0)
        return -1;
    static const struct { const char *name, *text; } files[] = {
        { "table.md", "| size | top-1 |\n| --- | --- |\n| 224 | 0.71 |\n" },
        { "plot.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>\n" },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/demo/%s", s->results, files[i].name);
        FILE *f = fopen(path, "w");
        if (!f || fputs(files[i].text, f) < 0 || fclose(f) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/demo/escape.txt", s->results);
    return symlink("/etc/hostname", path);
}

int service_start(struct service *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/imgrec-test-XXXXXX");
    if (!mkdtemp(s->dir) || make_results(s) != 0) {
        perror("service_start: scratch folder");
        return -1;
    }
    const char *backends[2];
    char hostport[2][32];
    for (int i = 0; i < 2; i++) {
        s->worker_port[i] = sh_free_port();
        snprintf(s->worker_id[i], sizeof s->worker_id[i], "127.0.0.1:%d", s->worker_port[i]);
        snprintf(hostport[i], sizeof hostport[i], "127.0.0.1:%d", s->worker_port[i]);
        backends[i] = hostport[i];
        if (spawn_worker(s, s->worker_port[i], s->worker_id[i], NULL, NULL) != 0) {
            fprintf(stderr, "service_start: worker %d did not become healthy (logs in %s)\n", i, s->dir);
            return -1;
        }
    }
    s->balancer_port = service_extra_balancer(s, backends, 2, NULL);
    if (s->balancer_port < 0) {
        fprintf(stderr, "service_start: balancer did not become healthy (logs in %s)\n", s->dir);
        return -1;
    }
    return 0;
}

void service_stop(struct service *s)
{
    sh_stop_all();
    if (s->dir[0]) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "service_stop: could not remove %s\n", s->dir);
    }
}
