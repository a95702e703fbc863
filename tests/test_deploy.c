/* Deployment: what an operator runs before and around the service — `--check` on both servers (it
 * validates everything, binds and connects nothing), SIGHUP (systemd's ExecReload) leaving them running,
 * `make install` into a staged tree whose programs run and whose systemd units pass `systemd-analyze
 * verify`, the Kubernetes manifests checked against the programs (tests/k8s_check.js), and, as root,
 * the balancer and two workers in separate network namespaces finding each other by name
 * (tests/multihost.sh) and the installed programs under the units' restrictions (tests/hardening_check.sh). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define OUT_CAP (256 * 1024)

static char *out;

static void alloc_out(void)
{
    out = malloc(OUT_CAP);
    ck_assert_ptr_nonnull(out);
}

static void free_out(void)
{
    free(out);
}

/* Runs a shell command line (printf-style) with stderr joined to stdout into out; returns its exit status. */
static int run(int timeout_ms, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_int_lt(n, (int)sizeof cmd);
    char line[8300];
    snprintf(line, sizeof line, "exec 2>&1; %s", cmd);
    const char *argv[] = { "/bin/sh", "-c", line, NULL };
    return sh_run(argv, out, OUT_CAP, timeout_ms);
}

/* The repository: tests/ (IMGREC_TESTS) sits in it. */
static void repo_dir(char *path, size_t cap)
{
    char tests[PATH_MAX];
    snprintf(tests, sizeof tests, "%s", fx_env("IMGREC_TESTS"));
    snprintf(path, cap, "%s", dirname(tests));
}

/* A fresh scratch folder; removed by rm_tree. */
static void scratch_dir(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/imgrec-test-deploy-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(path));
}

static void rm_tree(const char *path)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'.*", path, path);
    ck_assert_int_eq(system(cmd), 0);
}

/* A socket listening on 127.0.0.1 on a port of its own (returned in *port). */
static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---- --check ---------------------------------------------------------------------------------------- */

START_TEST(check_accepts_a_good_configuration_and_binds_nothing)
{
    char worker[512], balancer[512];
    fx_bin("worker", worker, sizeof worker);
    fx_bin("balancer", balancer, sizeof balancer);
    int port, backend_port;
    int held = listen_any(&port);            /* the port is taken: a real start would fail to listen */
    int backend = listen_any(&backend_port); /* a "backend": --check must not connect to it */

    ck_assert_int_eq(run(30000, "'%s' --check --port %d --host 127.0.0.1 --model '%s' --engines 2", worker, port,
                         fx_env("IMGREC_MODEL")), 0);
    char want[1024];
    ck_assert_msg(strncmp(out, "worker: configuration OK: port ", 31) == 0 && strstr(out, "(engine path ") &&
                      strstr(out, "2 engine(s)") && strchr(out, '\n') == out + strlen(out) - 1,
                  "%s", out);
    ck_assert_int_eq(run(10000, "'%s' --check --port %d --host 127.0.0.1 --backend 127.0.0.1:%d,localhost:%d "
                                "--www '%s' --policy p2c", balancer, port, backend_port, backend_port,
                         fx_env("IMGREC_WWW")), 0);
    snprintf(want, sizeof want, "balancer: configuration OK: port %d, 2 backend(s) (names not resolved), policy p2c, "
             "www %s\n", port, fx_env("IMGREC_WWW"));
    ck_assert_str_eq(out, want);
    /* A --backends-file is read and parsed (its names not resolved either): 2 lines + 1 --backend. */
    char file[] = "/tmp/imgrec-test-deploy-backends-XXXXXX";
    int fd = mkstemp(file);
    ck_assert_int_ge(fd, 0);
    static const char lines[] = "# workers\nworker-1.invalid:5001\n\nworker-2.invalid:5001\n";
    ck_assert_int_eq(write(fd, lines, sizeof lines - 1), (ssize_t)(sizeof lines - 1));
    close(fd);
    ck_assert_int_eq(run(10000, "'%s' --check --backends-file %s --backend 127.0.0.1:%d --www '%s'", balancer, file,
                         backend_port, fx_env("IMGREC_WWW")), 0);
    ck_assert_msg(strstr(out, "3 backend(s) (names not resolved)"), "%s", out);
    ck_assert_int_eq(write(fd = open(file, O_WRONLY | O_APPEND), "no-port\n", 8), 8);
    close(fd);
    ck_assert_int_eq(run(10000, "'%s' --check --backends-file %s --www '%s'", balancer, file, fx_env("IMGREC_WWW")), 2);
    ck_assert_msg(strstr(out, "line 5") || strstr(out, ":5:"), "%s", out);
    unlink(file);
    /* A backend name this machine cannot resolve is fine: it may be a service name where it runs. */
    ck_assert_int_eq(run(10000, "'%s' --check --backend imgrec-worker.invalid:5001 --www '%s'", balancer,
                         fx_env("IMGREC_WWW")), 0);
    ck_assert_int_eq(accept(backend, NULL, NULL), -1); /* nobody connected */
    ck_assert_int_eq(errno, EAGAIN);
    close(held);
    close(backend);
}
END_TEST

