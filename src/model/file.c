/*
 * file.c - the model file: writing a model (or a checkpoint) as bytes, and reading it back
 * trusting nothing. The format is documented byte by byte in docs/model-format.md:
 *
 *   header   magic (8 bytes: 89 'B' 'N' 'M' 'L' 'P' 0D 0A), u32 version (2; 1 is read too),
 *            u32 flags (bit 0: checkpoint), u64 length of the sections
 *   sections tag (4 ASCII bytes), u64 payload length, payload: ARCH (layer records of named
 *            fields, file_fields.c; fixed records in version 1), PARM, STAT, and for a
 *            checkpoint OPTM, OPTC (not in version 1), RAND, TRAN, in this order, then the
 *            controls of its fit when it had any: SCHD, ESTP, PLAT (named fields,
 *            fit_record.c), BEST (early stopping's best weights); then, optional, CLAS (the
 *            class names)
 *   trailer  u32 CRC-32 of every byte before it
 *
 * Every number is little-endian whatever the host; floats are their IEEE-754 bits.
 */
#include "model/model.h"

#include <math.h>
#include <string.h>

#include "core/bytes.h"
#include "core/class_names.h"
#include "core/core.h"
#include "core/file.h"

#define MAGIC "\211BNMLP\r\n" /* 0x89 (octal 211), the name, CR LF */
#define MAGIC_BYTES 8
#define FORMAT_VERSION 2u /* written: named layer fields; checkpoints: per-kind OPTM and OPTC */
#define OLDEST_VERSION 1u /* read too */
#define VERSION1_SLOTS 2u /* version 1's OPTM held 2 slots of state for every kind */
#define FLAG_CHECKPOINT 1u
#define HEADER_BYTES 24   /* magic, version, flags, sections length */
#define SECTION_HEADER 12 /* tag, payload length */
#define TRAILER_BYTES 4

/* Limits on what a file may describe, checked before anything is allocated. */
#define MAX_LAYERS 65536u
#define MAX_WIDTH (1u << 24)
#define MAX_BATCH (1u << 24)
#define MAX_BUFFER_FLOATS ((size_t)1 << 26) /* max_batch x (all layer outputs + 3 widest) */

/* ---- writing ------------------------------------------------------------------------------------ */

/* Where the bytes go: a buffer of size bytes, or nowhere (NULL) when only counting. */
typedef struct writer {
    unsigned char *out; /* NULL: count only */
    size_t at;          /* bytes written (or counted) so far */
} writer;

static void put_bytes(writer *w, const void *data, size_t size) {
    if (w->out) memcpy(w->out + w->at, data, size);
    w->at += size;
}

static void put_u8(writer *w, unsigned v) {
    const unsigned char byte = (unsigned char)v;
    put_bytes(w, &byte, 1);
}

static void put_u32(writer *w, uint32_t v) {
    unsigned char bytes[4];
    bnmlp_store_le32(bytes, v);
    put_bytes(w, bytes, 4);
}

static void put_u64(writer *w, uint64_t v) {
    unsigned char bytes[8];
    bnmlp_store_le64(bytes, v);
    put_bytes(w, bytes, 8);
}

static void put_f32(writer *w, float v) { put_u32(w, bnmlp_float_bits(v)); }

/* count floats, preceded by their number. */
static void put_floats(writer *w, const float *values, size_t count) {
    put_u64(w, count);
    for (size_t i = 0; i < count; i++) put_f32(w, values[i]);
}

/* Starts a section: its tag and a payload length patched by end_section. */
static size_t begin_section(writer *w, const char tag[4]) {
    put_bytes(w, tag, 4);
    put_u64(w, 0);
    return w->at;
}

static void end_section(writer *w, size_t start) {
    if (w->out) bnmlp_store_le64(w->out + start - 8, (uint64_t)(w->at - start));
}

/* A layer record: kind, output width, the number of fields, then each field of the kind's rows
 * as name (u32 length and bytes), u32 value length and the value. */
static void put_layer(writer *w, const bnmlp_layer *layer) {
    put_u32(w, (uint32_t)layer->kind);
    put_u64(w, layer->out);
    uint32_t count = 0;
    for (size_t i = 0; i < bnmlp_file_field_count; i++)
        count += bnmlp_file_field_written(&bnmlp_file_fields[i], layer);
    put_u32(w, count);
    for (size_t i = 0; i < bnmlp_file_field_count; i++) {
        const bnmlp_file_field *field = &bnmlp_file_fields[i];
        if (!bnmlp_file_field_written(field, layer)) continue;
        const size_t length = strlen(field->name), bytes = bnmlp_file_field_bytes(field);
        put_u32(w, (uint32_t)length);
        put_bytes(w, field->name, length);
        put_u32(w, (uint32_t)bytes);
        const uint64_t value = bnmlp_file_field_get(field, layer);
        if (bytes == 1)
            put_u8(w, (unsigned)value);
        else if (bytes == 4)
            put_u32(w, (uint32_t)value);
        else
            put_u64(w, value);
    }
}

/* One setting of an optimizer's configuration, as its row describes it. */
static void put_setting(writer *w, const bnmlp_optimizer_config *config, const bnmlp_optimizer_field *field) {
    const unsigned char *at = (const unsigned char *)config + field->offset;
    if (field->type == BNMLP_SETTING_FLOAT) {
        float value;
        memcpy(&value, at, sizeof value);
        put_f32(w, value);
    } else if (field->type == BNMLP_SETTING_BOOL) {
        bool value;
        memcpy(&value, at, sizeof value);
        put_u8(w, value);
    } else {
        int value;
        memcpy(&value, at, sizeof value);
        put_u32(w, (uint32_t)value);
    }
}

/* ---- writing fit's controls (the record's tables: fit_record.c) ---- */

/* Whether section's part of record is held. */
static bool record_holds(const bnmlp_record_section *section, const bnmlp_fit_record *record) {
    bool held;
    memcpy(&held, (const unsigned char *)record + section->held, sizeof held);
    return held;
}

/* A section of named fields, as a layer record's: u32 n, then each field's u32 name length, name,
 * u32 value length and value. */
