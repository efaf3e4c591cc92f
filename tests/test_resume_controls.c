/*
 * test_resume_controls.c - fit's training controls in checkpoints: a fit interrupted at epoch k
 * and resumed from its checkpoint (bnmlp_model_fit_resume_config) ends bit for bit as the fit
 * never interrupted, early stopping included (it triggers after the resume and puts back a best
 * epoch from before it), with a per-step schedule and with reduce-LR-on-plateau, on 1 and 2
 * threads; changed settings start a control afresh; the record's sections load (unknown fields
 * skipped, missing ones defaulted) and every bad stored value is refused; the accessors the tool
 * uses instead of reading file bytes; the format document's tables.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "core/bytes.h"
#include "core/core.h"
#include "model/model.h"

#define IN 3
#define ROWS 60
#define MAXB 16
#define EPOCHS 40
#define PATIENCE 3

typedef struct data {
    float x[ROWS * IN], y[ROWS];
    bnmlp_tensor tx, ty;
} data;

static void make_data(data *d) {
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t i = 0; i < IN; i++) d->x[r * IN + i] = sinf((float)(r * IN + i) * 0.7f) * 2.0f;
        /* a noisy rule, so that the validation loss turns up after a while */
        d->y[r] = (float)((d->x[r * IN] + 0.3f * d->x[r * IN + 2] > 0.0f) != (r % 7 == 3));
    }
    d->tx = bnmlp_tensor_view(d->x, ROWS, IN);
    d->ty = bnmlp_tensor_view(d->y, ROWS, 1);
}

static bnmlp_model *make_model(uint32_t seed, size_t threads) {
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(16);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_set_threads(model, threads));
    assert_ok(bnmlp_model_build(model, MAXB, seed));
    return model;
}

/* The run's data and the fit settings that are not controls (what a resumed run is given again). */
static bnmlp_fit_config plain_config(void) {
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = EPOCHS, config.batch_size = 8, config.validation_split = 0.25;
    return config;
}

/* The two runs: early stopping with restore_best_weights, and a per-step schedule or the plateau
 * (fit takes one of the two). */
static bnmlp_fit_config controlled_config(bool plateau) {
    bnmlp_fit_config config = plain_config();
    config.optimizer.sgd.learning_rate = 0.3f, config.optimizer.sgd.momentum = 0.9f;
    config.early_stopping.enabled = true, config.early_stopping.patience = PATIENCE;
    config.early_stopping.restore_best_weights = true;
    if (plateau) {
        config.reduce_lr.enabled = true, config.reduce_lr.patience = 1, config.reduce_lr.factor = 0.5;
        config.reduce_lr.monitor = BNMLP_MONITOR_LOSS;
    } else {
        config.schedule.kind = BNMLP_SCHEDULE_EXPONENTIAL, config.schedule.decay_steps = 7;
        config.schedule.decay_rate = 0.8;
    }
    return config;
}

/* True when bytes (size) hold the tag. */
static bool contains(const unsigned char *bytes, size_t size, const char *tag, size_t length) {
    for (size_t i = 0; i + length <= size; i++)
        if (memcmp(bytes + i, tag, length) == 0) return true;
    return false;
}

/* The checkpoint of epoch `at`, taken in on_epoch_end, which then stops the fit (an interruption). */
typedef struct interruption {
    bnmlp_model *model;
    size_t at;
    unsigned char *bytes;
    size_t size;
} interruption;

static bool checkpoint_and_stop(const bnmlp_epoch_record *record, void *context) {
    interruption *i = context;
    if (record->epoch != i->at) return true;
    assert_ok(bnmlp_model_save_buffer(i->model, true, NULL, 0, &i->size));
    i->bytes = malloc(i->size);
    assert_non_null(i->bytes);
    assert_ok(bnmlp_model_save_buffer(i->model, true, i->bytes, i->size, &i->size));
    return false;
}

