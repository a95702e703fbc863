/* The worker's pipeline (infer/queue.c): decoder threads beside engine threads, several engines, batches.
 * In-process on the real model: every answer (top-5, and the whole softmax a job asks for) is identical to
 * nn_classify_image's, also in full batches of 4 run as one pass, the job pool holds
 * exactly capacity + slots jobs, at most `decoders` pictures are decoded at once, errors come back with
 * their message.  Through a real worker: a batch of different pictures run as one pass gives each its own
 * answer, identical to a worker's without batches, the batch size reported; 503 still answered when the
 * pool is full. */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/queue.h"
#include "net/loop.h"
#include "nn/nn.h"
#include "tests/service_fixture.h"
#include "tests/service_harness.h"

static const char *const seeds[] = { "test_16.jpg", "test_32.jpg", "test_64.jpg", "test_96.jpg",
                                     "test_128.jpg", "test_224.jpg", "test_2000.jpg" };
#define NSEEDS ((int)(sizeof seeds / sizeof seeds[0]))

static char *read_seed(const char *name, size_t *len)
{
    char path[1024], *bytes;
    snprintf(path, sizeof path, "%s/eval/seed_test_images/%s", fx_env("IMGREC_SHARED"), name);
    ck_assert_msg(sh_read_file(path, &bytes, len) == 0, "cannot read %s", path);
    return bytes;
}

static struct nn_model *load_model(void)
{
    char err[256];
    struct nn_model *m = nn_load(fx_env("IMGREC_MODEL"), err, sizeof err);
    ck_assert_msg(m != NULL, "nn_load: %s", err);
    return m;
}

/* ---- in-process ---------------------------------------------------------------------------------- */

enum { ROUNDS = 2, NJOBS = ROUNDS * NSEEDS + 1 }; /* every seed twice, and one non-image */

struct run {
    struct infer_queue *q;
    struct loop *loop;
    int done;
    struct infer_job *finished[NJOBS];
    int rc[NJOBS];
    struct nn_result result[NJOBS];
    char err[NJOBS][256];
    int batch[NJOBS];
    float probs[NJOBS][1001];
};

static void on_done(struct infer_job *job, void *data)
{
    struct run *r = data;
    int i = (int)(intptr_t)job->owner;
    r->rc[i] = job->rc;
    r->result[i] = job->result;
    r->batch[i] = job->batch;
    if (job->rc == 0)
        memcpy(r->probs[i], job->probs, sizeof r->probs[i]);
    snprintf(r->err[i], sizeof r->err[i], "%s", job->err);
    iq_release(r->q, job);
    if (++r->done == NJOBS)
        loop_stop(r->loop);
}