static void put_record_section(writer *w, const bnmlp_record_section *section,
                               const bnmlp_fit_record *record) {
    const size_t start = begin_section(w, section->tag);
    put_u32(w, (uint32_t)section->field_count);
    for (size_t i = 0; i < section->field_count; i++) {
        const bnmlp_record_field *field = &section->fields[i];
        unsigned char value[8 * (BNMLP_SCHEDULE_MAX_MILESTONES + 1)];
        const size_t length = strlen(field->name), bytes = bnmlp_record_field_bytes(field);
        bnmlp_record_field_encode(field, record, value);
        put_u32(w, (uint32_t)length);
        put_bytes(w, field->name, length);
        put_u32(w, (uint32_t)bytes);
        put_bytes(w, value, bytes);
    }
    end_section(w, start);
}

/* The controls of the model's last fit, each part it holds (SCHD, ESTP, PLAT), then BEST: early
 * stopping's best weights, when kept. Nothing for a fit without controls. */
static void put_fit_record(writer *w, const bnmlp_model *model) {
    const bnmlp_fit_record *record = &model->fit_record;
    for (size_t s = 0; s < bnmlp_record_section_count; s++)
        if (record_holds(&bnmlp_record_sections[s], record))
            put_record_section(w, &bnmlp_record_sections[s], record);
    if (record->has_best_weights && record->best_weights) {
        const size_t start = begin_section(w, "BEST");
        put_floats(w, record->best_weights, bnmlp_model_snapshot_floats(model));
        end_section(w, start);
    }
}

/* The training state of a checkpoint: optimizer state and configuration, generator, epochs and
 * fit's row order. */
static void put_training_state(writer *w, const bnmlp_model *model) {
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(model->optimizer.kind);
    size_t start = begin_section(w, "OPTM");
    put_u32(w, (uint32_t)model->optimizer.kind);
    put_u64(w, model->optimizer.steps);
    put_floats(w, model->optimizer.slots, row->slots * model->param_count);
    end_section(w, start);
    const bnmlp_optimizer_config *config = &model->optimizer.config;
    const bnmlp_optimizer_row *used = bnmlp_optimizer_row_of(config->kind);
    start = begin_section(w, "OPTC");
    put_u32(w, (uint32_t)config->kind);
    put_u32(w, (uint32_t)used->field_count);
    for (size_t i = 0; i < used->field_count; i++) {
        /* Named, as a layer record's fields: u32 name length, name, u32 value length, value. */
        const bnmlp_optimizer_field *field = &used->fields[i];
        const size_t length = strlen(field->name);
        put_u32(w, (uint32_t)length);
        put_bytes(w, field->name, length);
        put_u32(w, field->type == BNMLP_SETTING_BOOL ? 1u : 4u);
        put_setting(w, config, field);
    }
    end_section(w, start);
    start = begin_section(w, "RAND");
    for (size_t i = 0; i < BNMLP_MT19937_N; i++) put_u32(w, model->rng.key[i]);
    put_u32(w, (uint32_t)model->rng.position);
    put_u32(w, (uint32_t)model->rng.has_gauss);
    unsigned char bits[8];
    memcpy(bits, &model->rng.gauss, 8); /* the double's bits, stored little-endian */
    uint64_t gauss;
    memcpy(&gauss, bits, 8);
    put_u64(w, gauss);
    end_section(w, start);
    start = begin_section(w, "TRAN");
    put_u64(w, model->epochs_done);
    put_u64(w, model->order_count);
    for (size_t i = 0; i < model->order_count; i++) put_u64(w, model->order[i]);
    end_section(w, start);
    put_fit_record(w, model);
}

/* The optional last section: the class names, when the model has them for its class count. */
static void put_class_names(writer *w, const bnmlp_model *model) {
    const bnmlp_class_names *names = model->class_names;
    if (!names || names->count != bnmlp_model_class_count(model)) return;
    const size_t start = begin_section(w, "CLAS");
    put_u32(w, (uint32_t)names->count);
    for (size_t i = 0; i < names->count; i++) {
        const size_t length = strlen(names->names[i]);
        put_u32(w, (uint32_t)length);
        put_bytes(w, names->names[i], length);
    }
    end_section(w, start);
}

/* The optional section of a checkpoint after CLAS: the last fit's class weights and normalization
 * (fit_weights.c), as named fields ("normalization": u32; "class_weights": f32 per class), when
 * that fit had either. */
static void put_fit_weights(writer *w, const bnmlp_model *model) {
    const bnmlp_kept_weights *fw = &model->fit_weights;
    if (fw->class_count == 0 && fw->normalization == BNMLP_WEIGHTS_OVER_BATCH_SIZE) return;
    const size_t start = begin_section(w, "LWGT");
    put_u32(w, fw->class_count ? 2u : 1u);
    put_u32(w, (uint32_t)strlen("normalization"));
    put_bytes(w, "normalization", strlen("normalization"));
    put_u32(w, 4u);
    put_u32(w, (uint32_t)fw->normalization);
    if (fw->class_count) {
        put_u32(w, (uint32_t)strlen("class_weights"));
        put_bytes(w, "class_weights", strlen("class_weights"));
        put_u32(w, (uint32_t)(4 * fw->class_count));
        for (size_t c = 0; c < fw->class_count; c++) put_f32(w, fw->class_weights[c]);
    }
    end_section(w, start);
}

/* Writes (or, with w->out NULL, counts) the whole file. */
static void put_model(writer *w, const bnmlp_model *model, bool checkpoint) {
    put_bytes(w, MAGIC, MAGIC_BYTES);
    put_u32(w, FORMAT_VERSION);
    put_u32(w, checkpoint ? FLAG_CHECKPOINT : 0u);
    const size_t sections = begin_section(w, "\0\0\0\0") - 4; /* the u64 sections length */
    w->at = sections; /* no tag there: only the length, patched below */
    size_t start = begin_section(w, "ARCH");
    put_u64(w, model->input_width);
    put_u64(w, model->max_batch);
    put_u32(w, (uint32_t)model->loss);
    put_u64(w, model->layer_count);
    for (size_t i = 0; i < model->layer_count; i++) put_layer(w, &model->layers[i]);
    end_section(w, start);
    start = begin_section(w, "PARM");
    put_floats(w, model->params, model->param_count);
    end_section(w, start);
    start = begin_section(w, "STAT");
    put_floats(w, model->stats, model->stats_count);
    end_section(w, start);
    if (checkpoint) put_training_state(w, model);
    put_class_names(w, model);
    if (checkpoint) put_fit_weights(w, model);
    if (w->out) {
        bnmlp_store_le64(w->out + sections - 8, (uint64_t)(w->at - sections));
        bnmlp_store_le32(w->out + w->at, bnmlp_crc32_update(0, w->out, w->at));
    }
    w->at += TRAILER_BYTES;
}

