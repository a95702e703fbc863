/* balance/choose + balance/health: each policy's distribution over many seeded picks, the in-flight cap,
 * down and draining backends never picked, ?backends=N, the avoided backend, the slow start's rising
 * share, and the up/down rules with the /healthz JSON. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "balance/choose.h"
#include "balance/cluster.h"
#include "balance/health.h"

#define PICKS 20000

/* A chooser with n backends, all up since long ago. */
static void setup(struct chooser *c, enum choose_policy p, int n, int cap, uint64_t slow_ms)
{
    choose_init(c, p, cap, slow_ms, 42);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "127.0.0.1:%d", 5001 + i);
        ck_assert_int_eq(choose_add(c, name, NULL, 0), i);
        health_mark(c, i, true, 0);
    }
}

/* Counts PICKS picks per backend at now_ms with nobody in flight. */
static void count_picks(struct chooser *c, int limit, int avoid, uint64_t now_ms, int *count)
{
    memset(count, 0, sizeof(int) * CHOOSE_MAX_BACKENDS);
    for (int k = 0; k < PICKS; k++) {
        int i = choose_pick(c, limit, avoid, now_ms);
        ck_assert_int_ge(i, 0);
        count[i]++;
    }
}

static const enum choose_policy all_policies[] = { CHOOSE_RANDOM, CHOOSE_P2C, CHOOSE_LEAST, CHOOSE_ROUND_ROBIN };

/* With nobody in flight every policy spreads evenly: each of 4 within 10% of a quarter (random's
 * binomial spread at 20000 picks is about 1.5%), round-robin exactly. */
START_TEST(every_policy_spreads_evenly_when_idle)
{
    struct chooser c;
    int count[CHOOSE_MAX_BACKENDS];
    for (size_t p = 0; p < 4; p++) {
        setup(&c, all_policies[p], 4, 0, 0);
        count_picks(&c, 0, -1, 100000, count);
        for (int i = 0; i < 4; i++) {
            ck_assert_msg(count[i] > PICKS / 4 * 9 / 10 && count[i] < PICKS / 4 * 11 / 10, "%s: backend %d got %d",
                          choose_policy_name(all_policies[p]), i, count[i]);
            if (all_policies[p] == CHOOSE_ROUND_ROBIN)
                ck_assert_int_eq(count[i], PICKS / 4);
        }
    }
}
END_TEST

/* Round-robin goes round in order. */
START_TEST(round_robin_takes_turns)
{
    struct chooser c;
    setup(&c, CHOOSE_ROUND_ROBIN, 3, 0, 0);
    int seen[3] = { choose_pick(&c, 0, -1, 1), choose_pick(&c, 0, -1, 1), choose_pick(&c, 0, -1, 1) };
    ck_assert(seen[0] != seen[1] && seen[1] != seen[2] && seen[0] != seen[2]);
    for (int k = 0; k < 30; k++)
        ck_assert_int_eq(choose_pick(&c, 0, -1, 1), seen[k % 3]);
}
END_TEST

/* Load-aware policies prefer the less loaded: least always takes the minimum; p2c never takes the most
 * loaded of 4 (it loses every pair), and takes the least loaded in about 1/2 of picks (pairs that hold it:
 * 3/6); random ignores load. */
START_TEST(load_aware_policies_follow_in_flight)
{
    struct chooser c;
    int count[CHOOSE_MAX_BACKENDS];
    static const int load[4] = { 5, 1, 3, 8 };
    setup(&c, CHOOSE_LEAST, 4, 0, 0);
    for (int i = 0; i < 4; i++)
        c.b[i].in_flight = load[i];
    count_picks(&c, 0, -1, 1, count);
    ck_assert_int_eq(count[1], PICKS);

    setup(&c, CHOOSE_P2C, 4, 0, 0);
    for (int i = 0; i < 4; i++)
        c.b[i].in_flight = load[i];
    count_picks(&c, 0, -1, 1, count);
    ck_assert_int_eq(count[3], 0);
    ck_assert_msg(count[1] > PICKS * 45 / 100 && count[1] < PICKS * 55 / 100, "p2c least loaded: %d", count[1]);
    ck_assert_int_gt(count[1], count[2]);
    ck_assert_int_gt(count[2], count[0]);

    setup(&c, CHOOSE_RANDOM, 4, 0, 0);
    for (int i = 0; i < 4; i++)
        c.b[i].in_flight = load[i];
    count_picks(&c, 0, -1, 1, count);
    ck_assert_int_gt(count[3], PICKS / 5);
}
END_TEST