static bnmlp_model *load(const unsigned char *bytes, size_t size, size_t threads) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    assert_non_null(model);
    assert_ok(bnmlp_model_set_threads(model, threads));
    return model;
}

/* Runs the whole fit, then the same fit interrupted at epoch best + 1 and resumed with only the
 * plain settings and bnmlp_model_fit_resume_config: the same records and weights. */
static void check_resume(bool plateau, size_t threads, bnmlp_epoch_record *whole_history, size_t *whole_run,
                         float *whole_weights) {
    data d;
    make_data(&d);
    bnmlp_fit_config config = controlled_config(plateau);
    bnmlp_model *whole = make_model(3, threads);
    size_t run;
    assert_ok(bnmlp_model_fit(whole, &d.tx, &d.ty, &config, whole_history, &run));
    *whole_run = run;
    assert_int_equal(whole_history[run - 1].stop, BNMLP_STOP_EARLY_STOPPING);
    const size_t best = whole_history[run - 1].restored_epoch; /* 1-based */
    assert_int_equal(run, best + PATIENCE);
    const size_t at = best + 1; /* after the best epoch, before the stop */
    assert_true(at > 1 && at < run);
    bnmlp_model_snapshot_save(whole, whole_weights);

    bnmlp_model *first = make_model(3, threads);
    interruption i = {.model = first, .at = at};
    config.on_epoch_end = checkpoint_and_stop, config.callback_context = &i;
    bnmlp_epoch_record head[EPOCHS];
    assert_ok(bnmlp_model_fit(first, &d.tx, &d.ty, &config, head, &run));
    assert_int_equal(run, at);
    assert_non_null(i.bytes);
    /* The controls' sections are in the checkpoint. */
    assert_true(contains(i.bytes, i.size, "ESTP", 4) && contains(i.bytes, i.size, "BEST", 4));
    assert_true(contains(i.bytes, i.size, plateau ? "PLAT" : "SCHD", 4));

    bnmlp_model *resumed = load(i.bytes, i.size, threads);
    assert_true(bnmlp_model_is_checkpoint(resumed));
    bnmlp_fit_config again = plain_config(); /* no controls, no optimizer settings: the checkpoint's */
    assert_ok(bnmlp_model_fit_resume_config(resumed, &again));
    assert_int_equal(again.initial_epoch, at);
    assert_true(bnmlp_early_stopping_equal(&again.early_stopping, &config.early_stopping));
    assert_true(bnmlp_plateau_equal(&again.reduce_lr, &config.reduce_lr));
    assert_true(bnmlp_schedule_equal(&again.schedule, &config.schedule));
    bnmlp_epoch_record tail[EPOCHS];
    assert_ok(bnmlp_model_fit(resumed, &d.tx, &d.ty, &again, tail, &run));
    assert_int_equal(at + run, *whole_run);
    assert_memory_equal(head, whole_history,
                        (at - 1) * sizeof *head); /* the interrupted epoch differs in stop */
    assert_memory_equal(tail, whole_history + at, run * sizeof *tail);
    assert_int_equal(tail[run - 1].stop, BNMLP_STOP_EARLY_STOPPING);
    assert_int_equal(tail[run - 1].restored_epoch, best); /* from before the resume */
    assert_true(best <= at);
    float *weights = calloc(bnmlp_model_snapshot_floats(resumed), sizeof(float));
    assert_non_null(weights);
    bnmlp_model_snapshot_save(resumed, weights);
    assert_memory_equal(weights, whole_weights, bnmlp_model_snapshot_floats(resumed) * sizeof(float));
    if (plateau) { /* the rate was reduced before the resume and the resumed run continued it */
        assert_true(whole_history[at - 1].learning_rate < (double)0.3f);
    }

    /* A changed setting starts that control afresh (Keras's callbacks): the first epoch after the
     * resume is then early stopping's first monitored one. */
    bnmlp_model *changed = load(i.bytes, i.size, threads);
    assert_ok(bnmlp_model_fit_resume_config(changed, &again));
    again.early_stopping.patience = PATIENCE + 1;
    assert_ok(bnmlp_model_fit(changed, &d.tx, &d.ty, &again, tail, &run));
    assert_int_equal(tail[0].best_epoch, at + 1);
    free(weights);
    free(i.bytes);
    bnmlp_model_free(changed);
    bnmlp_model_free(resumed);
    bnmlp_model_free(first);
    bnmlp_model_free(whole);
}