size_t bnmlp_model_file_size(const bnmlp_model *model, bool checkpoint) {
    writer w = {.out = NULL, .at = 0};
    put_model(&w, model, checkpoint);
    return w.at;
}

bnmlp_status bnmlp_model_save_buffer(const bnmlp_model *model, bool checkpoint, void *buffer, size_t capacity,
                                     size_t *size) {
    if (!model || !size || (!buffer && capacity)) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    const size_t needed = bnmlp_model_file_size(model, checkpoint);
    *size = needed;
    if (!buffer) return BNMLP_OK;
    if (capacity < needed) return BNMLP_ERR_SHAPE;
    writer w = {.out = buffer, .at = 0};
    put_model(&w, model, checkpoint);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_save_with_fault(const bnmlp_model *model, const char *path, bool checkpoint,
                                         const bnmlp_file_fault *fault) {
    if (!model || !path) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    const size_t size = bnmlp_model_file_size(model, checkpoint);
    unsigned char *bytes = bnmlp_alloc(&model->allocator, size);
    if (!bytes) return BNMLP_ERR_OUT_OF_MEMORY;
    writer w = {.out = bytes, .at = 0};
    put_model(&w, model, checkpoint);
    bnmlp_file_writer file;
    /* Serialized in memory first, then written atomically. */
    bnmlp_status status = bnmlp_file_writer_open(&file, path, &model->allocator, fault, NULL);
    if (status == BNMLP_OK) {
        bnmlp_file_writer_write(&file, bytes, size);
        status = bnmlp_file_writer_commit(&file, NULL);
    }
    bnmlp_release(&model->allocator, bytes);
    return status;
}

bnmlp_status bnmlp_model_save(const bnmlp_model *model, const char *path) {
    return bnmlp_model_save_with_fault(model, path, false, NULL);
}

bnmlp_status bnmlp_model_save_checkpoint(const bnmlp_model *model, const char *path) {
    return bnmlp_model_save_with_fault(model, path, true, NULL);
}

/* ---- reading -------------------------------------------------------------------------------------- */

/* A bounds-checked cursor over the file's bytes; the first error sticks. */
typedef struct reader {
    const unsigned char *data;  /* the file */
    size_t end;                 /* readable bytes end here (the current section's end) */
    size_t at;                  /* next byte */
    bnmlp_status status;        /* BNMLP_OK, or the first error */
    bnmlp_error_detail *detail; /* where the first error is described (may be NULL) */
    uint32_t version;           /* the file's format version */
} reader;

/* Records the first error, with the offset it was found at. */
static void fail(reader *r, bnmlp_status status, const char *what) {
    if (r->status != BNMLP_OK) return;
    r->status = status;
    bnmlp_detail_set(r->detail, 0, 0, (uint64_t)r->at, "%s", what);
}

/* The next size bytes, or NULL (and BNMLP_ERR_FORMAT: the section ends first). */
static const unsigned char *take(reader *r, size_t size) {
    if (r->status != BNMLP_OK) return NULL;
    if (size > r->end - r->at) {
        fail(r, BNMLP_ERR_FORMAT, "a section ends in the middle of a value");
        return NULL;
    }
    const unsigned char *p = r->data + r->at;
    r->at += size;
    return p;
}

static unsigned get_u8(reader *r) {
    const unsigned char *p = take(r, 1);
    return p ? p[0] : 0;
}

static uint32_t get_u32(reader *r) {
    const unsigned char *p = take(r, 4);
    return p ? bnmlp_load_le32(p) : 0;
}

static uint64_t get_u64(reader *r) {
    const unsigned char *p = take(r, 8);
    return p ? bnmlp_load_le64(p) : 0;
}

static float get_f32(reader *r) { return bnmlp_float_from_bits(get_u32(r)); }

/* A bool stored as one byte 0 or 1. */
static bool get_bool(reader *r) {
    const unsigned value = get_u8(r);
    if (value > 1) fail(r, BNMLP_ERR_FORMAT, "a flag byte is neither 0 nor 1");
    return value == 1;
}

/* Opens the next section, which must have this tag and fit in the file; its payload becomes
 * the readable range. Returns where the sections continue after it. */
static size_t open_section(reader *r, const char tag[4], size_t sections_end) {
    r->end = sections_end;
    const unsigned char *header = take(r, SECTION_HEADER);
    if (!header) return sections_end;
    if (memcmp(header, tag, 4) != 0) {
        r->at -= SECTION_HEADER;
        char what[64];
        snprintf(what, sizeof what, "expected section %.4s here", tag);
        fail(r, BNMLP_ERR_FORMAT, what);
        return sections_end;
    }
    const uint64_t length = bnmlp_load_le64(header + 4);
    if (length > sections_end - r->at) {
        fail(r, BNMLP_ERR_FORMAT, "a section is longer than the file");
        return sections_end;
    }
    r->end = r->at + (size_t)length;
    return r->end;
}

/* Checks that the section was read to its end. */
static void close_section(reader *r) {
    if (r->status == BNMLP_OK && r->at != r->end) fail(r, BNMLP_ERR_FORMAT, "a section has bytes left over");
    r->at = r->end;
}

/* Reads a float array of exactly count values into dst (when not NULL), all finite. */
static void get_floats(reader *r, float *dst, size_t count, const char *what) {
    const uint64_t stored = get_u64(r);
    if (r->status != BNMLP_OK) return;
    if (stored != count) {
        char text[96];
        snprintf(text, sizeof text, "%s: %llu values where the architecture has %zu", what,
                 (unsigned long long)stored, count);
        fail(r, BNMLP_ERR_FORMAT, text);
        return;
    }
    for (size_t i = 0; i < count && r->status == BNMLP_OK; i++) {
        const float value = get_f32(r);
        if (!isfinite(value)) {
            r->at -= 4;
            fail(r, BNMLP_ERR_NOT_FINITE, what);
        }
        if (dst) dst[i] = value;
    }
}

/* A value of `bytes` bytes (1, 4 or 8). */
static uint64_t get_value(reader *r, size_t bytes) {
    return bytes == 1 ? get_u8(r) : bytes == 4 ? get_u32(r) : get_u64(r);
}

/* Reads one field's value into layer. */
static void get_field(reader *r, const bnmlp_file_field *field, bnmlp_layer *layer) {
    const uint64_t value = get_value(r, bnmlp_file_field_bytes(field));
    if (r->status != BNMLP_OK) return;
    if (!bnmlp_file_field_set(field, layer, value)) {
        r->at -= bnmlp_file_field_bytes(field);
        char text[96];
        snprintf(text, sizeof text, "field %s: a value its type cannot hold", field->name);
        fail(r, BNMLP_ERR_FORMAT, text);
    }
}

/* Version 1: the version-1 fields of the layer's kind, in table order, without names. */
static void get_fields_v1(reader *r, bnmlp_layer *layer) {
    for (size_t i = 0; i < bnmlp_file_field_count && r->status == BNMLP_OK; i++) {
        const bnmlp_file_field *field = &bnmlp_file_fields[i];
        if (field->version1 && bnmlp_file_field_applies(field, layer->kind)) get_field(r, field, layer);
    }
}

/* Longest field name a record may hold. */
#define MAX_FIELD_NAME 64

/* The head of a named field (layer records, OPTC): u32 name length, the name, u32 value
 * length. False on error (recorded). */
static bool get_field_head(reader *r, const unsigned char **name, uint32_t *length, uint32_t *bytes) {
    *length = get_u32(r);
    if (r->status == BNMLP_OK && *length > MAX_FIELD_NAME) {
        fail(r, BNMLP_ERR_FORMAT, "a field name is longer than 64 bytes");
        return false;
    }
    *name = take(r, *length);
    *bytes = get_u32(r);
    return r->status == BNMLP_OK;
}

/* True when the stored name (length bytes) is name. */
static bool is_named(const unsigned char *stored, uint32_t length, const char *name) {
    return strlen(name) == length && memcmp(name, stored, length) == 0;
}

/* Accepts known field `index` (< 64) of `bytes` bytes where its type has `expected`: once, of
 * its size; marks it in *seen. False (recorded) otherwise. */
static bool accept_field(reader *r, uint64_t *seen, size_t index, uint32_t bytes, size_t expected,
                         const char *name) {
    const bool twice = *seen >> index & 1u;
    if (bytes != expected || twice) {
        char text[96];
        snprintf(text, sizeof text, "field %s: %s", name,
                 twice ? "given twice" : "a value of the wrong size");
        fail(r, BNMLP_ERR_FORMAT, text);
        return false;
    }
    *seen |= (uint64_t)1 << index;
    return true;
}

/* Version 2: a count of named fields. A field this library does not know is skipped; one it
 * knows must have its type's size and appear once; a missing one keeps its default. */
static void get_fields_v2(reader *r, bnmlp_layer *layer) {
    const uint32_t count = get_u32(r);
    uint64_t seen = 0; /* bit i: row i read (the table has fewer than 64 rows) */
    for (uint32_t k = 0; k < count && r->status == BNMLP_OK; k++) {
        const unsigned char *name;
        uint32_t length, bytes;
        if (!get_field_head(r, &name, &length, &bytes)) return;
        size_t row = 0;
        while (row < bnmlp_file_field_count &&
               !(bnmlp_file_field_applies(&bnmlp_file_fields[row], layer->kind) &&
                 is_named(name, length, bnmlp_file_fields[row].name)))
            row++;
        if (row == bnmlp_file_field_count) { /* unknown: written by a later version, skipped */
            take(r, bytes);
            continue;
        }
        const bnmlp_file_field *field = &bnmlp_file_fields[row];
        if (!accept_field(r, &seen, row, bytes, bnmlp_file_field_bytes(field), field->name)) return;
        get_field(r, field, layer);
    }
}

/* Reads one layer record and appends the layer to model; its kind's row checks every value (a
 * refused one is BNMLP_ERR_FORMAT). */
static void get_layer(reader *r, bnmlp_model *model) {
    const uint32_t kind = get_u32(r);
    const uint64_t out = get_u64(r);
    if (r->status != BNMLP_OK) return;
    if (!bnmlp_layer_ops_of((bnmlp_layer_kind)kind)) {
        r->at -= 12;
        fail(r, BNMLP_ERR_FORMAT, "a layer's kind is not one this library knows");
        return;
    }
    if (out == 0 || out > MAX_WIDTH) {
        fail(r, BNMLP_ERR_UNSUPPORTED, "a layer width beyond the limits");
        return;
    }
    bnmlp_layer layer = {.kind = (bnmlp_layer_kind)kind, .out = (size_t)out};
    for (size_t i = 0; i < bnmlp_file_field_count; i++)
        if (bnmlp_file_field_applies(&bnmlp_file_fields[i], layer.kind))
            bnmlp_file_field_default(&bnmlp_file_fields[i], &layer);
    if (r->version == 1)
        get_fields_v1(r, &layer);
    else
        get_fields_v2(r, &layer);
    if (r->status != BNMLP_OK) return;
    const bnmlp_status status = bnmlp_model_append_layer(model, layer);
    if (status == BNMLP_ERR_OUT_OF_MEMORY || status == BNMLP_ERR_OVERFLOW) {
        fail(r, status, "adding a layer");
        return;
    }
    if (status != BNMLP_OK) {
        fail(r, BNMLP_ERR_FORMAT, "a layer's configuration is not valid");
        return;
    }
    if (model->layers[model->layer_count - 1].out != out)
        fail(r, BNMLP_ERR_FORMAT, "a layer's width differs from its input's");
}

/* The architecture: a new, unbuilt model with every layer and the loss; *max_batch from the
 * file. NULL on error (recorded in r). */
static bnmlp_model *get_architecture(reader *r, const bnmlp_allocator *allocator, size_t *max_batch) {
    const uint64_t input_width = get_u64(r), batch = get_u64(r);
    const uint32_t loss = get_u32(r);
    const uint64_t layers = get_u64(r);
    if (r->status != BNMLP_OK) return NULL;
    if (input_width == 0 || input_width > MAX_WIDTH || batch == 0 || batch > MAX_BATCH || layers == 0 ||
        layers > MAX_LAYERS) {
        fail(r, input_width && batch && layers ? BNMLP_ERR_UNSUPPORTED : BNMLP_ERR_FORMAT,
             "input width, maximum batch or layer count out of range");
        return NULL;
    }
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create_with_allocator((size_t)input_width, allocator, &status);
    if (!model) {
        fail(r, status, "creating the model");
        return NULL;
    }
    for (uint64_t i = 0; i < layers && r->status == BNMLP_OK; i++) get_layer(r, model);
    /* The model's precision is its dense layers' (written alike; the first one's). */
    for (size_t i = model->layer_count; i-- > 0;)
        if (model->layers[i].kind == BNMLP_LAYER_DENSE)
            model->precision = model->layers[i].config.dense.precision;
    if (r->status == BNMLP_OK && bnmlp_model_set_loss(model, (bnmlp_loss)loss) != BNMLP_OK)
        fail(r, BNMLP_ERR_FORMAT, "unknown loss");
    size_t buffer;
    if (r->status == BNMLP_OK &&
        (!bnmlp_size_mul((size_t)batch, model->output_count + 3 * model->max_width, &buffer) ||
         buffer > MAX_BUFFER_FLOATS))
        fail(r, BNMLP_ERR_UNSUPPORTED, "the maximum batch times the layer widths is beyond the limits");
    if (r->status != BNMLP_OK) {
        bnmlp_model_free(model);
        return NULL;
    }
    *max_batch = (size_t)batch;
    return model;
}

/* The declared size of the parameters and statistics sections must match the architecture
 * before build allocates the model's buffers: a file cannot make it allocate what it does not
 * hold. */
static bool sizes_match(reader *r, const bnmlp_model *model, size_t sections_end) {
    const size_t saved = r->at;
    bool ok = true;
    const size_t counts[2] = {model->param_count, model->stats_count};
    const char *tags[2] = {"PARM", "STAT"};
    for (size_t k = 0; k < 2 && ok; k++) {
        open_section(r, tags[k], sections_end);
        const uint64_t count = get_u64(r);
        ok = r->status == BNMLP_OK && count == counts[k];
        if (r->status == BNMLP_OK && !ok)
            fail(r, BNMLP_ERR_FORMAT, "the parameter or statistics count does not match the architecture");
        r->at = r->end;
    }
    if (ok) r->at = saved;
    return ok;
}

/* Moving variances (and the debiased average's variance accumulators) in stats (a statistics
 * block of the model's layout) are never negative. */
static void check_variances(reader *r, const bnmlp_model *model, const float *stats) {
    for (size_t i = 0; i < model->layer_count && r->status == BNMLP_OK; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++) {
            if (bnmlp_arrays[k].block != BNMLP_BLOCK_STATS || !bnmlp_arrays[k].non_negative ||
                !layer->arrays[k].length)
                continue;
            const float *values = stats + layer->arrays[k].offset;
            for (size_t c = 0; c < layer->arrays[k].length; c++)
                if (values[c] < 0.0f) {
                    char text[80];
                    snprintf(text, sizeof text, "layer %zu has a negative moving variance", i);
                    {
                        fail(r, BNMLP_ERR_FORMAT, text);
                        return;
                    }
                }
        }
    }
}