/* Down and draining backends are never picked, under any policy; none up -> CHOOSE_NONE_UP. */
START_TEST(down_and_draining_never_picked)
{
    struct chooser c;
    int count[CHOOSE_MAX_BACKENDS];
    for (size_t p = 0; p < 4; p++) {
        setup(&c, all_policies[p], 4, 0, 0);
        health_mark(&c, 0, false, 10);
        c.b[2].draining = true;
        count_picks(&c, 0, -1, 100, count);
        ck_assert_int_eq(count[0], 0);
        ck_assert_int_eq(count[2], 0);
        ck_assert_int_gt(count[1], PICKS / 3);
        ck_assert_int_gt(count[3], PICKS / 3);
        ck_assert_int_eq(choose_count_up(&c), 2);
        health_mark(&c, 1, false, 10);
        health_mark(&c, 3, false, 10);
        ck_assert_int_eq(choose_pick(&c, 0, -1, 100), CHOOSE_NONE_UP);
    }
}
END_TEST

/* max_per_backend: a backend at its cap is skipped; all at the cap -> CHOOSE_ALL_BUSY. */
START_TEST(in_flight_cap_respected)
{
    struct chooser c;
    for (size_t p = 0; p < 4; p++) {
        setup(&c, all_policies[p], 3, 2, 0);
        int picked;
        for (int k = 0; k < 6; k++) {
            picked = choose_pick(&c, 0, -1, 1);
            ck_assert_int_ge(picked, 0);
            c.b[picked].in_flight++;
            ck_assert_int_le(c.b[picked].in_flight, 2);
        }
        ck_assert_int_eq(choose_pick(&c, 0, -1, 1), CHOOSE_ALL_BUSY);
        c.b[1].in_flight--;
        ck_assert_int_eq(choose_pick(&c, 0, -1, 1), 1);
    }
}
END_TEST

/* ?backends=N: only the first N, and of those only the up ones. */
START_TEST(limit_means_first_n_that_are_up)
{
    struct chooser c;
    int count[CHOOSE_MAX_BACKENDS];
    for (size_t p = 0; p < 4; p++) {
        setup(&c, all_policies[p], 4, 0, 0);
        count_picks(&c, 2, -1, 1, count);
        ck_assert(count[0] > 0 && count[1] > 0 && count[2] == 0 && count[3] == 0);
        health_mark(&c, 0, false, 1);
        count_picks(&c, 2, -1, 1, count);
        ck_assert_int_eq(count[1], PICKS);
        health_mark(&c, 1, false, 1);
        ck_assert_int_eq(choose_pick(&c, 2, -1, 1), CHOOSE_NONE_UP);
        ck_assert_int_ge(choose_pick(&c, 0, -1, 1), 2);
    }
}
END_TEST

/* The backend to avoid (it just failed) is not picked while another is eligible, and is when it is alone. */
START_TEST(avoid_the_one_that_failed_unless_alone)
{
    struct chooser c;
    int count[CHOOSE_MAX_BACKENDS];
    for (size_t p = 0; p < 4; p++) {
        setup(&c, all_policies[p], 2, 0, 0);
        count_picks(&c, 0, 0, 1, count);
        ck_assert_int_eq(count[1], PICKS);
        health_mark(&c, 1, false, 1);
        ck_assert_int_eq(choose_pick(&c, 0, 0, 1), 0);
    }
}
END_TEST

/* Slow start: a backend back up for t of slow_start_ms has weight 0.1 + 0.9 t/T; under random its share
 * of two equal backends is w/(w+1): about 9% at once, about 35% half way, 50% after. */