static void run_pipeline(const struct iq_config *cfg)
{
    struct nn_model *models[4];
    for (int i = 0; i < cfg->engines; i++)
        models[i] = load_model();
    struct run *r = calloc(1, sizeof *r);
    r->loop = loop_create(64);
    ck_assert_ptr_nonnull(r->loop);
    r->q = iq_create(r->loop, models, cfg, on_done, r);
    ck_assert_ptr_nonnull(r->q);

    /* The pool: exactly capacity + decoders + engines x batch_max jobs, then NULL (the worker's 503). */
    int pool = cfg->capacity + cfg->decoders + cfg->engines * cfg->batch_max;
    ck_assert_int_ge(pool, NJOBS);
    struct infer_job *jobs[64];
    for (int i = 0; i < pool; i++)
        ck_assert_ptr_nonnull(jobs[i] = iq_acquire(r->q));
    ck_assert_ptr_null(iq_acquire(r->q));
    ck_assert_int_eq(iq_depth(r->q), pool);
    for (int i = NJOBS; i < pool; i++)
        iq_release(r->q, jobs[i]);

    char *bytes[NSEEDS];
    size_t len[NSEEDS];
    for (int s = 0; s < NSEEDS; s++)
        bytes[s] = read_seed(seeds[s], &len[s]);
    static const char not_image[] = "this is not a picture";
    for (int i = 0; i < NJOBS; i++) {
        jobs[i]->bytes = i == NJOBS - 1 ? (const void *)not_image : bytes[i % NSEEDS];
        jobs[i]->len = i == NJOBS - 1 ? sizeof not_image - 1 : len[i % NSEEDS];
        jobs[i]->owner = (void *)(intptr_t)i;
        jobs[i]->want_probs = true;
        iq_submit(r->q, jobs[i]);
    }
    ck_assert_int_eq(loop_run(r->loop), 0);
    ck_assert_int_eq(r->done, NJOBS);
    ck_assert_int_le(iq_peak_decoding(r->q), cfg->decoders);
    ck_assert_int_ge(iq_peak_decoding(r->q), 1);

    /* Identical to the one-call path, on all five classes. */
    struct nn_model *ref = load_model();
    int biggest = 0;
    for (int i = 0; i < NJOBS - 1; i++) {
        struct nn_result want;
        char err[256];
        ck_assert_int_eq(nn_classify_image(ref, bytes[i % NSEEDS], len[i % NSEEDS], NN_TOPK_MAX, &want, err, sizeof err), 0);
        ck_assert_msg(r->rc[i] == 0, "%s: %s", seeds[i % NSEEDS], r->err[i]);
        ck_assert_int_eq(r->result[i].k, want.k);
        for (int k = 0; k < want.k; k++) {
            ck_assert_int_eq(r->result[i].top[k].class_index, want.top[k].class_index);
            ck_assert_msg(r->result[i].top[k].prob == want.top[k].prob, "%s top %d: %.9f vs %.9f",
                          seeds[i % NSEEDS], k, (double)r->result[i].top[k].prob, (double)want.top[k].prob);
        }
        ck_assert(r->result[i].decode_ms > 0 && r->result[i].inference_ms > 0);
        ck_assert(r->batch[i] >= 1 && r->batch[i] <= cfg->batch_max);
        /* the whole softmax too: each job in a batch gets its own image's, not a neighbour's */
        double worst = 0;
        for (int c = 0; c < 1001; c++)
            worst = fmax(worst, fabs(r->probs[i][c] - nn_probs(ref)[c]));
        ck_assert_msg(worst <= 1e-5, "%s: probabilities off by %g in a batch of %d", seeds[i % NSEEDS], worst,
                      r->batch[i]);
        biggest = r->batch[i] > biggest ? r->batch[i] : biggest;
    }
    if (cfg->batch_delay_ms >= 500) /* long enough to fill every batch but the last */
        ck_assert_int_eq(biggest, cfg->batch_max);
    ck_assert_int_eq(r->rc[NJOBS - 1], NN_ERR_NOT_IMAGE);
    ck_assert_int_eq(r->batch[NJOBS - 1], 0);
    ck_assert_ptr_nonnull(strstr(r->err[NJOBS - 1], "not an image"));
    ck_assert_int_eq(iq_depth(r->q), 0);

    nn_free(ref);
    for (int s = 0; s < NSEEDS; s++)
        free(bytes[s]);
    iq_destroy(r->q);
    loop_destroy(r->loop);
    free(r);
}

START_TEST(one_decoder_one_engine_answers_as_the_engine_does)
{
    run_pipeline(&(struct iq_config){ .capacity = 16, .decoders = 1, .engines = 1, .batch_max = 1 });
}
END_TEST

START_TEST(two_decoders_two_engines_batches_answer_as_the_engine_does)
{
    run_pipeline(&(struct iq_config){ .capacity = 6, .decoders = 2, .engines = 2, .batch_max = 4, .batch_delay_ms = 5 });
}
END_TEST

START_TEST(full_batches_give_each_job_its_own_answer)
{
    run_pipeline(&(struct iq_config){ .capacity = 16, .decoders = 2, .engines = 1, .batch_max = 4, .batch_delay_ms = 500 });
}
END_TEST

START_TEST(bad_configurations_are_refused)
{
    struct loop *l = loop_create(16);
    struct nn_model *m[1] = { load_model() };
    ck_assert_ptr_null(iq_create(l, m, &(struct iq_config){ .capacity = 1, .decoders = 0, .engines = 1, .batch_max = 1 },
                                 on_done, NULL)); /* frees the model */
    m[0] = load_model();
    ck_assert_ptr_null(iq_create(l, m, &(struct iq_config){ .capacity = 1, .decoders = 1, .engines = 1, .batch_max = 0 },
                                 on_done, NULL));
    loop_destroy(l);
}
END_TEST

/* ---- through a real worker ----------------------------------------------------------------------- */

static struct service svc;

static void setup(void)
{
    ck_assert_msg(service_start(&svc) == 0, "the service did not start");
}

static void teardown(void)
{
    service_stop(&svc);
}

/* n requests at once, request i posting picture names[i] (all but the last byte first, so that all
 * arrive together). */