/* The optimizer's state: its kind, steps and the slots the kind uses (version 1: 2 slots for every
 * kind, SGD's second unused); slots the row keeps non-negative (Adam's second moments) are
 * checked. The configuration starts as the kind's defaults (OPTC, when present, replaces it). */
static void get_optimizer(reader *r, bnmlp_model *model) {
    const uint32_t kind = get_u32(r);
    const uint64_t steps = get_u64(r);
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of((bnmlp_optimizer_kind)kind);
    if (r->status == BNMLP_OK && (!row || (r->version == 1 && row->slots > VERSION1_SLOTS))) {
        fail(r, BNMLP_ERR_FORMAT, "unknown optimizer");
        return;
    }
    if (r->status != BNMLP_OK) return;
    const size_t n = model->param_count, slots = r->version == 1 ? VERSION1_SLOTS : row->slots;
    get_floats(r, model->optimizer.slots, slots * n, "optimizer state");
    if (r->status != BNMLP_OK) return;
    if (slots > row->slots)
        memset(model->optimizer.slots + row->slots * n, 0,
               (slots - row->slots) * n * sizeof *model->optimizer.slots);
    model->optimizer.kind = (bnmlp_optimizer_kind)kind;
    model->optimizer.steps = steps;
    model->optimizer.config = row->defaults();
    for (size_t i = 0; i < row->slots * n; i++)
        if ((row->nonnegative_slots >> (i / n) & 1u) && model->optimizer.slots[i] < 0.0f) {
            fail(r, BNMLP_ERR_FORMAT, "a negative second moment or squared-gradient average");
            return;
        }
}