START_TEST(slow_start_share_rises)
{
    struct chooser c;
    int count[CHOOSE_MAX_BACKENDS];
    setup(&c, CHOOSE_RANDOM, 2, 0, 2000);
    health_mark(&c, 1, false, 1000);
    health_mark(&c, 1, true, 10000);
    ck_assert_int_eq(choose_weight(&c, 1, 10000), 100);
    ck_assert_int_eq(choose_weight(&c, 1, 11000), 550);
    ck_assert_int_eq(choose_weight(&c, 1, 12000), 1000);
    ck_assert_int_eq(choose_weight(&c, 0, 12000), 1000);
    double share[3];
    static const uint64_t at[3] = { 10000, 11000, 12500 };
    for (int k = 0; k < 3; k++) {
        count_picks(&c, 0, -1, at[k], count);
        share[k] = (double)count[1] / PICKS;
    }
    ck_assert_msg(share[0] > 0.07 && share[0] < 0.11, "at once %.3f", share[0]);
    ck_assert_msg(share[1] > 0.32 && share[1] < 0.39, "half way %.3f", share[1]);
    ck_assert_msg(share[2] > 0.47 && share[2] < 0.53, "after %.3f", share[2]);
    /* Round-robin gives it the same rising share. */
    setup(&c, CHOOSE_ROUND_ROBIN, 2, 0, 2000);
    health_mark(&c, 1, false, 1000);
    health_mark(&c, 1, true, 10000);
    count_picks(&c, 0, -1, 10000, count);
    ck_assert_int_eq(count[1], PICKS / 11);
}
END_TEST

/* Passive and active rules: max_fails consecutive failures mark down, a success in between resets the
 * count, a healthy probe brings it back (and says so once). */
START_TEST(health_rules_move_backends)
{
    struct chooser c;
    setup(&c, CHOOSE_RANDOM, 2, 0, 0);
    ck_assert_int_eq(health_report(&c, 0, false, 2, 10), 0);
    ck_assert_int_eq(health_report(&c, 0, true, 2, 11), 0);
    ck_assert_int_eq(health_report(&c, 0, false, 2, 12), 0);
    ck_assert(c.b[0].up);
    ck_assert_int_eq(health_report(&c, 0, false, 2, 13), 1);
    ck_assert(!c.b[0].up);
    ck_assert_int_eq(c.b[0].since_ms, 13);
    ck_assert_int_eq(c.b[0].fails_total, 3);
    ck_assert_int_eq(health_report(&c, 0, false, 2, 14), 0);
    ck_assert_int_eq(health_report(&c, 0, true, 2, 1000), 1);
    ck_assert(c.b[0].up);
    ck_assert_int_eq(c.b[0].fails, 0);

    /* A new backend (discovery) starts down and joins on its first healthy probe. */
    int i = choose_add(&c, "10.0.0.9:5001", NULL, 2000);
    ck_assert(!c.b[i].up);
    ck_assert_int_eq(choose_find(&c, "10.0.0.9:5001"), i);
    ck_assert_int_eq(health_report(&c, i, true, 2, 2100), 1);
    ck_assert_int_eq(choose_count_up(&c), 3);
    choose_remove(&c, 0);
    ck_assert_int_eq(c.n, 2);
    ck_assert_str_eq(c.b[0].name, "127.0.0.1:5002");
}
END_TEST

START_TEST(healthz_json_lists_every_backend)
{
    struct chooser c;
    struct buf out;
    buf_init(&out, 4096);
    setup(&c, CHOOSE_P2C, 2, 0, 0);
    c.b[0].in_flight = 3;
    health_report(&c, 1, false, 1, 500);
    ck_assert_int_eq(health_json(&c, 1500, &out), 0);
    ck_assert_int_eq(buf_append(&out, "", 1), 0);
    ck_assert_str_eq(buf_ptr(&out),
                     "{\"status\":\"ok\",\"policy\":\"p2c\",\"up\":1,\"backends\":["
                     "{\"address\":\"127.0.0.1:5001\",\"up\":true,\"draining\":false,\"since_ms_ago\":1500,"
                     "\"in_flight\":3,\"recent_failures\":0,\"failures_total\":0},"
                     "{\"address\":\"127.0.0.1:5002\",\"up\":false,\"draining\":false,\"since_ms_ago\":1000,"
                     "\"in_flight\":0,\"recent_failures\":1,\"failures_total\":1}]}\n");
    health_mark(&c, 0, false, 1500);
    ck_assert_int_eq(health_json(&c, 1500, &out), 0);
    ck_assert(memmem(buf_ptr(&out), buf_len(&out), "\"status\":\"no_backend_up\"", 24) != NULL);
    buf_free(&out);
}
END_TEST

START_TEST(policy_names_round_trip)
{
    enum choose_policy p;
    for (size_t k = 0; k < 4; k++) {
        ck_assert_int_eq(choose_policy_parse(choose_policy_name(all_policies[k]), &p), 0);
        ck_assert_int_eq(p, all_policies[k]);
    }
    ck_assert_int_eq(choose_policy_parse("fastest", &p), -1);
}
END_TEST

