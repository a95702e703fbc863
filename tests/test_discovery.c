/* Discovery (balance/discovery.h) with the real programs and a real DNS server.
 *   file   the backends file's syntax: comments, blank lines, the line a mistake is on
 *   SIGHUP --backends-file re-read: a line added joins, a bad file keeps the set (one log line naming
 *          file and line), a line removed is drained and removed
 *   DNS    Debian's dnsmasq answers for workers.imgrec.test from an addn-hosts file (re-read on SIGHUP);
 *          workers listen on 127.0.0.2 and 127.0.0.3, same port.  glibc's resolver reads only
 *          /etc/resolv.conf and only port 53, so the test runs in a mount and network namespace of its
 *          own: a bind-mounted resolv.conf names dnsmasq on 127.0.0.53:53 of the private loopback, and
 *          the host's resolver, ports and files are untouched.  An address added to the name gets
 *          requests after its first healthy probe; one removed gets no new requests while its requests
 *          in flight (held by SIGSTOP) finish, then it is removed.  A silent DNS server (SIGSTOP) keeps
 *          the addresses while the balancer answers all along; a name gone (NXDOMAIN) drains its last
 *          backend, and it rejoins when the name is back.
 * Every wait is bounded; every process is stopped however the test ends. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balance/discovery.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

#define DNSMASQ "/usr/sbin/dnsmasq"
#define NAME "workers.imgrec.test"
#define UP_WITHIN_MS 30000 /* generous: a loaded 2-core machine loading the model */

static char dir[256];
static char *jpg;
static size_t jpg_len;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/imgrec-discovery-XXXXXX");
    ck_assert_msg(mkdtemp(dir) != NULL, "scratch folder");
    char path[512];
    snprintf(path, sizeof path, "%s/eval/seed_test_images/test_224.jpg", fx_env("IMGREC_SHARED"));
    ck_assert_msg(sh_read_file(path, &jpg, &jpg_len) == 0, "cannot read %s", path);
}

static void teardown(void)
{
    sh_stop_all();
    const char *rm[] = { "rm", "-rf", dir, NULL };
    char out[16];
    sh_run(rm, out, sizeof out, 10000);
    free(jpg);
}

static void write_file(const char *path, const char *text)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_msg(f != NULL, "cannot write %s", tmp);
    ck_assert(fputs(text, f) >= 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(rename(tmp, path), 0); /* whole, never half-written, when a SIGHUP reads it */
}

/* The balancer's /healthz body into out (status 200 or 503). */
static void healthz(int port, char *out, size_t cap)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    struct sh_reply r;
    ck_assert_int_eq(sh_exchange(port, req, sizeof req - 1, &r, 5000), 0);
    ck_assert_msg(r.status == 200 || r.status == 503, "/healthz answered %d", r.status);
    snprintf(out, cap, "%s", r.body);
    sh_reply_free(&r);
}

/* In /healthz's JSON: -1 when backend name is not listed, else whether its key is true. */
static int backend_flag(const char *json, const char *name, const char *key)
{
    char needle[128];
    snprintf(needle, sizeof needle, "\"address\":\"%s\"", name);
    const char *e = strstr(json, needle);
    if (!e)
        return -1;
    const char *end = strchr(e, '}');
    snprintf(needle, sizeof needle, "\"%s\":true", key);
    const char *hit = strstr(e, needle);
    return hit && (!end || hit < end);
}

/* Polls /healthz until backend name's key reads want (-1: until it is not listed).  0, or -1 after
 * timeout_ms. */
static int wait_flag(int port, const char *name, const char *key, int want, int timeout_ms)
{
    char json[8192];
    for (long long end = sh_now_ms() + timeout_ms; sh_now_ms() < end; usleep(50 * 1000)) {
        healthz(port, json, sizeof json);
        if (backend_flag(json, name, key) == want)
            return 0;
    }
    fprintf(stderr, "discovery: %s never had %s=%d; last /healthz: %s\n", name, key, want, json);
    return -1;
}