/* One setting of a configuration, as its row describes it; a bool must be 0 or 1. */
static void get_setting(reader *r, bnmlp_optimizer_config *config, const bnmlp_optimizer_field *field) {
    unsigned char *at = (unsigned char *)config + field->offset;
    if (field->type == BNMLP_SETTING_FLOAT) {
        const float value = get_f32(r);
        memcpy(at, &value, sizeof value);
    } else if (field->type == BNMLP_SETTING_BOOL) {
        const bool value = get_bool(r);
        memcpy(at, &value, sizeof value);
    } else {
        const uint32_t value = get_u32(r);
        if (value > 255) fail(r, BNMLP_ERR_FORMAT, "an optimizer setting is out of range");
        const int stored = (int)value;
        memcpy(at, &stored, sizeof stored);
    }
}

/* The optimizer's configuration (version 2): its kind, then a count of named settings as a
 * layer record's fields are: one this library does not know is skipped, one it knows must have
 * its type's size and appear once, a missing one keeps the kind's default. The whole must pass
 * the optimizer's check. */
static void get_optimizer_config(reader *r, bnmlp_model *model) {
    const uint32_t kind = get_u32(r), count = get_u32(r);
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of((bnmlp_optimizer_kind)kind);
    if (r->status != BNMLP_OK) return;
    if (!row || row->kind != model->optimizer.kind) {
        fail(r, BNMLP_ERR_FORMAT, "an optimizer configuration of another kind than its state");
        return;
    }
    bnmlp_optimizer_config config = row->defaults();
    uint64_t seen = 0; /* bit i: setting i read */
    for (uint32_t k = 0; k < count && r->status == BNMLP_OK; k++) {
        const unsigned char *name;
        uint32_t length, bytes;
        if (!get_field_head(r, &name, &length, &bytes)) return;
        size_t i = 0;
        while (i < row->field_count && i < 64 && !is_named(name, length, row->fields[i].name)) i++;
        if (i == row->field_count || i == 64) { /* unknown: written by a later version, skipped */
            take(r, bytes);
            continue;
        }
        const bnmlp_optimizer_field *field = &row->fields[i];
        if (!accept_field(r, &seen, i, bytes, field->type == BNMLP_SETTING_BOOL ? 1u : 4u, field->name))
            return;
        get_setting(r, &config, field);
    }
    if (r->status != BNMLP_OK) return;
    if (bnmlp_optimizer_check(&config) != BNMLP_OK) {
        fail(r, BNMLP_ERR_FORMAT, "an optimizer setting is out of range");
        return;
    }
    model->optimizer.config = config;
}