/* Each mistake: exit 2, the problem named in one line, then the one-line hint. */
static void expect_refused(const char *prog, const char *args, const char *why)
{
    char bin[512];
    fx_bin(prog, bin, sizeof bin);
    ck_assert_int_eq(run(30000, "'%s' --check %s", bin, args), 2);
    char hint[128];
    snprintf(hint, sizeof hint, "%s: see %s --help\n", prog, prog);
    ck_assert_msg(strstr(out, why) && strstr(out, hint) && !strstr(out, "configuration OK"), "%s %s:\n%s", prog,
                  args, out);
}

START_TEST(check_names_what_is_wrong_and_exits_2)
{
    char args[2048];
    const char *model = fx_env("IMGREC_MODEL"), *www = fx_env("IMGREC_WWW");
    expect_refused("worker", "--port 5001 --model /nonexistent/m.tflite", "worker: /nonexistent/m.tflite: No such file");
    snprintf(args, sizeof args, "--port 5001 --model '%s' --engines 0", model);
    expect_refused("worker", args, "worker: --engines wants a whole number from 1 to 64, got '0'");
    snprintf(args, sizeof args, "--port 5001 --model '%s' --host no-such-host.invalid", model);
    expect_refused("worker", args, "worker: --host: no-such-host.invalid:5001: ");
    snprintf(args, sizeof args, "--model '%s'", model);
    expect_refused("worker", args, "worker: --port and --model are required");
    /* A file that is not a model: the reader's reason, naming the file. */
    snprintf(args, sizeof args, "--port 5001 --model '%s/index.html'", www);
    expect_refused("worker", args, "index.html");
    snprintf(args, sizeof args, "--backend a:1 --www /nonexistent");
    expect_refused("balancer", args, "balancer: --www: /nonexistent");
    snprintf(args, sizeof args, "--backend workers:http --www '%s'", www);
    expect_refused("balancer", args, "'workers:http': port must be 1..65535");
    snprintf(args, sizeof args, "--backends-file /nonexistent/backends --www '%s'", www);
    expect_refused("balancer", args, "balancer: --backends-file /nonexistent/backends: No such file");
    snprintf(args, sizeof args, "--backend a:1 --www '%s' --examples /nonexistent", www);
    expect_refused("balancer", args, "balancer: --examples: /nonexistent");
    snprintf(args, sizeof args, "--backend a:1 --www '%s' --policy fastest", www);
    expect_refused("balancer", args, "balancer: --policy: one of random");
    expect_refused("balancer", "--www /tmp", "at least one --backend HOST:PORT");
    /* Each option is itself: the shared --idle-timeout once shared getopt's letter with --probe-timeout. */
    expect_refused("balancer", "--backend a:1 --idle-timeout 5", "balancer: --idle-timeout wants a whole number");
    expect_refused("balancer", "--backend a:1 --probe-timeout 5", "balancer: --probe-timeout wants a whole number");
    snprintf(args, sizeof args, "--port 5001 --model '%s' --max-conns 0", model);
    expect_refused("worker", args, "worker: --max-conns wants a whole number");
}
END_TEST

/* ---- SIGHUP: systemd's ExecReload must not stop a server ---------------------------------------------- */