static struct sh_conn *predict_send(int port)
{
    struct sh_conn *c = malloc(sizeof *c);
    ck_assert(c != NULL);
    ck_assert_int_eq(sh_connect(c, port), 0);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n",
                     jpg_len);
    ck_assert_int_eq(sh_send(c, head, (size_t)n, 2000), 0);
    ck_assert_int_eq(sh_send(c, jpg, jpg_len, 2000), 0);
    return c;
}

/* The answer on c (200, or the test fails): which worker gave it, into worker.  Frees c. */
static void predict_read(struct sh_conn *c, char *worker, size_t cap, int timeout_ms)
{
    struct sh_reply r;
    ck_assert_int_eq(sh_read_reply(c, &r, timeout_ms), 0);
    ck_assert_msg(r.status == 200, "answer %d: %s", r.status, r.body);
    ck_assert_int_eq(sh_json_str(r.body, "worker", worker, cap), 0);
    sh_reply_free(&r);
    sh_close(c);
    free(c);
}

/* One request through the balancer on port; the worker that answered into worker. */
static void predict(int port, char *worker, size_t cap)
{
    predict_read(predict_send(port), worker, cap, 20000);
}

static pid_t spawn_balancer(int port, const char *const args[], const char *log)
{
    char bin[PATH_MAX], portstr[16];
    fx_bin("balancer", bin, sizeof bin);
    snprintf(portstr, sizeof portstr, "%d", port);
    const char *argv[32] = { bin, "--port", portstr, "--www", fx_env("IMGREC_WWW") };
    int n = 5;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = sh_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    return pid;
}

static bool listening(const char *host, int port)
{
    int fd = sock_connect(host, port, NULL, 0);
    if (fd < 0)
        return false;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    bool ok = poll(&p, 1, 1000) == 1 && sock_connect_result(fd) == 0;
    close(fd);
    return ok;
}

/* A worker on host:port named name, waited for (its /healthz 200 through curl). */
static pid_t spawn_worker(const char *host, int port, const char *name)
{
    char bin[PATH_MAX], portstr[16], log[PATH_MAX], url[128], out[4096];
    fx_bin("worker", bin, sizeof bin);
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    const char *argv[] = { bin, "--host", host, "--port", portstr, "--model", fx_env("IMGREC_MODEL"), "--name", name, NULL };
    pid_t pid = sh_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    snprintf(url, sizeof url, "http://%s:%d/healthz", host, port);
    const char *curl[] = { "--max-time", "2", url, NULL };
    /* curl (it speaks to any address) once the port takes connections, so it prints no failures */
    for (long long end = sh_now_ms() + UP_WITHIN_MS; !(listening(host, port) && sh_curl(curl, out, sizeof out) == 200);
         usleep(100 * 1000))
        ck_assert_msg(sh_now_ms() < end && waitpid(pid, NULL, WNOHANG) == 0, "worker %s did not come up (%s)", name, log);
    return pid;
}

/* ---- the file's syntax ------------------------------------------------------------------------------- */

