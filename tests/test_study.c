/* Unit tests of the study machinery: statistics, queueing formulas against textbook values, the seeded
 * arrival generator, the JSON reply reader, URLs, tables written and read back, and absurd load settings.
 * (The upload request's test is in test_multipart, the HTTP client's in test_http_client.) */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/http.h"
#include "net/loop.h"
#include "net/multipart.h"
#include "study/args.h"
#include "study/csvread.h"
#include "study/load_generator.h"
#include "study/prediction.h"
#include "study/queueing.h"
#include "study/rng.h"
#include "study/stats.h"
#include "study/table.h"
#include "net/url.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

/* ---- stats ---------------------------------------------------------------------------------------- */

START_TEST(percentiles_of_one_to_ten)
{
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = 10 - i; /* unsorted on purpose */
    struct summary s;
    ck_assert_int_eq(stats_summarize(x, 10, &s), 0);
    ck_assert_uint_eq(s.n, 10);
    ck_assert_double_eq_tol(s.mean, 5.5, 1e-12);
    ck_assert_double_eq_tol(s.p50, 5.5, 1e-12);  /* rank 4.5 between 5 and 6 */
    ck_assert_double_eq_tol(s.p90, 9.1, 1e-12);  /* rank 8.1 */
    ck_assert_double_eq_tol(s.p99, 9.91, 1e-12); /* rank 8.91 */
    ck_assert_double_eq(s.min, 1);
    ck_assert_double_eq(s.max, 10);
    ck_assert_double_eq_tol(s.sd, sqrt(82.5 / 9), 1e-12);
    ck_assert_double_eq(x[0], 10); /* input untouched */
}
END_TEST

START_TEST(percentile_edges)
{
    double one[1] = { 7 };
    ck_assert_double_eq(stats_percentile_sorted(one, 1, 50), 7);
    ck_assert_double_eq(stats_percentile_sorted(one, 1, 99), 7);
    double two[2] = { 0, 100 };
    ck_assert_double_eq_tol(stats_percentile_sorted(two, 2, 25), 25, 1e-12);
    ck_assert_double_eq(stats_percentile_sorted(two, 2, 0), 0);
    ck_assert_double_eq(stats_percentile_sorted(two, 2, 100), 100);
    struct summary s;
    ck_assert_int_eq(stats_summarize(one, 0, &s), -1);
    ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(scv_and_agreement)
{
    double same[4] = { 3, 3, 3, 3 }, pair[2] = { 1, 3 };
    ck_assert_double_eq(stats_scv(same, 4), 0);
    ck_assert_double_eq_tol(stats_scv(pair, 2), 0.5, 1e-12); /* sample variance 2, mean 2 */
    ck_assert(stats_agree(100, 109, 0.10));
    ck_assert(!stats_agree(100, 112, 0.10));
    ck_assert(stats_agree(0, 0, 0.10));
}
END_TEST

/* ---- queueing --------------------------------------------------------------------------------------- */

START_TEST(md1_mean_wait_is_textbook)
{
    /* S = 10 ms (mu = 0.1/ms), lambda = 0.05/ms: rho = 0.5, Wq = rho / (2 mu (1 - rho)) = 5 ms. */
    double mu = 0.1, lambda = 0.05, rho = lambda / mu;
    ck_assert_double_eq_tol(q_mg1_wait(lambda, 10, 0), rho / (2 * mu * (1 - rho)), 1e-12);
    struct q_prediction p;
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, lambda, 10, 0, 1, NULL, &p), 0);
    ck_assert(p.stable);
    ck_assert_double_eq_tol(p.rho, 0.5, 1e-12);
    ck_assert_double_eq_tol(p.mean_ms, 15, 1e-12);
    ck_assert(p.p99_ms > p.mean_ms);
}
END_TEST