static void test_resume_continues_controls(void **state) {
    (void)state;
    const size_t floats = 3 * 16 + 16 + 2 * 16 + 16 + 1 + 2 * 16 + 2 * 16; /* generous */
    for (int plateau = 0; plateau < 2; plateau++) {
        bnmlp_epoch_record histories[2][EPOCHS];
        size_t runs[2];
        float weights[2][256];
        assert_true(floats <= 256);
        memset(histories, 0, sizeof histories);
        memset(weights, 0, sizeof weights);
        for (size_t t = 0; t < 2; t++) check_resume(plateau, t + 1, histories[t], &runs[t], weights[t]);
        /* and the same on 1 and 2 threads */
        assert_int_equal(runs[0], runs[1]);
        assert_memory_equal(histories[0], histories[1], sizeof histories[0]);
        assert_memory_equal(weights[0], weights[1], sizeof weights[0]);
    }
}

/* ---- the sections in the file ------------------------------------------------------------------ */

/* A checkpoint after 5 epochs of early stopping (restore) and the plateau. */
static unsigned char *controlled_checkpoint(size_t *size, bnmlp_fit_config *config) {
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(3, 1);
    *config = controlled_config(true);
    config->epochs = 5;
    config->early_stopping.patience = 10;
    assert_ok(bnmlp_model_fit(model, &d.tx, &d.ty, config, NULL, NULL));
    assert_ok(bnmlp_model_save_buffer(model, true, NULL, 0, size));
    unsigned char *bytes = malloc(*size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(model, true, bytes, *size, size));
    bnmlp_model_free(model);
    return bytes;
}

/* The offset of section tag's payload. */
static size_t section(const unsigned char *b, size_t n, const char *tag) {
    for (size_t at = 24; at + 12 <= n - 4;) {
        const uint64_t length = bnmlp_load_le64(b + at + 4);
        if (memcmp(b + at, tag, 4) == 0) return at + 12;
        at += 12 + (size_t)length;
    }
    fail_msg("no section %s", tag);
    return 0;
}

/* The offset of the value of field name in section tag. */
static size_t value_of(const unsigned char *b, size_t n, const char *tag, const char *name) {
    size_t at = section(b, n, tag);
    const uint32_t fields = bnmlp_load_le32(b + at);
    at += 4;
    for (uint32_t f = 0; f < fields; f++) {
        const uint32_t length = bnmlp_load_le32(b + at);
        const bool found = length == strlen(name) && memcmp(b + at + 4, name, length) == 0;
        at += 4 + length;
        if (found) return at + 4;
        at += 4 + bnmlp_load_le32(b + at);
    }
    fail_msg("no field %s in %s", name, tag);
    return 0;
}

static void fix_crc(unsigned char *bytes, size_t size) {
    bnmlp_store_le32(bytes + size - 4, bnmlp_crc32_update(0, bytes, size - 4));
}

static void put_f64(unsigned char *at, double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    bnmlp_store_le64(at, bits);
}