START_TEST(file_syntax)
{
    static char hosts[4][SOCK_HOST_MAX];
    int ports[4];
    char err[200];
    static const char good[] = "# workers\n\n  127.0.0.1:5001  # the first\n[::1]:5002\r\n:5003\nworkers.example:80";
    ck_assert_int_eq(discovery_parse_file(good, sizeof good - 1, hosts, ports, 4, err, sizeof err), 4);
    ck_assert_str_eq(hosts[0], "127.0.0.1");
    ck_assert_int_eq(ports[0], 5001);
    ck_assert_str_eq(hosts[1], "::1");
    ck_assert_int_eq(ports[1], 5002);
    ck_assert_str_eq(hosts[2], "");
    ck_assert_int_eq(ports[2], 5003);
    ck_assert_str_eq(hosts[3], "workers.example");
    ck_assert_int_eq(ports[3], 80);
    ck_assert_int_eq(discovery_parse_file("", 0, hosts, ports, 4, err, sizeof err), 0);
    static const char *const bad[] = { "127.0.0.1:5001\n# fine\n127.0.0.1:0\n", "a:1\nb:2\n\nc:3 d:4\n",
                                       "\n\nnoport\n" };
    static const char *const line[] = { "line 3: ", "line 4: ", "line 3: " };
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(discovery_parse_file(bad[i], strlen(bad[i]), hosts, ports, 4, err, sizeof err), -1);
        ck_assert_msg(strncmp(err, line[i], strlen(line[i])) == 0, "%s: %s", bad[i], err);
    }
    static const char many[] = "a:1\nb:2\nc:3\nd:4\ne:5\n";
    ck_assert_int_eq(discovery_parse_file(many, sizeof many - 1, hosts, ports, 4, err, sizeof err), -1);
    ck_assert_str_eq(err, "line 5: more than 4 backends");
}
END_TEST

/* ---- --backends-file and SIGHUP, on 127.0.0.1 ---------------------------------------------------------- */

START_TEST(backends_file_reread_on_sighup)
{
    int pa = sh_free_port(), pb = sh_free_port();
    spawn_worker("127.0.0.1", pa, "wa");
    spawn_worker("127.0.0.1", pb, "wb");
    char file[PATH_MAX], text[256], a[32], b[32], log[PATH_MAX], worker[64];
    snprintf(file, sizeof file, "%s/backends", dir);
    snprintf(log, sizeof log, "%s/balancer.log", dir);
    snprintf(a, sizeof a, "127.0.0.1:%d", pa);
    snprintf(b, sizeof b, "127.0.0.1:%d", pb);
    snprintf(text, sizeof text, "# the workers\n%s\n", a);
    write_file(file, text);
    int port = sh_free_port();
    const char *args[] = { "--backends-file", file, "--policy", "round-robin", "--slow-start", "0", NULL };
    pid_t bal = spawn_balancer(port, args, log);
    ck_assert_int_eq(sh_wait_healthy(port, bal, UP_WITHIN_MS), 0);

    /* a line added: the new worker joins after its probe and takes every other request */
    snprintf(text, sizeof text, "# the workers\n%s\n%s  # added\n", a, b);
    write_file(file, text);
    ck_assert_int_eq(kill(bal, SIGHUP), 0);
    ck_assert_int_eq(wait_flag(port, b, "up", 1, 5000), 0);
    int got_a = 0, got_b = 0;
    for (int i = 0; i < 6; i++) {
        predict(port, worker, sizeof worker);
        got_a += strcmp(worker, "wa") == 0;
        got_b += strcmp(worker, "wb") == 0;
    }
    ck_assert_int_eq(got_a, 3);
    ck_assert_int_eq(got_b, 3);

    /* a bad file: one line names it and the line; the set stays */
    snprintf(text, sizeof text, "%s\n%s:99999\n", a, "127.0.0.1");
    write_file(file, text);
    char where[PATH_MAX + 8];
    snprintf(where, sizeof where, "%s:2:", file);
    ck_assert_int_eq(kill(bal, SIGHUP), 0);
    for (long long end = sh_now_ms() + 5000; sh_count_in_file(log, where) == 0; usleep(50 * 1000))
        ck_assert_msg(sh_now_ms() < end, "no log line naming %s", where);
    usleep(300 * 1000);
    ck_assert_int_eq(sh_count_in_file(log, where), 1);
    ck_assert_int_eq(sh_count_in_file(log, "keeping the previous backends"), 1);
    char json[8192];
    healthz(port, json, sizeof json);
    ck_assert_int_eq(backend_flag(json, a, "draining"), 0);
    ck_assert_int_eq(backend_flag(json, b, "draining"), 0);

    /* a line removed: drained, removed, and every request goes to the one left */
    snprintf(text, sizeof text, "%s\n", b);
    write_file(file, text);
    ck_assert_int_eq(kill(bal, SIGHUP), 0);
    ck_assert_int_eq(wait_flag(port, a, "up", -1, 5000), 0);
    for (int i = 0; i < 4; i++) {
        predict(port, worker, sizeof worker);
        ck_assert_str_eq(worker, "wb");
    }
    ck_assert_int_eq(sh_count_in_file(log, "drained: removed"), 1);
}
END_TEST