START_TEST(mm1_and_erlang_c)
{
    /* M/M/1: Wq = rho S / (1 - rho); M/G/c with c = 1 and scv = 1 must agree with it. */
    ck_assert_double_eq_tol(q_mg1_wait(0.05, 10, 1), 10, 1e-12);
    ck_assert_double_eq_tol(q_mgc_wait(0.05, 10, 1, 1), 10, 1e-12);
    /* Erlang C for c = 2, a = 1 erlang is 1/3; for c = 1 it is rho. */
    ck_assert_double_eq_tol(q_erlang_c(2, 1), 1.0 / 3, 1e-12);
    ck_assert_double_eq_tol(q_erlang_c(1, 0.7), 0.7, 1e-12);
    ck_assert_double_eq(q_erlang_c(2, 2), 1);
    /* M/M/1 waiting time is exactly P(W > t) = rho exp(-(mu - lambda) t): the decay rate is mu - lambda. */
    double theta = q_mg1_decay(0.05, 10, 1);
    ck_assert_double_eq_tol(theta, 0.1 - 0.05, 1e-9);
    double t99 = q_wait_quantile(0.5, theta, 0.99);
    ck_assert_double_eq_tol(0.5 * exp(-theta * t99), 0.01, 1e-9);
}
END_TEST

START_TEST(md1_tail_decay_solves_the_lundberg_equation)
{
    /* Deterministic S: lambda (exp(theta S) - 1) = theta; at rho = 0.5 theta S is about 1.2564 */
    double lambda = 0.05, s = 10, theta = q_mg1_decay(lambda, s, 0);
    ck_assert_double_eq_tol(lambda * (exp(theta * s) - 1), theta, 1e-9);
    ck_assert_double_eq_tol(theta * s, 1.2564, 1e-3);
    /* More variable service, slower decay; overloaded, no decay. */
    ck_assert(q_mg1_decay(lambda, s, 0.5) < theta);
    ck_assert_double_eq(q_mg1_decay(0.2, s, 0), 0);
    struct q_prediction p;
    q_predict(Q_RANDOM_SPLIT, lambda, s, 0, 1, NULL, &p);
    ck_assert_double_eq_tol(p.p99_ms, s + log(0.5 / 0.01) / theta, 1e-9);
}
END_TEST

START_TEST(random_split_is_mg1_at_lambda_over_c)
{
    struct q_prediction two, one;
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, 0.1, 10, 0.2, 2, NULL, &two), 0);
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, 0.05, 10, 0.2, 1, NULL, &one), 0);
    ck_assert_double_eq_tol(two.mean_ms, one.mean_ms, 1e-12);
    ck_assert_double_eq_tol(two.p99_ms, one.p99_ms, 1e-12);
    /* M/M/1 (scv 1) at rho 0.8, S = 10: P(W > t) = rho exp(-(mu - lambda) t), so the median response is
     * S + ln(0.8 / 0.5) / 0.02; at rho 0.4 most arrivals do not wait and it is S. */
    struct q_prediction mm1;
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, 0.08, 10, 1, 1, NULL, &mm1), 0);
    ck_assert_double_eq_tol(mm1.p50_ms, 10 + log(0.8 / 0.5) / 0.02, 1e-6);
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, 0.04, 10, 1, 1, NULL, &mm1), 0);
    ck_assert_double_eq_tol(mm1.p50_ms, 10, 1e-12);
    /* A shared queue (M/G/2) waits less than two random halves at the same load. */
    struct q_prediction shared;
    ck_assert_int_eq(q_predict(Q_SHARED_QUEUE, 0.1, 10, 0.2, 2, NULL, &shared), 0);
    ck_assert(shared.mean_ms < two.mean_ms);
}
END_TEST

/* The policies' models at known values: p2c's mean field at rho = 0.5 with exponential service is
 * S (1 + 0.5^2 + 0.5^6 + 0.5^14 + ...); round robin with one worker is M/G/1; the order random > round
 * robin > p2c > least holds for the mean at moderate load on many workers. */