static void bad_has_best(unsigned char *b, size_t n) { b[value_of(b, n, "ESTP", "has_best")] = 2; }
static void nan_rate(unsigned char *b, size_t n) { put_f64(b + value_of(b, n, "PLAT", "rate"), NAN); }
static void negative_rate(unsigned char *b, size_t n) { put_f64(b + value_of(b, n, "PLAT", "rate"), -1.0); }
static void late_best(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + value_of(b, n, "ESTP", "best_epoch"), 1000);
}
static void other_epoch(unsigned char *b, size_t n) {
    bnmlp_store_le64(b + value_of(b, n, "ESTP", "epoch"), 4);
}
static void no_restore(unsigned char *b, size_t n) { b[value_of(b, n, "ESTP", "restore_best_weights")] = 0; }
static void big_factor(unsigned char *b, size_t n) { put_f64(b + value_of(b, n, "PLAT", "factor"), 2.0); }
static void bad_monitor(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + value_of(b, n, "ESTP", "monitor"), 77);
}
static void huge_enum(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + value_of(b, n, "PLAT", "style"), 0x80000000u);
}
static void nan_best_weight(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + section(b, n, "BEST") + 8 + 4 * 3, 0x7fc00000u);
}
static void twice(unsigned char *b, size_t n) { memcpy(b + value_of(b, n, "ESTP", "wait") - 8, "best", 4); }
static void wrong_size(unsigned char *b, size_t n) {
    bnmlp_store_le32(b + value_of(b, n, "ESTP", "patience") - 4, 4);
}

typedef struct bad_record {
    const char *what;
    void (*patch)(unsigned char *b, size_t n);
    bnmlp_status load;   /* what loading gives */
    bnmlp_status resume; /* then what bnmlp_model_fit_resume_config and fit give */
} bad_record;

static const bad_record bad_records[] = {
    {"a flag byte 2", bad_has_best, BNMLP_ERR_FORMAT, BNMLP_OK},
    {"a NaN rate", nan_rate, BNMLP_ERR_FORMAT, BNMLP_OK},
    {"an enum beyond int", huge_enum, BNMLP_ERR_FORMAT, BNMLP_OK},
    {"sections of different epochs", other_epoch, BNMLP_ERR_FORMAT, BNMLP_OK},
    {"BEST without restore_best_weights", no_restore, BNMLP_ERR_FORMAT, BNMLP_OK},
    {"a NaN best weight", nan_best_weight, BNMLP_ERR_NOT_FINITE, BNMLP_OK},
    {"a field given twice", twice, BNMLP_ERR_FORMAT, BNMLP_OK},
    {"a value of the wrong size", wrong_size, BNMLP_ERR_FORMAT, BNMLP_OK},
    {"a negative rate", negative_rate, BNMLP_OK, BNMLP_ERR_FORMAT},
    {"a best epoch after the epochs done", late_best, BNMLP_OK, BNMLP_ERR_FORMAT},
    {"a plateau factor of 2", big_factor, BNMLP_OK, BNMLP_ERR_FORMAT},
    {"an unknown monitor", bad_monitor, BNMLP_OK, BNMLP_ERR_FORMAT},
};