/* ---- DNS: dnsmasq in a namespace of the test's own ---------------------------------------------------- */

/* This process into a new mount and network namespace: a private loopback up, and /etc/resolv.conf
 * (bind-mounted, here only) naming 127.0.0.53.  0, or -1 with errno. */
static int private_namespaces(const char *resolv_conf)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0 ? -1 : 0;
    ifr.ifr_flags |= IFF_UP;
    if (rc == 0)
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    if (s >= 0)
        close(s);
    return rc == 0 ? mount(resolv_conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) : -1;
}

/* How many addresses NAME has for this process's resolver (-1 when it does not resolve). */
static int addresses(void)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
    if (getaddrinfo(NAME, NULL, &hints, &res) != 0)
        return -1;
    int n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n++;
    freeaddrinfo(res);
    return n;
}

/* Rewrites the hosts file dnsmasq serves and tells it (SIGHUP), then waits until the resolver sees n. */
static void set_hosts(const char *hosts, pid_t dns, const char *text, int n)
{
    write_file(hosts, text);
    ck_assert_int_eq(kill(dns, SIGHUP), 0);
    for (long long end = sh_now_ms() + 5000; addresses() != n; usleep(20 * 1000))
        ck_assert_msg(sh_now_ms() < end, "dnsmasq never gave %s %d addresses", NAME, n);
}

