/* net/errors: the one table of error codes and the README's table written from it list the same codes
 * with the same statuses. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/errors.h"

#define MAX_ROWS 128

struct row {
    char code[64];
    int status;
};

/* The rows "| `code` | status | ..." of the README's error table. */
static int readme_rows(struct row *rows, int max)
{
    char path[4096];
    const char *tests = getenv("IMGREC_TESTS");
    ck_assert_msg(tests != NULL, "IMGREC_TESTS is not set");
    snprintf(path, sizeof path, "%s/../README.md", tests);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        struct row r;
        if (sscanf(line, "| `%63[a-z_]` | %d |", r.code, &r.status) == 2)
            rows[n++] = r;
    }
    fclose(f);
    return n;
}

START_TEST(readme_table_matches_the_c_table)
{
    static struct row rows[MAX_ROWS];
    int n = readme_rows(rows, MAX_ROWS);
    ck_assert_int_gt(n, 0);
    for (int e = 0; e < ERR_COUNT; e++) {
        const struct err_info *info = err_info((enum err_code)e);
        int found = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(rows[i].code, info->code) == 0)
                found = i;
        ck_assert_msg(found >= 0, "code %s is not in the README's error table", info->code);
        ck_assert_msg(rows[found].status == info->status, "%s: README says %d, the code sends %d", info->code,
                      rows[found].status, info->status);
    }
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int e = 0; e < ERR_COUNT; e++)
            found |= strcmp(rows[i].code, err_info((enum err_code)e)->code) == 0;
        ck_assert_msg(found, "the README documents %s, which the service never sends", rows[i].code);
    }
    ck_assert_int_eq(n, ERR_COUNT);
}
END_TEST

START_TEST(codes_are_unique_and_statuses_are_errors)
{
    for (int e = 0; e < ERR_COUNT; e++) {
        const struct err_info *a = err_info((enum err_code)e);
        ck_assert_ptr_nonnull(a->code);
        ck_assert_int_ge(a->status, 400);
        ck_assert_int_le(a->status, 599);
        for (int f = e + 1; f < ERR_COUNT; f++)
            ck_assert_str_ne(a->code, err_info((enum err_code)f)->code);
    }
    ck_assert_str_eq(err_info(err_for_status(505))->code, "http_version_not_supported");
    ck_assert_str_eq(err_info(err_for_status(400))->code, "bad_request");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, readme_table_matches_the_c_table);
    tcase_add_test(tc, codes_are_unique_and_statuses_are_errors);
    suite_add_tcase(s, tc);
    return s;
}