static void test_bad_stored_controls(void **state) {
    (void)state;
    data d;
    make_data(&d);
    size_t size;
    bnmlp_fit_config original;
    unsigned char *good = controlled_checkpoint(&size, &original);
    unsigned char *bytes = malloc(size);
    assert_non_null(bytes);
    for (size_t c = 0; c < sizeof bad_records / sizeof bad_records[0]; c++) {
        const bad_record *bad = &bad_records[c];
        memcpy(bytes, good, size);
        bad->patch(bytes, size);
        fix_crc(bytes, size);
        counting_allocator counter = {0};
        const bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_status status;
        bnmlp_model *model = bnmlp_model_load_buffer(bytes, size, &allocator, NULL, &status);
        if (status != bad->load) fail_msg("%s: loading gave %s", bad->what, bnmlp_status_string(status));
        if (model) {
            bnmlp_fit_config config = plain_config(), before = config;
            status = bnmlp_model_fit_resume_config(model, &config);
            if (status != bad->resume)
                fail_msg("%s: resume_config gave %s", bad->what, bnmlp_status_string(status));
            if (status != BNMLP_OK) assert_memory_equal(&config, &before, sizeof config); /* untouched */
            /* fit with the settings the file should have held refuses too, before anything changes */
            config = original;
            config.epochs = 7, config.initial_epoch = 5;
            float *weights = calloc(bnmlp_model_snapshot_floats(model), sizeof(float));
            assert_non_null(weights);
            bnmlp_model_snapshot_save(model, weights);
            status = bnmlp_model_fit(model, &d.tx, &d.ty, &config, NULL, NULL);
            if (status != bad->resume && !(bad == &bad_records[10] || bad == &bad_records[11]))
                fail_msg("%s: fit gave %s", bad->what, bnmlp_status_string(status));
            if (status != BNMLP_OK)
                assert_memory_equal(weights, model->params, model->param_count * sizeof(float));
            free(weights);
            bnmlp_model_free(model);
        }
        assert_int_equal(counter.allocations, counter.releases);
    }
    /* A negative moving variance in BEST is refused as in STAT. */
    memcpy(bytes, good, size);
    const size_t best = section(bytes, size, "BEST");
    const uint64_t floats = bnmlp_load_le64(bytes + best);
    bnmlp_store_le32(bytes + best + 8 + 4 * (size_t)(floats - 1), bnmlp_float_bits(-1.0f));
    fix_crc(bytes, size);
    bnmlp_status status;
    assert_null(bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status));
    assert_int_equal(status, BNMLP_ERR_FORMAT);
    free(bytes);
    free(good);
}

/* A field this library does not know is skipped and a missing one takes its default: the plateau's
 * patience (1) renamed loads as the default 10; a file whose fit had no controls has none of the
 * sections (its bytes are those of the format before them) and resumes with the controls off. */
static void test_sections_skipped_defaulted_absent(void **state) {
    (void)state;
    size_t size;
    bnmlp_fit_config original;
    unsigned char *bytes = controlled_checkpoint(&size, &original);
    memcpy(bytes + value_of(bytes, size, "PLAT", "patience") - 4 - 8, "patiencX", 8);
    fix_crc(bytes, size);
    bnmlp_model *model = load(bytes, size, 1);
    bnmlp_fit_config config = plain_config();
    assert_ok(bnmlp_model_fit_resume_config(model, &config));
    assert_int_equal(config.reduce_lr.patience, 10);
    assert_true(config.reduce_lr.enabled && config.early_stopping.enabled);
    assert_int_equal(config.early_stopping.patience, 10);
    assert_true(config.schedule.kind == BNMLP_SCHEDULE_CONSTANT);
    bnmlp_model_free(model);
    free(bytes);

    data d;
    make_data(&d);
    model = make_model(3, 1);
    assert_false(bnmlp_model_is_checkpoint(model));
    config = plain_config();
    config.epochs = 2;
    assert_ok(bnmlp_model_fit(model, &d.tx, &d.ty, &config, NULL, NULL));
    assert_true(bnmlp_model_is_checkpoint(model)); /* trained: it holds a checkpoint's state */
    assert_int_equal(bnmlp_model_file_version(model), 0);
    assert_int_equal(bnmlp_model_order_rows(model), 45);
    assert_ok(bnmlp_model_save_buffer(model, true, NULL, 0, &size));
    bytes = malloc(size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(model, true, bytes, size, &size));
    const char *tags[] = {"SCHD", "ESTP", "PLAT", "BEST"};
    for (size_t t = 0; t < 4; t++) assert_false(contains(bytes, size, tags[t], 4));
    bnmlp_model *loaded = load(bytes, size, 1);
    assert_true(bnmlp_model_is_checkpoint(loaded));
    assert_int_equal(bnmlp_model_file_version(loaded), 2);
    assert_int_equal(bnmlp_model_order_rows(loaded), 45);
    config = controlled_config(false);
    assert_ok(bnmlp_model_fit_resume_config(loaded, &config));
    assert_false(config.early_stopping.enabled || config.reduce_lr.enabled);
    assert_true(config.schedule.kind == BNMLP_SCHEDULE_CONSTANT);
    assert_int_equal(config.initial_epoch, 2);
    bnmlp_model_free(loaded);
    free(bytes);
    /* A model file: not a checkpoint, no order. */
    assert_ok(bnmlp_model_save_buffer(model, false, NULL, 0, &size));
    bytes = malloc(size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(model, false, bytes, size, &size));
    loaded = load(bytes, size, 1);
    assert_false(bnmlp_model_is_checkpoint(loaded));
    assert_int_equal(bnmlp_model_file_version(loaded), 2);
    assert_int_equal(bnmlp_model_order_rows(loaded), 0);
    bnmlp_model_free(loaded);
    free(bytes);
    bnmlp_model_free(model);
    assert_false(bnmlp_model_is_checkpoint(NULL));
    assert_status(bnmlp_model_fit_resume_config(NULL, &config), BNMLP_ERR_NULL_ARGUMENT);
}