START_TEST(dns_name_with_addresses_that_come_and_go)
{
    char resolv[PATH_MAX], hosts[PATH_MAX], log[PATH_MAX], dnslog[PATH_MAX], worker[64];
    snprintf(resolv, sizeof resolv, "%s/resolv.conf", dir);
    snprintf(hosts, sizeof hosts, "%s/hosts", dir);
    snprintf(log, sizeof log, "%s/balancer.log", dir);
    snprintf(dnslog, sizeof dnslog, "%s/dnsmasq.log", dir);
    write_file(resolv, "nameserver 127.0.0.53\noptions timeout:1 attempts:2\n");
    write_file(hosts, "127.0.0.2 " NAME "\n");
    ck_assert_msg(private_namespaces(resolv) == 0, "namespaces: %s", strerror(errno));
    char addn[PATH_MAX + 16];
    snprintf(addn, sizeof addn, "--addn-hosts=%s", hosts);
    /* authoritative for imgrec.test (AAAA: no data, a gone name: NXDOMAIN), nothing forwarded, no cache
     * of its own answers (local TTL 0), in the foreground so the test owns it */
    const char *dns_argv[] = { DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                               "--listen-address=127.0.0.53", "--bind-interfaces", "--port=53", "--local=/imgrec.test/",
                               addn, "--user=root", "--pid-file=", "--log-facility=-", NULL };
    pid_t dns = sh_spawn(dns_argv, dnslog);
    ck_assert_int_gt(dns, 0);
    for (long long end = sh_now_ms() + 5000; addresses() != 1; usleep(20 * 1000))
        ck_assert_msg(sh_now_ms() < end, "dnsmasq does not answer for %s (see %s)", NAME, dnslog);

    int wport = sh_free_port();
    pid_t wa = spawn_worker("127.0.0.2", wport, "w2");
    pid_t wb = spawn_worker("127.0.0.3", wport, "w3");
    char backend[64], a[32], b[32];
    snprintf(backend, sizeof backend, NAME ":%d", wport);
    snprintf(a, sizeof a, "127.0.0.2:%d", wport);
    snprintf(b, sizeof b, "127.0.0.3:%d", wport);
    int port = sh_free_port();
    /* try timeout long, so requests held by a frozen worker stay in flight rather than fail over */
    const char *args[] = { "--backend", backend, "--resolve-interval", "200", "--policy", "round-robin",
                           "--slow-start", "0", "--try-timeout", "20000", NULL };
    pid_t bal = spawn_balancer(port, args, log);
    ck_assert_int_eq(sh_wait_healthy(port, bal, UP_WITHIN_MS), 0);
    predict(port, worker, sizeof worker);
    ck_assert_str_eq(worker, "w2");

    /* 127.0.0.3 added to the name: it takes requests, and only after a healthy probe */
    set_hosts(hosts, dns, "127.0.0.2 " NAME "\n127.0.0.3 " NAME "\n", 2);
    ck_assert_int_eq(wait_flag(port, b, "up", 1, 5000), 0);
    int got_b = 0;
    for (int i = 0; i < 6; i++) {
        predict(port, worker, sizeof worker);
        got_b += strcmp(worker, "w3") == 0;
    }
    ck_assert_int_eq(got_b, 3);
    char w3log[PATH_MAX], *text;
    size_t len;
    snprintf(w3log, sizeof w3log, "%s/w3.log", dir);
    ck_assert_int_eq(sh_read_file(w3log, &text, &len), 0);
    const char *probe = strstr(text, "\"GET /healthz HTTP/1.1\" 200"), *post = strstr(text, "\"POST /predict");
    ck_assert_msg(probe && post && probe < post, "w3's first request was not after a healthy probe:\n%s", text);
    free(text);

    /* w2 frozen with two requests in flight, then 127.0.0.2 removed from the name */
    ck_assert_int_eq(kill(wa, SIGSTOP), 0);
    struct sh_conn *sent[4], *held[2];
    int nheld = 0;
    for (int i = 0; i < 4; i++) /* round-robin: two to each, sent before w2's probes can fail */
        sent[i] = predict_send(port);
    for (int i = 0; i < 4; i++) { /* w3 answers its two; w2 holds its two */
        struct sh_conn *c = sent[i];
        struct sh_reply r;
        if (sh_read_reply(c, &r, 1000) == 0) {
            ck_assert_int_eq(r.status, 200);
            sh_reply_free(&r);
            sh_close(c);
            free(c);
        } else {
            ck_assert_int_lt(nheld, 2);
            held[nheld++] = c;
        }
    }
    ck_assert_int_eq(nheld, 2);
    char w2log[PATH_MAX];
    snprintf(w2log, sizeof w2log, "%s/w2.log", dir);
    static const char answered[] = "\"POST /predict HTTP/1.1\" 200";
    int posts_before = sh_count_in_file(w2log, answered); /* w2's own count of requests it answered */
    set_hosts(hosts, dns, "127.0.0.3 " NAME "\n", 1);
    ck_assert_int_eq(wait_flag(port, a, "draining", 1, 5000), 0);
    for (int i = 0; i < 6; i++) { /* no new request goes to the draining one */
        predict(port, worker, sizeof worker);
        ck_assert_str_eq(worker, "w3");
    }
    char json[8192];
    healthz(port, json, sizeof json);
    ck_assert_msg(strstr(json, "\"in_flight\":2") != NULL, "w2's two requests are not in flight: %s", json);

    /* w3 frozen too, holding two new requests: they are in flight on a backend after the one removed,
     * whose place in the balancer's tables moves down */
    ck_assert_int_eq(kill(wb, SIGSTOP), 0);
    struct sh_conn *on_b[2] = { predict_send(port), predict_send(port) };

    /* w2 thaws: the requests it held finish, answered by it; then it is removed */
    ck_assert_int_eq(kill(wa, SIGCONT), 0);
    for (int i = 0; i < nheld; i++) {
        predict_read(held[i], worker, sizeof worker, 20000);
        ck_assert_str_eq(worker, "w2");
    }
    ck_assert_int_eq(wait_flag(port, a, "up", -1, 5000), 0);
    ck_assert_int_eq(sh_count_in_file(log, "drained: removed"), 1);
    ck_assert_int_eq(sh_count_in_file(w2log, answered), posts_before + 2); /* the two held, no other */

    /* w3 thaws: its two are answered by it and counted off the right backend */
    ck_assert_int_eq(kill(wb, SIGCONT), 0);
    for (int i = 0; i < 2; i++) {
        predict_read(on_b[i], worker, sizeof worker, 20000);
        ck_assert_str_eq(worker, "w3");
    }
    ck_assert_int_eq(wait_flag(port, b, "up", 1, 5000), 0);
    healthz(port, json, sizeof json);
    ck_assert_msg(strstr(json, "\"in_flight\":0") != NULL && !strstr(json, "\"in_flight\":-"), "%s", json);

    /* the DNS server silent: a round now takes seconds (resolv.conf: 1 s x 2 attempts), on the resolver
     * thread; the loop answers all along and the name keeps its address */
    ck_assert_int_eq(kill(dns, SIGSTOP), 0);
    static const char hz[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    int polls = 0;
    for (long long end = sh_now_ms() + 10000; sh_count_in_file(log, "cannot be resolved") == 0; polls++) {
        ck_assert_msg(sh_now_ms() < end, "the balancer never noticed the silent DNS server");
        struct sh_reply r;
        ck_assert_int_eq(sh_exchange(port, hz, sizeof hz - 1, &r, 1000), 0); /* within 1 s: the loop never waits */
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(backend_flag(r.body, b, "draining"), 0);
        sh_reply_free(&r);
        usleep(50 * 1000);
    }
    ck_assert_int_gt(polls, 5);
    ck_assert_int_eq(sh_count_in_file(log, "keeping its 1 addresses"), 1);
    predict(port, worker, sizeof worker);
    ck_assert_str_eq(worker, "w3");
    ck_assert_int_eq(kill(dns, SIGCONT), 0);
    for (long long end = sh_now_ms() + 10000; sh_count_in_file(log, "resolves again") == 0; usleep(50 * 1000))
        ck_assert_msg(sh_now_ms() < end, "the balancer never saw the DNS server back");

    /* the name gone (NXDOMAIN): its last backend drains and /healthz says none is up; back, it rejoins */
    set_hosts(hosts, dns, "", -1);
    ck_assert_int_eq(wait_flag(port, b, "up", -1, 5000), 0);
    healthz(port, json, sizeof json);
    ck_assert_msg(strstr(json, "\"up\":0") != NULL, "%s", json);
    set_hosts(hosts, dns, "127.0.0.3 " NAME "\n", 1);
    ck_assert_int_eq(wait_flag(port, b, "up", 1, 5000), 0);
    predict(port, worker, sizeof worker);
    ck_assert_str_eq(worker, "w3");
}
END_TEST

/* Can this process make a mount and network namespace (root, a kernel that lets it)?  Tried in a child. */
static bool namespaces_work(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(unshare(CLONE_NEWNS | CLONE_NEWNET) == 0 ? 0 : 1);
    int st;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

Suite *test_suite(void)
{
    Suite *s = suite_create("discovery");
    TCase *f = tcase_create("file");
    tcase_add_test(f, file_syntax);
    suite_add_tcase(s, f);
    TCase *e = tcase_create("end to end");
    tcase_add_checked_fixture(e, setup, teardown);
    tcase_set_timeout(e, 90);
    tcase_add_test(e, backends_file_reread_on_sighup);
    if (access(DNSMASQ, X_OK) != 0)
        printf("discovery: no %s (make deps-check installs dnsmasq-base): the DNS test is not run\n", DNSMASQ);
    else if (!namespaces_work())
        printf("discovery: cannot make a mount+network namespace (needs root): the DNS test is not run\n");
    else
        tcase_add_test(e, dns_name_with_addresses_that_come_and_go);
    suite_add_tcase(s, e);
    return s;
}