/* The generator's state as numpy keeps it. */
static void get_random(reader *r, bnmlp_random *rng) {
    for (size_t i = 0; i < BNMLP_MT19937_N; i++) rng->key[i] = get_u32(r);
    const uint32_t position = get_u32(r), has_gauss = get_u32(r);
    const uint64_t gauss = get_u64(r);
    memcpy(&rng->gauss, &gauss, 8);
    if (r->status != BNMLP_OK) return;
    if (position > BNMLP_MT19937_N || has_gauss > 1 || !isfinite(rng->gauss)) {
        fail(r, BNMLP_ERR_FORMAT, "the random generator's state is not valid");
        return;
    }
    rng->position = (int)position;
    rng->has_gauss = (int)has_gauss;
}

/* Epochs done and fit's row order, which must be a permutation. */
static void get_training(reader *r, bnmlp_model *model, const bnmlp_allocator *allocator) {
    const uint64_t epochs = get_u64(r), rows = get_u64(r);
    if (r->status != BNMLP_OK) return;
    if (rows > (r->end - r->at) / 8) {
        fail(r, BNMLP_ERR_FORMAT, "the row order is longer than its section");
        return;
    }
    model->epochs_done = epochs;
    if (rows == 0) return;
    if (bnmlp_model_reserve_order(model, (size_t)rows) != BNMLP_OK) {
        fail(r, BNMLP_ERR_OUT_OF_MEMORY, "row order");
        return;
    }
    unsigned char *seen = bnmlp_alloc_zeroed(allocator, (size_t)rows, 1);
    if (!seen) {
        fail(r, BNMLP_ERR_OUT_OF_MEMORY, "row order");
        return;
    }
    for (size_t i = 0; i < rows && r->status == BNMLP_OK; i++) {
        const uint64_t row = get_u64(r);
        if (row >= rows || seen[row])
            fail(r, BNMLP_ERR_FORMAT, "the row order is not a permutation");
        else
            seen[row] = 1, model->order[i] = (size_t)row;
    }
    bnmlp_release(allocator, seen);
}

/* ---- reading fit's controls (the record's tables: fit_record.c) ---- */

/* Whether the next section begins with tag (nothing is read). */
static bool next_section_is(const reader *r, const char tag[4], size_t sections_end) {
    return r->status == BNMLP_OK && sections_end - r->at >= SECTION_HEADER &&
           memcmp(r->data + r->at, tag, 4) == 0;
}

/* A section of named fields into record, as a layer record's: a field this library does not know
 * is skipped, one it knows must have its size and appear once, a missing one keeps its default;
 * marks the part held. */
static void get_record_section(reader *r, const bnmlp_record_section *section, bnmlp_fit_record *record) {
    const uint32_t count = get_u32(r);
    uint64_t seen = 0; /* bit i: row i read (a table has fewer than 64 rows) */
    for (uint32_t k = 0; k < count && r->status == BNMLP_OK; k++) {
        const unsigned char *name;
        uint32_t length, bytes;
        if (!get_field_head(r, &name, &length, &bytes)) return;
        size_t row = 0;
        while (row < section->field_count && !is_named(name, length, section->fields[row].name)) row++;
        if (row == section->field_count) { /* unknown: written by a later version, skipped */
            take(r, bytes);
            continue;
        }
        const bnmlp_record_field *field = &section->fields[row];
        if (!accept_field(r, &seen, row, bytes, bnmlp_record_field_bytes(field), field->name)) return;
        const unsigned char *value = take(r, bytes);
        if (value && !bnmlp_record_field_decode(field, record, value)) {
            r->at -= bytes;
            char text[96];
            snprintf(text, sizeof text, "field %s: a value its type cannot hold", field->name);
            fail(r, BNMLP_ERR_FORMAT, text);
        }
    }
    const bool held = true;
    memcpy((unsigned char *)record + section->held, &held, sizeof held);
}

/* The optional sections of fit's controls after TRAN (SCHD, ESTP, PLAT, each when present, in
 * this order, all of the same epoch; then BEST, which early stopping's restore_best_weights with a
 * best epoch needs and nothing else allows) into the model's record. Their ranges are checked
 * by fit when it resumes from them (bnmlp_model_fit_resume_config). */