/* The settings' equality: every field, doubles bit for bit; disabled controls are equal. */
static void test_equality(void **state) {
    (void)state;
    bnmlp_schedule_config a = BNMLP_SCHEDULE_DEFAULT, b = a;
    assert_true(bnmlp_schedule_equal(&a, &b));
    b.values[16] = 1e-9;
    assert_false(bnmlp_schedule_equal(&a, &b));
    b = a, b.milestones[15] = 3;
    assert_false(bnmlp_schedule_equal(&a, &b));
    b = a, b.eta_min = -0.0;
    assert_false(bnmlp_schedule_equal(&a, &b));
    assert_false(bnmlp_schedule_equal(&a, NULL));
    bnmlp_early_stopping_config e = BNMLP_EARLY_STOPPING_DEFAULT, f = e;
    f.patience = 4;
    assert_true(bnmlp_early_stopping_equal(&e, &f)); /* both disabled */
    e.enabled = f.enabled = true;
    assert_false(bnmlp_early_stopping_equal(&e, &f));
    f = e, f.restore_best_weights = true;
    assert_false(bnmlp_early_stopping_equal(&e, &f));
    bnmlp_plateau_config p = BNMLP_PLATEAU_DEFAULT, q = BNMLP_PLATEAU_PYTORCH_DEFAULT;
    assert_true(bnmlp_plateau_equal(&p, &q));
    p.enabled = q.enabled = true;
    assert_false(bnmlp_plateau_equal(&p, &q));
    assert_true(bnmlp_plateau_equal(&q, &q));
}

/* docs/model-format.md holds the tables the record's rows make, between its markers. */
static void test_document(void **state) {
    (void)state;
#if defined(BNMLP_DOCS_DIR)
    static char table[16384];
    const size_t length = bnmlp_record_fields_document(table, sizeof table);
    assert_true(length < sizeof table);
    FILE *doc = fopen(BNMLP_DOCS_DIR "/model-format.md", "rb");
    assert_non_null(doc);
    static char text[131072];
    const size_t read = fread(text, 1, sizeof text - 1, doc);
    fclose(doc);
    text[read] = '\0';
    const char *begin = strstr(text, "<!-- record-fields -->\n");
    assert_non_null(begin);
    begin += strlen("<!-- record-fields -->\n");
    const char *end = strstr(begin, "<!-- /record-fields -->");
    assert_non_null(end);
    if ((size_t)(end - begin) != length || memcmp(begin, table, length) != 0)
        fail_msg("docs/model-format.md's record tables differ from the rows; they should read:\n%s", table);
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_continues_controls),
        cmocka_unit_test(test_bad_stored_controls),
        cmocka_unit_test(test_sections_skipped_defaulted_absent),
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