START_TEST(policy_models)
{
    ck_assert_int_eq(q_model_of_policy("random"), Q_RANDOM_SPLIT);
    ck_assert_int_eq(q_model_of_policy("least"), Q_SHARED_QUEUE);
    ck_assert_int_eq(q_model_of_policy("p2c"), Q_TWO_CHOICES);
    ck_assert_int_eq(q_model_of_policy("round-robin"), Q_ROUND_ROBIN);
    ck_assert_int_eq(q_model_of_policy("fastest"), -1);
    struct q_prediction p, q;
    ck_assert_int_eq(q_predict(Q_TWO_CHOICES, 0.4, 10, 1, 8, NULL, &p), 0); /* rho = 0.5 */
    ck_assert_double_eq_tol(p.mean_ms, 10 * (1 + 0.25 + pow(0.5, 6) + pow(0.5, 14) + pow(0.5, 30)), 1e-9);
    ck_assert_double_eq_tol(p.rho, 0.5, 1e-12);
    /* one worker: no choice, M/G/1 */
    ck_assert_int_eq(q_predict(Q_TWO_CHOICES, 0.05, 10, 0.3, 1, NULL, &p), 0);
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, 0.05, 10, 0.3, 1, NULL, &q), 0);
    ck_assert_double_eq_tol(p.mean_ms, q.mean_ms, 1e-12);
    ck_assert_int_eq(q_predict(Q_ROUND_ROBIN, 0.05, 10, 0.3, 1, NULL, &p), 0);
    ck_assert_double_eq_tol(p.mean_ms, q.mean_ms, 1e-9);
    /* c = 4, exponential service, rho = 0.7: Kingman gives (1/4 + 1)/2 * 0.7/0.3 * S of wait */
    ck_assert_int_eq(q_predict(Q_ROUND_ROBIN, 0.28, 10, 1, 4, NULL, &p), 0);
    ck_assert_double_eq_tol(p.wait_ms, 0.625 * 0.7 / 0.3 * 10, 1e-9);
    double mean[4];
    for (int m = 0; m < 4; m++) {
        ck_assert_int_eq(q_predict((enum q_model)m, 0.28, 10, 1, 4, NULL, &p), 0);
        ck_assert(p.stable && p.p99_ms > p.mean_ms);
        mean[m] = p.mean_ms;
    }
    ck_assert(mean[Q_RANDOM_SPLIT] > mean[Q_ROUND_ROBIN] && mean[Q_ROUND_ROBIN] > mean[Q_TWO_CHOICES] &&
              mean[Q_TWO_CHOICES] > mean[Q_SHARED_QUEUE]);
    ck_assert_int_eq(q_predict(Q_TWO_CHOICES, 0.5, 10, 1, 4, NULL, &p), 0); /* rho > 1 */
    ck_assert(!p.stable && isinf(p.mean_ms));
}
END_TEST

START_TEST(overload_and_finite_runs)
{
    struct q_prediction p;
    /* rho = 2 for 1000 ms: the queue grows by 1 s of work per s, so the mean arrival waits 500 ms plus the
     * random part, (2/3) sqrt(2 lambda E[S^2] T / pi). */
    double lambda = 0.2, s = 10;
    double random_part = 2.0 / 3 * sqrt(2 * lambda * s * s * 1000 / M_PI);
    struct q_run run = { 0, 1000, 0 };
    ck_assert_double_eq_tol(q_run_wait(lambda, s, 0, &run), 500 + random_part, 1e-3);
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, lambda, s, 0, 1, &run, &p), 0);
    ck_assert(!p.stable);
    ck_assert_double_eq_tol(p.mean_ms, 510 + random_part, 1e-3);
    ck_assert(p.p99_ms > 990);
    ck_assert_double_eq(p.throughput, lambda); /* unbounded queue: everything is answered, late */
    /* A queue bound caps the wait; measured after the queue filled, every admitted request waits the cap,
     * and the workers answer at their capacity c / S. */
    struct q_run capped = { 500, 1000, 200 };
    ck_assert_double_eq_tol(q_run_wait(lambda, s, 0, &capped), 200, 1e-9);
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, lambda, s, 0, 1, &capped, &p), 0);
    ck_assert_double_eq_tol(p.mean_ms, 210, 1e-9);
    ck_assert_double_eq_tol(p.p99_ms, 210, 1e-9);
    ck_assert_double_eq_tol(p.throughput, 0.1, 1e-12);
    /* At rho = 1 only the random part is left; a stable queue is capped by it on a short run. */
    ck_assert_double_eq_tol(q_run_wait(0.1, s, 0, &run), 2.0 / 3 * sqrt(2 * 0.1 * s * s * 1000 / M_PI), 1e-3);
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, 0.099, s, 0, 1, &run, &p), 0);
    ck_assert(p.stable);
    ck_assert_double_eq_tol(p.wait_ms, q_run_wait(0.099, s, 0, &run), 1e-9);
    /* No run: the steady state, which does not exist. */
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, lambda, s, 0, 1, NULL, &p), 0);
    ck_assert(isinf(p.mean_ms));
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, lambda, 0, 0, 1, NULL, &p), -1);
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, lambda, s, 0, 0, NULL, &p), -1);
    struct q_run backwards = { 10, 5, 0 };
    ck_assert_int_eq(q_predict(Q_RANDOM_SPLIT, lambda, s, 0, 1, &backwards, &p), -1);
}
END_TEST