static void get_fit_record(reader *r, bnmlp_model *model, size_t end) {
    bnmlp_fit_record record = bnmlp_fit_record_defaults();
    bool any = false;
    uint64_t epoch = 0;
    for (size_t s = 0; s < bnmlp_record_section_count && r->status == BNMLP_OK; s++) {
        if (!next_section_is(r, bnmlp_record_sections[s].tag, end)) continue;
        const size_t next = open_section(r, bnmlp_record_sections[s].tag, end);
        get_record_section(r, &bnmlp_record_sections[s], &record);
        close_section(r);
        r->at = next;
        if (r->status == BNMLP_OK && any && record.epoch != epoch)
            fail(r, BNMLP_ERR_FORMAT, "the training controls' sections are of different epochs");
        any = true, epoch = record.epoch;
    }
    const bool best =
        record.has_early_stopping && record.early_stopping.restore_best_weights && record.early.has_best;
    if (r->status == BNMLP_OK && best != next_section_is(r, "BEST", end))
        fail(r, BNMLP_ERR_FORMAT,
             best ? "early stopping's best weights (section BEST) are missing"
                  : "a BEST section without early stopping's best epoch");
    if (r->status == BNMLP_OK && best) {
        const size_t next = open_section(r, "BEST", end);
        float *weights = bnmlp_model_reserve_best_weights(model);
        if (!weights) fail(r, BNMLP_ERR_OUT_OF_MEMORY, "early stopping's best weights");
        get_floats(r, weights, bnmlp_model_snapshot_floats(model), "a best weight is not finite");
        check_variances(r, model, weights + model->param_count);
        close_section(r);
        r->at = next;
        record.has_best_weights = true;
    }
    if (r->status == BNMLP_OK) bnmlp_model_keep_fit_record(model, &record);
}

/* The class names (section CLAS): as many as the model's classes, each within the length limit,
 * without a NUL byte, all distinct. Checked before the copy is allocated. */
static void get_class_names(reader *r, bnmlp_model *model) {
    const uint32_t count = get_u32(r);
    if (r->status != BNMLP_OK) return;
    if (count == 0 || count != bnmlp_model_class_count(model)) {
        fail(r, BNMLP_ERR_FORMAT, "the number of class names is not the model's number of classes");
        return;
    }
    const bnmlp_allocator *allocator = &model->allocator;
    const char **texts = bnmlp_alloc_zeroed(allocator, count, sizeof *texts);
    size_t *lengths = bnmlp_alloc_zeroed(allocator, count, sizeof *lengths);
    if (!texts || !lengths) fail(r, BNMLP_ERR_OUT_OF_MEMORY, "class names");
    for (uint32_t i = 0; i < count && r->status == BNMLP_OK; i++) {
        const uint32_t length = get_u32(r);
        if (r->status != BNMLP_OK) break;
        if (length > BNMLP_CLASS_NAME_MAX_BYTES) {
            fail(r, BNMLP_ERR_FORMAT, "a class name is longer than the limit");
            break;
        }
        const unsigned char *bytes = take(r, length);
        if (!bytes) break;
        if (length && memchr(bytes, '\0', length)) {
            fail(r, BNMLP_ERR_FORMAT, "a class name holds a NUL byte");
            break;
        }
        texts[i] = (const char *)bytes, lengths[i] = length;
    }
    bnmlp_class_names *names = NULL;
    if (r->status == BNMLP_OK) { /* terminated copies, compared below */
        const bnmlp_status status = bnmlp_class_names_create(texts, lengths, count, allocator, &names);
        if (status != BNMLP_OK) fail(r, status, "class names");
    }
    size_t duplicate = 0;
    if (r->status == BNMLP_OK) {
        const bnmlp_status status = bnmlp_class_names_distinct(names->names, count, allocator, &duplicate);
        if (status == BNMLP_ERR_INVALID_ARGUMENT)
            fail(r, BNMLP_ERR_FORMAT, "two class names are equal");
        else if (status != BNMLP_OK)
            fail(r, status, "class names");
    }
    if (r->status == BNMLP_OK) {
        model->class_names = names;
        names = NULL;
    }
    bnmlp_class_names_free(names);
    bnmlp_release(allocator, lengths);
    bnmlp_release(allocator, texts);
}

/* Checks the header and the CRC; returns where the sections end (0 on error). */
static size_t check_header(reader *r, size_t size, bool *checkpoint) {
    if (size < MAGIC_BYTES || memcmp(r->data, MAGIC, MAGIC_BYTES) != 0) {
        fail(r,
             size < MAGIC_BYTES && memcmp(r->data, MAGIC, size) == 0 ? BNMLP_ERR_TRUNCATED : BNMLP_ERR_FORMAT,
             "not a libbnmlp model file (wrong magic bytes)");
        return 0;
    }
    if (size < HEADER_BYTES + TRAILER_BYTES) {
        fail(r, BNMLP_ERR_TRUNCATED, "the file ends inside its header");
        return 0;
    }
    r->at = MAGIC_BYTES;
    const uint32_t version = get_u32(r), flags = get_u32(r);
    const uint64_t sections = get_u64(r);
    if (version < OLDEST_VERSION || version > FORMAT_VERSION) {
        r->at = MAGIC_BYTES;
        fail(r, BNMLP_ERR_VERSION, "format version not supported (this library reads versions 1 and 2)");
        return 0;
    }
    r->version = version;
    if (sections > size - HEADER_BYTES - TRAILER_BYTES) {
        fail(r, BNMLP_ERR_TRUNCATED, "the file is shorter than its header says");
        return 0;
    }
    if (sections < size - HEADER_BYTES - TRAILER_BYTES) {
        fail(r, BNMLP_ERR_FORMAT, "bytes after the end of the model");
        return 0;
    }
    const size_t end = HEADER_BYTES + (size_t)sections;
    if (bnmlp_crc32_update(0, r->data, end) != bnmlp_load_le32(r->data + end)) {
        r->at = end;
        fail(r, BNMLP_ERR_CHECKSUM, "CRC-32 mismatch: the file is corrupted");
        return 0;
    }
    if (flags & ~FLAG_CHECKPOINT) {
        r->at = 12;
        fail(r, BNMLP_ERR_FORMAT, "unknown flags");
        return 0;
    }
    *checkpoint = flags & FLAG_CHECKPOINT;
    return end;
}

/* The last fit's class weights (section LWGT, checkpoints): named fields, an unknown one skipped;
 * "normalization" a known one, "class_weights" one finite weight >= 0 per class of the model. */