static void send_together(int port, const char *const *names, int n, struct sh_reply *replies)
{
    struct sh_conn *c = malloc((size_t)n * sizeof *c);
    char **jpg = malloc((size_t)n * sizeof *jpg);
    size_t *len = malloc((size_t)n * sizeof *len);
    ck_assert(c && jpg && len);
    for (int i = 0; i < n; i++) {
        jpg[i] = read_seed(names[i], &len[i]);
        char head[256];
        int head_len = snprintf(head, sizeof head, "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", len[i]);
        ck_assert_int_eq(sh_connect(&c[i], port), 0);
        ck_assert_int_eq(sh_send(&c[i], head, (size_t)head_len, 2000), 0);
        ck_assert_int_eq(sh_send(&c[i], jpg[i], len[i] - 1, 5000), 0);
    }
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(sh_send(&c[i], jpg[i] + len[i] - 1, 1, 2000), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(sh_read_reply(&c[i], &replies[i], 20000), 0);
        sh_close(&c[i]);
        free(jpg[i]);
    }
    free(c);
    free(jpg);
    free(len);
}

/* A long batch delay and exactly batch_max requests of four different pictures: the engine runs all four
 * as one batched pass, and each gets its own answer, the one a worker without batches gives it alone. */
START_TEST(worker_batches_report_their_size_and_answer_each_its_own)
{
    const char *extra[] = { "--batch-max", "4", "--batch-delay-ms", "3000", "--decoders", "2", NULL };
    int port = service_extra_worker(&svc, extra);
    ck_assert_int_gt(port, 0);
    static const char *const names[] = { "test_224.jpg", "test_2000.jpg", "test_64.jpg", "test_16.jpg" };
    struct sh_reply alone[4], batch[4];
    for (int i = 0; i < 4; i++)
        send_together(svc.worker_port[0], &names[i], 1, &alone[i]);
    send_together(port, names, 4, batch);
    int distinct = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(alone[i].status, 200);
        ck_assert_int_eq(batch[i].status, 200);
        char *top5 = strstr(alone[i].body, "\"top5\":"), *end = strstr(alone[i].body, ",\"worker\"");
        ck_assert(top5 && end);
        ck_assert_msg(strncmp(strstr(batch[i].body, "\"top5\":"), top5, (size_t)(end - top5)) == 0, "%s: %s vs %s",
                      names[i], batch[i].body, alone[i].body);
        distinct += i == 0 || strncmp(strstr(alone[0].body, "\"top5\":"), top5, (size_t)(end - top5)) != 0;
        double b, q, d, inf, total;
        ck_assert_int_eq(sh_json_num(batch[i].body, "batch", &b), 0);
        ck_assert_double_eq(b, 4);
        ck_assert_int_eq(sh_json_num(batch[i].body, "queue", &q), 0);
        ck_assert_int_eq(sh_json_num(batch[i].body, "decode", &d), 0);
        ck_assert_int_eq(sh_json_num(batch[i].body, "inference", &inf), 0);
        ck_assert_int_eq(sh_json_num(batch[i].body, "total", &total), 0);
        ck_assert(q >= 0 && d > 0 && inf > 0 && q + d + inf <= total + 0.01);
    }
    ck_assert_int_ge(distinct, 3); /* the pictures do differ: a batch answering one for all would fail */
    for (int i = 0; i < 4; i++) {
        sh_reply_free(&alone[i]);
        sh_reply_free(&batch[i]);
    }
}
END_TEST

/* --queue 0 with one decoder and one engine: two jobs in the pipeline at most; the rest get 503 at once. */
START_TEST(worker_pipeline_still_answers_503_when_full)
{
    const char *extra[] = { "--queue", "0", "--engines", "1", "--decoders", "1", "--batch-max", "1", NULL };
    int port = service_extra_worker(&svc, extra);
    ck_assert_int_gt(port, 0);
    enum { N = 6 };
    struct sh_reply r[N];
    const char *names[N];
    for (int i = 0; i < N; i++)
        names[i] = "test_2000.jpg";
    send_together(port, names, N, r);
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        char retry[16];
        ok += r[i].status == 200;
        if (r[i].status == 503) {
            busy++;
            ck_assert_int_eq(sh_header(&r[i], "Retry-After", retry, sizeof retry), 0);
        }
        sh_reply_free(&r[i]);
    }
    ck_assert_int_ge(ok, 1);
    ck_assert_int_ge(busy, 1);
    ck_assert_int_eq(ok + busy, N);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("in-process");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, one_decoder_one_engine_answers_as_the_engine_does);
    tcase_add_test(tc, two_decoders_two_engines_batches_answer_as_the_engine_does);
    tcase_add_test(tc, full_batches_give_each_job_its_own_answer);
    tcase_add_test(tc, bad_configurations_are_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("worker");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, worker_batches_report_their_size_and_answer_each_its_own);
    tcase_add_test(tc, worker_pipeline_still_answers_503_when_full);
    suite_add_tcase(s, tc);
    return s;
}