START_TEST(workers_needed_is_the_smallest_that_meets_p99)
{
    double lambda = 0.25, s = 10, target = 40; /* 2.5 erlangs: at least 3 workers */
    int c = q_workers_needed(Q_RANDOM_SPLIT, lambda, s, 0, target, 64);
    ck_assert_int_ge(c, 3);
    struct q_prediction p;
    q_predict(Q_RANDOM_SPLIT, lambda, s, 0, c, NULL, &p);
    ck_assert(p.stable && p.p99_ms <= target);
    q_predict(Q_RANDOM_SPLIT, lambda, s, 0, c - 1, NULL, &p);
    ck_assert(!p.stable || p.p99_ms > target);
    ck_assert_int_eq(q_workers_needed(Q_RANDOM_SPLIT, lambda, s, 0, 5, 64), -1); /* below S: never */
}
END_TEST

/* ---- rng ---------------------------------------------------------------------------------------------- */

START_TEST(exponential_gaps_are_seeded_and_have_the_mean)
{
    struct rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    double sum = 0, sumsq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rng_exponential(&a, 20);
        ck_assert_double_eq(x, rng_exponential(&b, 20));
        ck_assert(x >= 0 && isfinite(x));
        sum += x;
        sumsq += x * x;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    ck_assert_double_eq_tol(mean, 20, 0.3);        /* standard error 20/sqrt(n) = 0.045 */
    ck_assert_double_eq_tol(var / (mean * mean), 1, 0.03); /* exponential: scv 1 */
    rng_seed(&b, 43);
    ck_assert(rng_next(&a) != rng_next(&b));
    for (int i = 0; i < 1000; i++) {
        double u = rng_uniform(&a);
        ck_assert(u >= 0 && u < 1);
    }
}
END_TEST

/* ---- JSON replies ------------------------------------------------------------------------------------- */

static const char reply[] =
    "{\"label\":\"snowmobile\",\"class_index\":802,\"prob\":0.4032,"
    "\"top5\":[{\"label\":\"snowmobile\",\"class_index\":802,\"prob\":0.4032},"
    "{\"label\":\"ski \\\"x\\\" \\u00e9\\ud83d\\ude00\",\"class_index\":795,\"prob\":0.2},"
    "{\"label\":\"alp\",\"class_index\":970,\"prob\":0.1},{\"label\":\"a\",\"class_index\":1,\"prob\":0.01},"
    "{\"label\":\"b\",\"class_index\":2,\"prob\":0.005}],"
    "\"worker\":\"vm:5001\",\"timing_ms\":{\"decode\":1.5,\"inference\":9.25,\"total\":11},\"extra\":[true,null,{}]}";

