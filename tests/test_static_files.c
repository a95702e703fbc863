/* svc/static_files and svc/results_index: no URL path leaves the root (.., %2e%2e, symlinks out), folders
 * mean their index.html, content types by extension, bounded reads; the results index lists studies
 * newest first. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "balance/results_index.h"
#include "balance/static_files.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

static void sub(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* dir/www/{index.html,a b.css,docs/index.html,leak -> /etc/hostname, up -> ..}, dir/secret.txt */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/imgrec-static-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    sub("www");
    sub("www/docs");
    put("www/index.html", "<h1>home</h1>");
    put("www/a b.css", "body{}");
    put("www/docs/index.html", "docs");
    put("secret.txt", "secret");
    char path[256];
    snprintf(path, sizeof path, "%s/www/leak", dir);
    ck_assert_int_eq(symlink("/etc/hostname", path), 0);
    snprintf(path, sizeof path, "%s/www/up", dir);
    ck_assert_int_eq(symlink("..", path), 0);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int resolve(const char *url, char *out, size_t cap)
{
    char root_dir[128], err[128];
    struct static_root root;
    snprintf(root_dir, sizeof root_dir, "%s/www", dir);
    ck_assert_int_eq(static_root_init(&root, root_dir, err, sizeof err), 0);
    return static_resolve(&root, http_str_from(url, strlen(url)), out, cap);
}

static void expect_file(const char *url, const char *ends_with)
{
    char out[4096];
    ck_assert_msg(resolve(url, out, sizeof out) == 0, "%s not found", url);
    size_t n = strlen(out), m = strlen(ends_with);
    ck_assert_msg(n >= m && strcmp(out + n - m, ends_with) == 0, "%s -> %s", url, out);
}

START_TEST(paths_inside_the_root_resolve)
{
    expect_file("/", "/www/index.html");
    expect_file("/index.html", "/www/index.html");
    expect_file("/a%20b.css", "/www/a b.css");
    expect_file("/docs/", "/www/docs/index.html");
    expect_file("/docs", "/www/docs/index.html");
}
END_TEST

START_TEST(nothing_outside_the_root)
{
    char out[4096];
    static const char *const escapes[] = {
        "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt", "/docs/../../secret.txt",
        "/leak", "/up/secret.txt", "/%00", "/nope.html", "/docs/missing", "relative.html",
    };
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++)
        ck_assert_msg(resolve(escapes[i], out, sizeof out) == -404, "%s was served", escapes[i]);
    ck_assert_int_eq(resolve("/%zz", out, sizeof out), -400);
}
END_TEST

START_TEST(content_types_by_extension)
{
    ck_assert_str_eq(static_content_type("/x/index.html"), "text/html; charset=utf-8");
    ck_assert_str_eq(static_content_type("a.CSS"), "text/css; charset=utf-8");
    ck_assert_str_eq(static_content_type("app.js"), "text/javascript; charset=utf-8");
    ck_assert_str_eq(static_content_type("plot.svg"), "image/svg+xml");
    ck_assert_str_eq(static_content_type("plot.png"), "image/png");
    ck_assert_str_eq(static_content_type("table.md"), "text/markdown; charset=utf-8");
    ck_assert_str_eq(static_content_type("rtt.csv"), "text/csv; charset=utf-8");
    ck_assert_str_eq(static_content_type("dir.v2/noext"), "application/octet-stream");
}
END_TEST

START_TEST(reads_are_exact_and_only_regular_files)
{
    char path[256], got[64];
    struct stat st;
    snprintf(path, sizeof path, "%s/www/index.html", dir);
    int fd = static_open(path, &st);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(st.st_size, (off_t)strlen("<h1>home</h1>"));
    ck_assert_int_eq(static_read_fd(fd, got, (size_t)st.st_size), 0);
    ck_assert_int_eq(memcmp(got, "<h1>home</h1>", (size_t)st.st_size), 0);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ck_assert_int_eq(static_read_fd(fd, got, (size_t)st.st_size + 1), -500); /* the file is shorter */
    close(fd);
    snprintf(path, sizeof path, "%s/www/gone.html", dir);
    ck_assert_int_eq(static_open(path, &st), -404);
    snprintf(path, sizeof path, "%s/www/docs", dir);
    ck_assert_int_eq(static_open(path, &st), -404); /* a folder */
    snprintf(path, sizeof path, "%s/www/fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    ck_assert_int_eq(static_open(path, &st), -404); /* returns at once: never waits for a writer */
}
END_TEST

START_TEST(extension_allow_list)
{
    static const char *const allow[] = { "csv", "md", NULL };
    ck_assert(static_ext_allowed("/a/b.csv", allow));
    ck_assert(static_ext_allowed("/a/b.MD", allow));
    ck_assert(!static_ext_allowed("/a/service.log", allow));
    ck_assert(!static_ext_allowed("/a.csv/noext", allow));
    ck_assert(!static_ext_allowed("/a/b.csv.log", allow));
    ck_assert(static_ext_allowed("/a/service.log", NULL));
}
END_TEST

static void set_mtime(const char *rel, time_t t)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct timeval tv[2] = { { t, 0 }, { t, 0 } };
    ck_assert_int_eq(utimes(path, tv), 0);
}

START_TEST(results_index_lists_studies_newest_first)
{
    static const char *const allow[] = { "csv", "md", "svg", NULL };
    sub("results");
    sub("results/old");
    sub("results/new");
    sub("results/.hidden");
    put("results/old/table.md", "x");
    put("results/new/plot.svg", "x");
    put("results/new/a \"quoted\".csv", "x");
    put("results/new/service.log", "a log is never listed");
    put("results/stray.txt", "not a study");
    char link[256];
    snprintf(link, sizeof link, "%s/results/new/passwd", dir);
    ck_assert_int_eq(symlink("/etc/passwd", link), 0); /* never listed */
    set_mtime("results/old", 1000000000);
    set_mtime("results/new", 1700000000);
    char path[256];
    snprintf(path, sizeof path, "%s/results", dir);
    struct buf b;
    buf_init(&b, 64 * 1024);
    ck_assert_int_eq(results_index_json(path, allow, &b), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    ck_assert_str_eq(buf_ptr(&b), "{\"studies\":[{\"name\":\"new\",\"modified\":1700000000,\"files\":"
                                  "[\"a \\\"quoted\\\".csv\",\"plot.svg\"]},"
                                  "{\"name\":\"old\",\"modified\":1000000000,\"files\":[\"table.md\"]}]}\n");
    snprintf(path, sizeof path, "%s/no-such-folder", dir);
    ck_assert_int_eq(results_index_json(path, allow, &b), 0);
    ck_assert_int_eq(buf_append(&b, "", 1), 0);
    ck_assert_str_eq(buf_ptr(&b), "{\"studies\":[]}\n");
    buf_free(&b);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("static files");
    TCase *tc = tcase_create("root");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, paths_inside_the_root_resolve);
    tcase_add_test(tc, nothing_outside_the_root);
    tcase_add_test(tc, content_types_by_extension);
    tcase_add_test(tc, reads_are_exact_and_only_regular_files);
    tcase_add_test(tc, extension_allow_list);
    tcase_add_test(tc, results_index_lists_studies_newest_first);
    suite_add_tcase(s, tc);
    return s;
}