static void get_fit_weights(reader *r, bnmlp_model *model) {
    const uint32_t count = get_u32(r);
    const size_t classes = bnmlp_model_class_count(model);
    uint32_t normalization = BNMLP_WEIGHTS_OVER_BATCH_SIZE;
    const unsigned char *weights = NULL;
    uint64_t seen = 0;
    for (uint32_t k = 0; k < count && r->status == BNMLP_OK; k++) {
        const unsigned char *name;
        uint32_t length, bytes;
        if (!get_field_head(r, &name, &length, &bytes)) return;
        if (is_named(name, length, "normalization")) {
            if (!accept_field(r, &seen, 0, bytes, 4, "normalization")) return;
            normalization = get_u32(r);
        } else if (is_named(name, length, "class_weights")) {
            if (!accept_field(r, &seen, 1, bytes, 4 * classes, "class_weights")) return;
            weights = take(r, bytes);
        } else {
            take(r, bytes); /* written by a later version */
        }
    }
    if (r->status != BNMLP_OK) return;
    if (normalization >= bnmlp_weight_normalization_count()) {
        fail(r, BNMLP_ERR_FORMAT, "unknown weight normalization");
        return;
    }
    float copy[256];
    const size_t n = weights ? classes : 0;
    float *values = n <= 256 ? copy : bnmlp_alloc_zeroed(&model->allocator, n, sizeof *values);
    if (!values) {
        fail(r, BNMLP_ERR_OUT_OF_MEMORY, "class weights");
        return;
    }
    for (size_t c = 0; c < n; c++) {
        values[c] = bnmlp_float_from_bits(bnmlp_load_le32(weights + 4 * c));
        if (!(values[c] >= 0.0f) || bnmlp_not_finite(values[c]))
            fail(r, BNMLP_ERR_FORMAT, "a class weight is negative or not finite");
    }
    if (r->status == BNMLP_OK &&
        bnmlp_model_keep_fit_weights(model, n ? values : NULL, n,
                                     (bnmlp_weight_normalization)normalization) != BNMLP_OK)
        fail(r, BNMLP_ERR_OUT_OF_MEMORY, "class weights");
    if (values != copy) bnmlp_release(&model->allocator, values);
}

/* Builds the model described by the sections; NULL on error. */
static bnmlp_model *read_model(reader *r, size_t end, bool checkpoint, const bnmlp_allocator *allocator) {
    size_t next = open_section(r, "ARCH", end), max_batch = 0;
    bnmlp_model *model = r->status == BNMLP_OK ? get_architecture(r, allocator, &max_batch) : NULL;
    close_section(r);
    if (!model) return NULL;
    r->at = next;
    if (sizes_match(r, model, end)) {
        const bnmlp_status status = bnmlp_model_build(model, max_batch, 0);
        if (status != BNMLP_OK) fail(r, status, "building the model");
    }
    /* Version 1 checkpoints have no OPTC: their configuration stays the state kind's defaults. */
    const char *tags[] = {"PARM", "STAT", "OPTM", "OPTC", "RAND", "TRAN"};
    for (size_t k = 0; k < (checkpoint ? 6u : 2u) && r->status == BNMLP_OK; k++) {
        if (k == 3 && r->version == 1) continue;
        next = open_section(r, tags[k], end);
        switch (k) {
        case 0:
            get_floats(r, model->params, model->param_count, "a parameter is not finite");
            bnmlp_model_params_changed(model);
            break;
        case 1:
            get_floats(r, model->stats, model->stats_count, "a moving statistic is not finite");
            check_variances(r, model, model->stats);
            break;
        case 2: get_optimizer(r, model); break;
        case 3: get_optimizer_config(r, model); break;
        case 4: get_random(r, &model->rng); break;
        case 5: get_training(r, model, allocator); break;
        }
        close_section(r);
        r->at = next;
    }
    if (checkpoint && r->status == BNMLP_OK && r->version >= 2) get_fit_record(r, model, end);
    if (r->status == BNMLP_OK && r->at != end && r->version >= 2 && next_section_is(r, "CLAS", end)) {
        next = open_section(r, "CLAS", end);
        if (r->status == BNMLP_OK) get_class_names(r, model);
        close_section(r);
        r->at = next;
    }
    if (r->status == BNMLP_OK && r->at != end && checkpoint && next_section_is(r, "LWGT", end)) {
        next = open_section(r, "LWGT", end);
        if (r->status == BNMLP_OK) get_fit_weights(r, model);
        close_section(r);
        r->at = next;
    }
    if (r->status == BNMLP_OK && r->at != end) fail(r, BNMLP_ERR_FORMAT, "unexpected sections at the end");
    if (r->status != BNMLP_OK) {
        bnmlp_model_free(model);
        return NULL;
    }
    bnmlp_model_derive(model); /* the int8 layers' packed products */
    model->file_version = r->version;
    model->from_checkpoint = checkpoint;
    return model;
}

bnmlp_model *bnmlp_model_load_buffer(const void *data, size_t size, const bnmlp_allocator *allocator,
                                     bnmlp_error_detail *detail, bnmlp_status *status) {
    if (!data && size) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    if (allocator && (!allocator->allocate || !allocator->release)) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    bnmlp_detail_set(detail, 0, 0, 0, "no error");
    reader r = {.data = data ? data : (const unsigned char *)"",
                .end = size,
                .at = 0,
                .status = BNMLP_OK,
                .detail = detail};
    bool checkpoint = false;
    const size_t end = check_header(&r, size, &checkpoint);
    bnmlp_model *model = r.status == BNMLP_OK ? read_model(&r, end, checkpoint, allocator) : NULL;
    bnmlp_set_status(status, r.status);
    return model;
}

bnmlp_model *bnmlp_model_load(const char *path, const bnmlp_allocator *allocator, bnmlp_error_detail *detail,
                              bnmlp_status *status) {
    if (!path) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    unsigned char *bytes;
    size_t size;
    bnmlp_status read = bnmlp_file_read_all(path, allocator, 0, &bytes, &size, detail);
    if (read != BNMLP_OK) {
        bnmlp_set_status(status, read);
        return NULL;
    }
    bnmlp_model *model = bnmlp_model_load_buffer(bytes, size, allocator, detail, status);
    bnmlp_release(allocator, bytes);
    return model;
}