START_TEST(reads_a_worker_reply)
{
    struct prediction p;
    char err[128];
    ck_assert_int_eq(prediction_from_json(reply, strlen(reply), &p, err, sizeof err), 0);
    ck_assert_int_eq(p.k, 5);
    ck_assert_str_eq(p.top[0].label, "snowmobile");
    ck_assert_int_eq(p.top[0].class_index, 802);
    ck_assert_double_eq_tol(p.top[0].prob, 0.4032, 1e-12);
    ck_assert_str_eq(p.top[1].label, "ski \"x\" \xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_int_eq(p.top[4].class_index, 2);
    ck_assert_str_eq(p.worker, "vm:5001");
    ck_assert_double_eq(p.inference_ms, 9.25);
    ck_assert_double_eq(p.total_ms, 11);
    ck_assert(prediction_has(&p, 970, 5));
    ck_assert(!prediction_has(&p, 970, 1));
}
END_TEST

START_TEST(error_and_malformed_replies_are_refused)
{
    struct prediction p;
    char err[128];
    const char *e = "{\"error\":\"image_too_large\",\"detail\":\"20000x20000\"}";
    ck_assert_int_eq(prediction_from_json(e, strlen(e), &p, err, sizeof err), -1);
    ck_assert_str_eq(err, "image_too_large: 20000x20000");
    static const char *const bad[] = {
        "", "{", "{\"top5\":[}", "{\"top5\":[{\"label\":\"a\",\"class_index\":1,\"prob\":0.5}]} x",
        "{\"top5\":[{\"label\":\"a\001\"}]}", "{\"top5\":[]}", "{\"top5\":[{\"label\":\"\\ud800\"}]}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "{\"top5\":[{\"label\":\"a\",\"class_index\":1e300,\"prob\":0.5}]}",
        "{\"top5\":[{\"label\":\"a\",\"class_index\":1000,\"prob\":0.5}]}",
        "{\"top5\":[{\"label\":\"a\",\"class_index\":2.5,\"prob\":0.5}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(prediction_from_json(bad[i], strlen(bad[i]), &p, err, sizeof err) == -1, "accepted %s", bad[i]);
}
END_TEST

START_TEST(prints_the_same_json_it_reads)
{
    struct prediction p, back;
    char err[128];
    ck_assert_int_eq(prediction_from_json(reply, strlen(reply), &p, err, sizeof err), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(prediction_print(f, "dir/a\"b.jpg", &p, 12.5), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "{\"file\":\"dir/a\\\"b.jpg\",\"label\":\"snowmobile\",\"class_index\":802,"));
    ck_assert_ptr_nonnull(strstr(text, "\"rtt_ms\":12.500"));
    ck_assert_int_eq(prediction_from_json(text, len, &back, err, sizeof err), 0);
    ck_assert_int_eq(back.k, 5);
    ck_assert_str_eq(back.top[1].label, p.top[1].label);
    ck_assert_str_eq(back.worker, "vm:5001");
    free(text);

    /* What the worker sends, byte for byte (worker.c format_answer): the client's line is the same JSON
     * with "file" first and "rtt_ms" last, same digits, same fields (timing_ms.queue included). */
    static const char service[] =
        "{\"label\":\"snowmobile\",\"class_index\":802,\"prob\":0.398532,\"top5\":["
        "{\"label\":\"snowmobile\",\"class_index\":802,\"prob\":0.398532},"
        "{\"label\":\"alp\",\"class_index\":970,\"prob\":0.131250},"
        "{\"label\":\"ski\",\"class_index\":795,\"prob\":0.100001},"
        "{\"label\":\"a\",\"class_index\":1,\"prob\":0.000123},"
        "{\"label\":\"b\",\"class_index\":2,\"prob\":0.000001}],\"worker\":\"vm:5001\","
        "\"timing_ms\":{\"queue\":0.101,\"decode\":8.558,\"inference\":14.900,\"total\":23.600}}\n";
    ck_assert_int_eq(prediction_from_json(service, strlen(service), &p, err, sizeof err), 0);
    f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(prediction_print(f, "x.jpg", &p, 25), 0);
    fclose(f);
    char want[2048];
    snprintf(want, sizeof want, "{\"file\":\"x.jpg\",%.*s,\"rtt_ms\":25.000}\n", (int)strlen(service) - 3,
             service + 1);
    ck_assert_str_eq(text, want);
    free(text);
}
END_TEST

/* ---- URLs, uploads, arguments ------------------------------------------------------------------------- */

START_TEST(urls)
{
    struct url u;
    char err[128], auth[300];
    ck_assert_int_eq(url_parse("http://127.0.0.1:5000", "/submit", &u, err, sizeof err), 0);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 5000);
    ck_assert_str_eq(u.target, "/submit");
    ck_assert_int_eq(url_parse("http://h:1/?backends=2", "/submit", &u, err, sizeof err), 0);
    ck_assert_str_eq(u.target, "/submit?backends=2");
    ck_assert_int_eq(url_parse("http://h:1/predict?x=1", "/submit", &u, err, sizeof err), 0);
    ck_assert_str_eq(u.target, "/predict?x=1");
    ck_assert_int_eq(url_parse("http://localhost", "/submit", &u, err, sizeof err), 0);
    ck_assert_int_eq(u.port, 80);
    ck_assert_int_eq(url_parse("http://[::1]:8080/p", "/submit", &u, err, sizeof err), 0);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_int_eq(url_authority(&u, auth, sizeof auth), 0);
    ck_assert_str_eq(auth, "[::1]:8080");
    static const char *const bad[] = { "https://h:1", "h:1", "http://", "http://h:99999", "http://h:1/#f" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(url_parse(bad[i], "/submit", &u, err, sizeof err) == -1, "accepted %s", bad[i]);
}
END_TEST

START_TEST(argument_lists)
{
    int sizes[4];
    double f[4];
    ck_assert_int_eq(args_int_list("--sizes", "16,32,224", sizes, 4, 1, 4096), 3);
    ck_assert_int_eq(sizes[2], 224);
    ck_assert_int_eq(args_int_list("--sizes", "16,x", sizes, 4, 1, 4096), -1);
    ck_assert_int_eq(args_int_list("--sizes", "1,2,3,4,5", sizes, 4, 1, 4096), -1);
    ck_assert_int_eq(args_int_list("--sizes", "0", sizes, 4, 1, 4096), -1);
    ck_assert_int_eq(args_double_list("--factors", "2.5,1,0.05", f, 4), 3);
    ck_assert_double_eq(f[2], 0.05);
    ck_assert_int_eq(args_double_list("--factors", "-1", f, 4), -1);
}
END_TEST

/* ---- tables ------------------------------------------------------------------------------------------- */

START_TEST(table_files_read_back)
{
    char dir[] = "/tmp/imgrec-test-table-XXXXXX", err[256], path[600];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sub[300];
    snprintf(sub, sizeof sub, "%s/acc", dir);
    struct table t;
    table_init(&t, 3, -1);
    ck_assert_int_eq(table_open_files(&t, sub, "accuracy", "Title", err, sizeof err), 0);
    static const char *const cols[] = { "size", "n", "top1" };
    static const char *const r1[] = { "16", "10", "2.5" }, *const r2[] = { "224", "10", "80.0" };
    table_header(&t, cols);
    table_row(&t, r1);
    table_row(&t, r2);
    table_note(&t, "a note");
    ck_assert_int_eq(table_close(&t), 0);
    struct csv *c = malloc(sizeof *c);
    snprintf(path, sizeof path, "%s/accuracy.csv", sub);
    ck_assert_int_eq(csv_load(path, c, err, sizeof err), 0);
    ck_assert_int_eq(c->nrows, 2);
    ck_assert_double_eq(csv_num(c, 1, csv_col(c, "top1")), 80.0);
    ck_assert_int_eq(csv_col(c, "nope"), -1);
    ck_assert(isnan(csv_num(c, 5, 0)));
    char *md;
    size_t len;
    snprintf(path, sizeof path, "%s/accuracy.md", sub);
    ck_assert_int_eq(sh_read_file(path, &md, &len), 0);
    ck_assert_ptr_nonnull(strstr(md, "## Title\n\n| size | n | top1 |\n|---|---|---|\n| 16 | 10 | 2.5 |\n"));
    ck_assert_ptr_nonnull(strstr(md, "\na note\n"));
    free(md);
    /* A ragged file is refused, not guessed at. */
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("a,b\n1,2\n3\n", f);
    fclose(f);
    ck_assert_int_eq(csv_load(path, c, err, sizeof err), -1);
    free(c);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Absurd settings either end promptly or are refused: a mean gap of 31 years sends one request and stops
 * (it used to wait for the second), and a window of 1e12 s used to overflow into a division by zero. */
START_TEST(absurd_load_settings_end_or_are_refused)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct load_config cfg = { .interval_ms = 1e12, .window_s = 0.2, .max_windows = 4, .tolerance = 0.1,
                               .seed = 1, .timeout_ms = 500, .max_conns = 4 };
    struct load_result r;
    char err[128];
    int port = sh_free_port();
    ck_assert_int_eq(load_run("127.0.0.1", port, req, sizeof req - 1, sizeof req - 1, &cfg, &r, err, sizeof err), 0);
    ck_assert_int_eq(r.sent, 1);
    ck_assert_int_eq(r.ok, 0);
    cfg.interval_ms = 1e300;
    ck_assert_int_eq(load_run("127.0.0.1", port, req, sizeof req - 1, sizeof req - 1, &cfg, &r, err, sizeof err), -1);
    cfg.interval_ms = 50;
    cfg.window_s = 1e12;
    ck_assert_int_eq(load_run("127.0.0.1", port, req, sizeof req - 1, sizeof req - 1, &cfg, &r, err, sizeof err), -1);
    double v;
    ck_assert_int_eq(args_positive("--duration", "1e12", &v), -1);
    ck_assert_int_eq(args_positive("--duration", "1e9", &v), 0);
    ck_assert_int_eq(args_positive("--service-scv", "0", &v), -1);
    ck_assert_int_eq(args_nonnegative("--service-scv", "0", &v), 0);
    ck_assert_int_eq(args_nonnegative("--service-scv", "-0.5", &v), -1);
}
END_TEST

/* ---- progress on a terminal ---------------------------------------------------------------------------- */

/* Runs `client accuracy` on 3 pictures with its stderr on the slave side of a pseudo-terminal (stdout to
 * /dev/null) and reads what the terminal would show, up to cap bytes, until the client exits. */
static int accuracy_on_a_pty(char *buf, size_t cap)
{
    char bin[512], set[600];
    fx_bin("client", bin, sizeof bin);
    snprintf(set, sizeof set, "%s/eval/val_dev", fx_env("IMGREC_SHARED"));
    int master, slave;
    ck_assert_int_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull < 0 || dup2(devnull, 1) < 0 || dup2(slave, 2) < 0)
            _exit(127);
        close(master);
        execl(bin, bin, "accuracy", "--set", set, "--limit", "3", "--model", fx_env("IMGREC_MODEL"), (char *)NULL);
        _exit(127);
    }
    close(slave);
    size_t len = 0;
    for (int rounds = 0; rounds < 600 && len + 1 < cap; rounds++) { /* 60 s at most */
        struct pollfd p = { master, POLLIN, 0 };
        if (poll(&p, 1, 100) < 0)
            break;
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(master, buf + len, cap - 1 - len);
        if (n <= 0) /* EIO once the child has gone and the slave is closed */
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(master);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* On a terminal a long command shows one line rewritten in place ("\r" ... erase to end of line) and
 * clears it at the end; into a pipe it writes nothing at all to stderr. */
START_TEST(progress_only_on_a_terminal)
{
    char *tty = malloc(65536);
    ck_assert_ptr_nonnull(tty);
    ck_assert_int_eq(accuracy_on_a_pty(tty, 65536), 0);
    ck_assert_msg(strstr(tty, "\rclient accuracy: 0/3 (0%) pictures\033[K"), "terminal got: %s", tty);
    ck_assert_msg(strstr(tty, "/3 ("), "%s", tty);
    size_t n = strlen(tty);
    ck_assert_msg(n >= 4 && strcmp(tty + n - 4, "\r\033[K") == 0, "the line is not cleared at the end: %s", tty);
    ck_assert_ptr_null(strchr(tty, '\n')); /* nothing but the progress line */
    free(tty);

    char bin[512], set[600], cmd[2048], out[4096];
    fx_bin("client", bin, sizeof bin);
    snprintf(set, sizeof set, "%s/eval/val_dev", fx_env("IMGREC_SHARED"));
    snprintf(cmd, sizeof cmd, "'%s' accuracy --set '%s' --limit 3 --model '%s' 2>&1 >/dev/null", bin, set,
             fx_env("IMGREC_MODEL"));
    const char *argv[] = { "sh", "-c", cmd, NULL };
    ck_assert_int_eq(sh_run(argv, out, sizeof out, 60000), 0);
    ck_assert_msg(out[0] == '\0', "stderr into a pipe got: %s", out);
}
END_TEST

/* The load generator's rate steps (the topology study's calm, 3x, calm): 50/s for 0.4 s, 200/s for 0.4 s,
 * 50/s again, against a port nobody listens on (each arrival fails at once; the schedule is what is
 * tested).  Every arrival is a sample, in order, and each segment has about its rate's share. */
START_TEST(rate_steps_change_the_arrival_rate)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct load_config cfg = { .interval_ms = 20, .window_s = 1.2, .max_windows = 1, .tolerance = 0.1, .seed = 7,
                               .timeout_ms = 500, .max_conns = 64, .nsteps = 2,
                               .steps = { { 0.4, 5 }, { 0.8, 20 } } };
    struct load_result r;
    struct load_sample *smp = NULL;
    long n = 0;
    char err[128];
    int port = sh_free_port();
    ck_assert_int_eq(load_run_samples("127.0.0.1", port, req, sizeof req - 1, sizeof req - 1, &cfg, &r, &smp, &n, err,
                                      sizeof err), 0);
    ck_assert_int_eq(n, r.sent);
    long seg[3] = { 0 };
    for (long i = 0; i < n; i++) {
        ck_assert(smp[i].at_s >= 0 && smp[i].at_s < 1.2);
        ck_assert(i == 0 || smp[i].at_s >= smp[i - 1].at_s);
        ck_assert_int_eq(smp[i].status, -1);
        seg[smp[i].at_s < 0.4 ? 0 : smp[i].at_s < 0.8 ? 1 : 2]++;
    }
    free(smp);
    /* Means 20, 80, 20; Poisson spreads of about 4.5, 9, 4.5. */
    ck_assert_msg(seg[0] >= 8 && seg[0] <= 35 && seg[1] >= 55 && seg[1] <= 110 && seg[2] >= 8 && seg[2] <= 35,
                  "arrivals per segment %ld %ld %ld", seg[0], seg[1], seg[2]);
    ck_assert(seg[1] > 2 * seg[0] && seg[1] > 2 * seg[2]);
    /* Steps out of order, or with no gap, are refused. */
    cfg.steps[1].at_s = 0.3;
    ck_assert_int_eq(load_run("127.0.0.1", port, req, sizeof req - 1, sizeof req - 1, &cfg, &r, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "bad rate step 2"));
    cfg.steps[1] = (struct load_step){ 0.8, 0 };
    ck_assert_int_eq(load_run("127.0.0.1", port, req, sizeof req - 1, sizeof req - 1, &cfg, &r, err, sizeof err), -1);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("study");
    TCase *stats = tcase_create("stats");
    tcase_add_test(stats, percentiles_of_one_to_ten);
    tcase_add_test(stats, percentile_edges);
    tcase_add_test(stats, scv_and_agreement);
    suite_add_tcase(s, stats);
    TCase *q = tcase_create("queueing");
    tcase_add_test(q, md1_mean_wait_is_textbook);
    tcase_add_test(q, mm1_and_erlang_c);
    tcase_add_test(q, random_split_is_mg1_at_lambda_over_c);
    tcase_add_test(q, policy_models);
    tcase_add_test(q, md1_tail_decay_solves_the_lundberg_equation);
    tcase_add_test(q, overload_and_finite_runs);
    tcase_add_test(q, workers_needed_is_the_smallest_that_meets_p99);
    suite_add_tcase(s, q);
    TCase *r = tcase_create("rng");
    tcase_add_test(r, exponential_gaps_are_seeded_and_have_the_mean);
    suite_add_tcase(s, r);
    TCase *j = tcase_create("replies");
    tcase_add_test(j, reads_a_worker_reply);
    tcase_add_test(j, error_and_malformed_replies_are_refused);
    tcase_add_test(j, prints_the_same_json_it_reads);
    suite_add_tcase(s, j);
    TCase *w = tcase_create("wire");
    tcase_add_test(w, urls);
    tcase_add_test(w, argument_lists);
    tcase_add_test(w, table_files_read_back);
    tcase_add_test(w, absurd_load_settings_end_or_are_refused);
    tcase_add_test(w, rate_steps_change_the_arrival_rate);
    suite_add_tcase(s, w);
    TCase *pg = tcase_create("progress");
    tcase_add_test(pg, progress_only_on_a_terminal);
    tcase_set_timeout(pg, 120);
    suite_add_tcase(s, pg);
    return s;
}