START_TEST(sighup_leaves_both_servers_running)
{
    char worker[512], balancer[512], wport[16], bport[16], backend[32];
    fx_bin("worker", worker, sizeof worker);
    fx_bin("balancer", balancer, sizeof balancer);
    snprintf(wport, sizeof wport, "%d", sh_free_port());
    snprintf(bport, sizeof bport, "%d", sh_free_port());
    snprintf(backend, sizeof backend, "127.0.0.1:%s", wport);
    const char *wargv[] = { worker, "--port", wport, "--host", "127.0.0.1", "--model", fx_env("IMGREC_MODEL"), NULL };
    const char *bargv[] = { balancer, "--port", bport, "--host", "127.0.0.1", "--backend", backend,
                            "--www", fx_env("IMGREC_WWW"), NULL };
    pid_t pids[2] = { sh_spawn(wargv, NULL), sh_spawn(bargv, NULL) };
    int ports[2] = { atoi(wport), atoi(bport) };
    for (int i = 0; i < 2; i++) {
        ck_assert_int_gt(pids[i], 0);
        ck_assert_int_eq(sh_wait_healthy(ports[i], pids[i], 20000), 0);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(kill(pids[i], SIGHUP), 0);
        usleep(200 * 1000);
        ck_assert_int_eq(waitpid(pids[i], NULL, WNOHANG), 0); /* still running */
        ck_assert_int_eq(sh_wait_healthy(ports[i], pids[i], 5000), 0);
    }
    for (int i = 1; i >= 0; i--) { /* SIGTERM still stops them cleanly */
        int st = sh_stop(pids[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    }
}
END_TEST

/* ---- make install and the systemd units ---------------------------------------------------------------- */

START_TEST(install_stages_a_tree_that_runs_and_units_that_verify)
{
    char repo[PATH_MAX], dest[64];
    repo_dir(repo, sizeof repo);
    scratch_dir(dest, sizeof dest);
    int rc = run(120000, "'%s/tests/install_check.sh' '%s' '%s'", repo, repo, dest);
    fputs(out, stderr); /* the exposure scores, for the log */
    ck_assert_msg(rc == 0, "install check failed (%d):\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "systemd-analyze verify imgrec-balancer.service: ok\n"));
    ck_assert_ptr_nonnull(strstr(out, "systemd-analyze verify imgrec-worker@5001.service: ok\n"));
    ck_assert_ptr_nonnull(strstr(out, "install check: ok\n"));
    rm_tree(dest);
}
END_TEST

/* ---- Kubernetes: the manifests against the programs (tests/k8s_check.js says what and how) -------------- */

START_TEST(kubernetes_manifests_agree_with_the_programs)
{
    char repo[PATH_MAX], dest[64];
    repo_dir(repo, sizeof repo);
    scratch_dir(dest, sizeof dest);
    ck_assert_msg(run(120000, "make -C '%s' -s install PREFIX=/usr/local DESTDIR='%s' >'%s.log' 2>&1", repo, dest,
                      dest) == 0, "make install failed (see %s.log)", dest);
    int rc = run(120000, "node '%s/tests/k8s_check.js' '%s/deploy/kubernetes' '%s' /usr/local "
                         "'%s/eval/seed_test_images/test_224.jpg'", repo, repo, dest, fx_env("IMGREC_SHARED"));
    fputs(out, stderr);
    ck_assert_msg(rc == 0, "k8s check failed (%d):\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "k8s check: ok ("));
    rm_tree(dest);
}
END_TEST

/* ---- the units' restrictions, emulated: unprivileged, read-only /, traced syscalls (root) ------------------ */

START_TEST(programs_run_within_the_units_restrictions)
{
    char repo[PATH_MAX], dest[64];
    repo_dir(repo, sizeof repo);
    scratch_dir(dest, sizeof dest);
    ck_assert_msg(run(120000, "make -C '%s' -s install PREFIX=/usr/local DESTDIR='%s' >'%s.log' 2>&1", repo, dest,
                      dest) == 0, "make install failed (see %s.log)", dest);
    int rc = run(60000, "'%s/tests/hardening_check.sh' '%s/usr/local' '%s/eval/seed_test_images/test_224.jpg' %d %d",
                 repo, dest, fx_env("IMGREC_SHARED"), sh_free_port(), sh_free_port());
    fputs(out, stderr);
    ck_assert_msg(rc == 0, "hardening check failed (%d):\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "worker: "));
    ck_assert_ptr_nonnull(strstr(out, "hardening check: ok\n"));
    rm_tree(dest);
}
END_TEST

/* ---- several machines: namespaces joined by veth links, workers found by name (root) --------------------- */

START_TEST(balancer_and_workers_on_separate_hosts_find_each_other_by_name)
{
    char repo[PATH_MAX], model[PATH_MAX];
    repo_dir(repo, sizeof repo);
    snprintf(model, sizeof model, "%s", fx_env("IMGREC_MODEL"));
    int rc = run(60000, "'%s/tests/multihost.sh' '%s' '%s' '%s' '%s/eval/seed_test_images/test_224.jpg'", repo,
                 fx_env("IMGREC_BIN"), model, fx_env("IMGREC_WWW"), fx_env("IMGREC_SHARED"));
    fputs(out, stderr);
    ck_assert_msg(rc == 0, "multihost failed (%d):\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "2 answered by each worker"));
    ck_assert_ptr_nonnull(strstr(out, "multihost: ok\n"));
    ck_assert_int_eq(run(5000, "pgrep -f -- '--host 10[.]232[.]'"), 1); /* it left no process behind */
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("deploy");
    TCase *check = tcase_create("check");
    tcase_add_checked_fixture(check, alloc_out, free_out);
    tcase_add_test(check, check_accepts_a_good_configuration_and_binds_nothing);
    tcase_add_test(check, check_names_what_is_wrong_and_exits_2);
    tcase_add_test(check, sighup_leaves_both_servers_running);
    tcase_set_timeout(check, 60);
    suite_add_tcase(s, check);

    TCase *install = tcase_create("install");
    tcase_add_checked_fixture(install, alloc_out, free_out);
    tcase_add_test(install, install_stages_a_tree_that_runs_and_units_that_verify);
    tcase_add_test(install, kubernetes_manifests_agree_with_the_programs);
    tcase_set_timeout(install, 150);
    suite_add_tcase(s, install);

    /* Network namespaces need root (CI is root); elsewhere this case is left out, not counted as passed. */
    if (geteuid() == 0) {
        TCase *hosts = tcase_create("as root: several machines, restrictions");
        tcase_add_checked_fixture(hosts, alloc_out, free_out);
        tcase_add_test(hosts, balancer_and_workers_on_separate_hosts_find_each_other_by_name);
        tcase_add_test(hosts, programs_run_within_the_units_restrictions);
        tcase_set_timeout(hosts, 90);
        suite_add_tcase(s, hosts);
    } else {
        fprintf(stderr, "test_deploy: not root, the several-machines (network namespace) and restrictions tests not run\n");
    }
    return s;
}