/* The live panel's minute: percentiles to within a bucket, failures counted apart, old seconds forgotten,
 * the rate over whole seconds; the JSON names workers, not addresses. */
START_TEST(cluster_minute_percentiles_and_rate)
{
    static struct cluster_backend b;
    static struct cluster_rate rate;
    memset(&b, 0, sizeof b);
    memset(&rate, 0, sizeof rate);
    uint64_t t0 = 1000000; /* ms */
    for (int i = 1; i <= 100; i++) /* 1..100 ms, spread over 10 s */
        cluster_record_try(&b, t0 + (uint64_t)i * 100, true, (uint64_t)i * 1000000);
    for (int i = 0; i < 5; i++)
        cluster_record_try(&b, t0 + 500, false, 0);
    struct cluster_minute m;
    cluster_minute(&b, t0 + 10000, &m);
    ck_assert_uint_eq(m.tries, 105);
    ck_assert_uint_eq(m.failed, 5);
    ck_assert_msg(m.p50_ms > 50 / 1.1 && m.p50_ms < 50 * 1.1, "p50 %.2f", m.p50_ms);
    ck_assert_msg(m.p99_ms > 99 / 1.1 && m.p99_ms < 99 * 1.1, "p99 %.2f", m.p99_ms);
    ck_assert_uint_eq(b.answered_total, 100);
    ck_assert_uint_eq(b.failed_total, 5);
    cluster_minute(&b, t0 + 10000 + CLUSTER_WINDOW_S * 1000, &m); /* a minute later: all forgotten */
    ck_assert_uint_eq(m.tries, 0);
    ck_assert(m.p50_ms == 0 && m.p99_ms == 0);
    ck_assert_uint_eq(b.answered_total, 100);

    for (int s = 0; s < 10; s++) /* 3 a second for 10 s, then 30 in the current second */
        for (int k = 0; k < 3; k++)
            cluster_record_request(&rate, t0 + (uint64_t)s * 1000 + (uint64_t)k);
    for (int k = 0; k < 30; k++)
        cluster_record_request(&rate, t0 + 10000 + (uint64_t)k);
    ck_assert_msg(cluster_rate_per_s(&rate, t0 + 10500) == 3.0, "rate %.2f", cluster_rate_per_s(&rate, t0 + 10500));

    struct chooser c;
    choose_init(&c, CHOOSE_P2C, 0, 0, 1);
    ck_assert_int_eq(choose_add(&c, "10.0.0.7:5001", NULL, 0), 0);
    health_mark(&c, 0, true, 0);
    const struct cluster_backend *stats[] = { &b };
    struct buf out;
    buf_init(&out, 4096);
    ck_assert_int_eq(cluster_json(&c, stats, &rate, t0 + 10500, &out), 0);
    ck_assert_int_eq(buf_append(&out, "", 1), 0); /* a C string for strstr (a buf is not one) */
    ck_assert_ptr_nonnull(strstr(buf_ptr(&out), "{\"policy\":\"p2c\",\"up\":1,\"rate_per_s\":3.0,\"requests_total\":60,"));
    ck_assert_ptr_nonnull(strstr(buf_ptr(&out), "\"name\":\"worker 1\",\"up\":true,\"draining\":false,"
                                                "\"in_flight\":0,\"answered_total\":100,\"failed_total\":5,"));
    ck_assert_ptr_null(strstr(buf_ptr(&out), "10.0.0.7"));
    buf_free(&out);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("choose");
    TCase *t = tcase_create("choose");
    tcase_add_test(t, every_policy_spreads_evenly_when_idle);
    tcase_add_test(t, round_robin_takes_turns);
    tcase_add_test(t, load_aware_policies_follow_in_flight);
    tcase_add_test(t, down_and_draining_never_picked);
    tcase_add_test(t, in_flight_cap_respected);
    tcase_add_test(t, limit_means_first_n_that_are_up);
    tcase_add_test(t, avoid_the_one_that_failed_unless_alone);
    tcase_add_test(t, slow_start_share_rises);
    tcase_add_test(t, health_rules_move_backends);
    tcase_add_test(t, healthz_json_lists_every_backend);
    tcase_add_test(t, policy_names_round_trip);
    tcase_add_test(t, cluster_minute_percentiles_and_rate);
    suite_add_tcase(s, t);
    return s;
}
