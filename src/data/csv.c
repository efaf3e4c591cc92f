/*
 * csv.c - numeric CSV files: the reader (from a path or a buffer) and the atomic writer.
 *
 * The reader makes two passes over the bytes with the same code: the first checks everything
 * and counts the rows, the second (after the tensors are allocated) stores the values. So every
 * error is found before anything is allocated, and nothing needs to grow.
 */
#include "data/data_files.h"

#include "core/class_names.h"
#include "core/core.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest number accepted, in characters (after trimming spaces). */
#define MAX_NUMBER_CHARS 400 /* also in NUMBER_ERRORS' message */

/* Characters of a field quoted in a message. */
#define FIELD_SHOWN 40

/* One field as found in the bytes: its content (between the quotes when quoted). */
typedef struct csv_field {
    const char *text; /* first byte of the content */
    size_t length;    /* bytes of content */
    bool escaped;     /* quoted and holding "" pairs (the content is not the value as written) */
    bool quoted;      /* between quotes */
    size_t line;      /* 1-based line where the field starts */
    size_t offset;    /* byte offset of the field's first byte */
} csv_field;

/* A position in the bytes. */
typedef struct csv_cursor {
    const char *data; /* all the bytes */
    size_t size;      /* their number */
    size_t pos;       /* next byte to read */
    size_t line;      /* 1-based line of pos */
    char separator;   /* ',', ';' or '\t' */
} csv_cursor;

/* What the first line says about the file. */
typedef struct csv_plan {
    size_t fields;   /* fields per row */
    size_t label;    /* 0-based label column, or SIZE_MAX for none */
    bool header;     /* the first line is a header */
    bool text_label; /* the label column is read as class names */
} csv_plan;

/* One row's class name, copied out of the bytes (with "" read as "). */
typedef struct label_ref {
    const char *text; /* the name, not terminated */
    size_t length;    /* its bytes */
    size_t row;       /* 0-based data row */
    size_t line;      /* 1-based line of its field, for messages */
    size_t offset;    /* byte offset of its field */
} label_ref;

/* True for the blanks that may surround a number (a tab only when it does not separate). */
static bool is_blank(char c, char separator) { return c == ' ' || (c == '\t' && separator != '\t'); }

/* True when the line at pos holds only blanks (and a '\r') up to its '\n' or the end. */
static bool line_is_blank(const csv_cursor *c, size_t pos) {
    for (; pos < c->size && c->data[pos] != '\n'; pos++)
        if (!is_blank(c->data[pos], c->separator) && c->data[pos] != '\r') return false;
    return true;
}

/* True when every line from pos to the end is blank. */
static bool rest_is_blank(const csv_cursor *c, size_t pos) {
    for (; pos < c->size; pos++) {
        char ch = c->data[pos];
        if (ch != '\n' && ch != '\r' && !is_blank(ch, c->separator)) return false;
    }
    return true;
}

/* Reads the field at c->pos into *field and moves past its separator or line end; *last says
 * whether it ended the row. column (1-based) is for messages. */
static bnmlp_status next_field(csv_cursor *c, size_t column, csv_field *field, bool *last,
                               bnmlp_error_detail *detail) {
    *field = (csv_field){.text = c->data + c->pos, .line = c->line, .offset = c->pos};
    size_t pos = c->pos;
    while (pos < c->size && is_blank(c->data[pos], c->separator)) pos++; /* blanks before a quote */
    if (pos < c->size && c->data[pos] == '"') {
        pos++;
        field->text = c->data + pos;
        field->quoted = true;
        for (;;) {
            if (pos >= c->size) {
                bnmlp_detail_set(detail, field->line, column, field->offset,
                                 "unterminated quoted field (no closing '\"')");
                return BNMLP_ERR_FORMAT;
            }
            char ch = c->data[pos];
            if (ch == '"') {
                if (pos + 1 < c->size && c->data[pos + 1] == '"') {
                    field->escaped = true;
                    pos += 2;
                    continue;
                }
                field->length = (size_t)(c->data + pos - field->text);
                pos++;
                break;
            }
            if (ch == '\n') c->line++;
            pos++;
        }
        while (pos < c->size && is_blank(c->data[pos], c->separator)) pos++;
        if (pos < c->size && c->data[pos] != c->separator && c->data[pos] != '\n' &&
            !(c->data[pos] == '\r' && (pos + 1 == c->size || c->data[pos + 1] == '\n'))) {
            bnmlp_detail_set(detail, c->line, column, pos, "unexpected character after a closing quote");
            return BNMLP_ERR_FORMAT;
        }
    } else {
        pos = c->pos;
        while (pos < c->size && c->data[pos] != c->separator && c->data[pos] != '\n') pos++;
        field->length = (size_t)(c->data + pos - field->text);
        bool line_end = pos >= c->size || c->data[pos] == '\n';
        if (line_end && field->length > 0 && field->text[field->length - 1] == '\r')
            field->length--; /* CRLF, or a CR at the very end */
    }
    if (pos < c->size && c->data[pos] == '\r') pos++; /* after a quote, only before '\n' or the end */
    *last = pos >= c->size || c->data[pos] == '\n';
    if (pos < c->size) {
        if (c->data[pos] == '\n') c->line++;
        pos++;
    }
    c->pos = pos;
    return BNMLP_OK;
}

void bnmlp_printable(char *out, size_t room, const char *text, size_t length) {
    if (room == 0) return;
    size_t n = 0;
    bool cut = length > room - 1;
    size_t keep = cut ? (room > 4 ? room - 4 : 0) : length;
    for (; n < keep; n++) {
        unsigned char ch = (unsigned char)text[n];
        out[n] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
    }
    if (cut)
        for (size_t i = 0; i < 3 && n + 1 < room; i++) out[n++] = '.';
    out[n] = '\0';
}

bool bnmlp_double_to_float(double value, float *out) {
    /* 0x1.ffffffp127 is FLT_MAX plus half an ulp: from there on, rounding gives infinity. */
    if (!(fabs(value) < 0x1.ffffffp127)) return false;
    *out = (float)value;
    return true;
}

/* How a field reads as a number. */
typedef enum number_kind {
    NUMBER_OK,         /* a finite number in float range */
    NUMBER_EMPTY,      /* nothing but blanks */
    NUMBER_NOT_NUMBER, /* something else */
    NUMBER_TOO_LONG,   /* a number of more than MAX_NUMBER_CHARS characters */
    NUMBER_NOT_FINITE, /* nan, inf or infinity (any case, signed or not) */
    NUMBER_RANGE       /* a number beyond float32's range */
} number_kind;

/* Case-insensitive: true when text[0..length) equals the lower-case word. */
static bool equals_word(const char *text, size_t length, const char *word) {
    size_t n = strlen(word);
    if (length != n) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (ch != word[i]) return false;
    }
    return true;
}

/* True when text[0..length) is a decimal number: [+-] digits [. digits] [e [+-] digits], with at
 * least one digit before the exponent. */
static bool is_decimal(const char *text, size_t length) {
    size_t i = 0, digits = 0;
    if (i < length && (text[i] == '+' || text[i] == '-')) i++;
    while (i < length && text[i] >= '0' && text[i] <= '9') i++, digits++;
    if (i < length && text[i] == '.') {
        i++;
        while (i < length && text[i] >= '0' && text[i] <= '9') i++, digits++;
    }
    if (digits == 0) return false;
    if (i < length && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < length && (text[i] == '+' || text[i] == '-')) i++;
        size_t exponent_digits = 0;
        while (i < length && text[i] >= '0' && text[i] <= '9') i++, exponent_digits++;
        if (exponent_digits == 0) return false;
    }
    return i == length;
}

/* Reads field as a number into *value (when OK). The grammar is checked here; strtod does the
 * correctly rounded conversion, with '.' replaced by the C locale's decimal point. */
static number_kind parse_number(const csv_field *field, char separator, float *value) {
    const char *text = field->text;
    size_t length = field->length;
    while (length > 0 && is_blank(text[0], separator)) text++, length--;
    while (length > 0 && is_blank(text[length - 1], separator)) length--;
    if (length == 0) return NUMBER_EMPTY;
    if (field->escaped) return NUMBER_NOT_NUMBER;
    if (!is_decimal(text, length)) {
        const char *word = text;
        size_t word_length = length;
        if (word[0] == '+' || word[0] == '-') word++, word_length--;
        if (equals_word(word, word_length, "nan") || equals_word(word, word_length, "inf") ||
            equals_word(word, word_length, "infinity"))
            return NUMBER_NOT_FINITE;
        return NUMBER_NOT_NUMBER;
    }
    if (length > MAX_NUMBER_CHARS) return NUMBER_TOO_LONG;
    char buffer[MAX_NUMBER_CHARS + 16];
    const char *point = localeconv()->decimal_point;
    size_t point_length = point ? strlen(point) : 0;
    if (point_length == 0 || point_length > 8) point = ".", point_length = 1;
    size_t n = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '.') {
            memcpy(buffer + n, point, point_length);
            n += point_length;
        } else {
            buffer[n++] = text[i];
        }
    }
    buffer[n] = '\0';
    char *end = NULL;
    double parsed = strtod(buffer, &end);
    if (end != buffer + n) return NUMBER_NOT_NUMBER; /* cannot happen after is_decimal */
    return bnmlp_double_to_float(parsed, value) ? NUMBER_OK : NUMBER_RANGE;
}

/* The status and message of each kind of field that is not a finite float; every message takes
 * the field's text. */
static const struct {
    bnmlp_status status;
    const char *format;
} NUMBER_ERRORS[] = {
    [NUMBER_OK] = {BNMLP_OK, ""},
    [NUMBER_EMPTY] = {BNMLP_ERR_FORMAT, "field is empty: '%s'"},
    [NUMBER_NOT_NUMBER] = {BNMLP_ERR_FORMAT, "field is not a number: '%s'"},
    [NUMBER_TOO_LONG] = {BNMLP_ERR_FORMAT, "number longer than 400 characters: '%s'"},
    [NUMBER_NOT_FINITE] = {BNMLP_ERR_NOT_FINITE, "value is not finite: '%s'"},
    [NUMBER_RANGE] = {BNMLP_ERR_NOT_FINITE, "value is beyond float32's range: '%s'"},
};

/* Turns a field that is not a finite float into its status and message. */
static bnmlp_status number_error(number_kind kind, const csv_field *field, size_t column,
                                 bnmlp_error_detail *detail) {
    if (kind == NUMBER_OK) return BNMLP_OK;
    char shown[FIELD_SHOWN + 1];
    bnmlp_printable(shown, sizeof shown, field->text, field->length);
    bnmlp_detail_set(detail, field->line, column, field->offset, NUMBER_ERRORS[kind].format, shown);
    return NUMBER_ERRORS[kind].status;
}

/* The separator for the first line at pos: the most frequent of ',', ';', '\t' outside quotes
 * (ties: ',' then ';' then tab; none: ','). */
static char detect_separator(const char *data, size_t size, size_t pos) {
    size_t counts[3] = {0, 0, 0};
    static const char candidates[3] = {',', ';', '\t'};
    bool quoted = false;
    for (; pos < size && (quoted || data[pos] != '\n'); pos++) {
        if (data[pos] == '"')
            quoted = !quoted;
        else if (!quoted)
            for (int i = 0; i < 3; i++)
                if (data[pos] == candidates[i]) counts[i]++;
    }
    int best = 0;
    for (int i = 1; i < 3; i++)
        if (counts[i] > counts[best]) best = i;
    return candidates[best];
}

/* True when field's content, with "" read as ", equals name. */
static bool field_equals(const csv_field *field, const char *name) {
    size_t i = 0, j = 0;
    while (i < field->length) {
        if (name[j] == '\0' || field->text[i] != name[j]) return false;
        i += field->escaped && field->text[i] == '"' ? 2 : 1;
        j++;
    }
    return name[j] == '\0';
}

/* Reads the first line at *c: the number of fields, whether it is a header (config->header, or
 * auto), and the label column. *c is left at the first data line. */
static bnmlp_status read_first_line(csv_cursor *c, const bnmlp_csv_read_config *config, csv_plan *plan,
                                    bnmlp_error_detail *detail) {
    csv_cursor start = *c;
    size_t fields = 0, name_match = SIZE_MAX, text_count = 0;
    bool last = false, last_text = false, index_text = false;
    while (!last) {
        csv_field field;
        bnmlp_status status = next_field(c, fields + 1, &field, &last, detail);
        if (status != BNMLP_OK) return status;
        float ignored;
        number_kind kind = parse_number(&field, c->separator, &ignored);
        last_text = kind == NUMBER_NOT_NUMBER || kind == NUMBER_TOO_LONG;
        text_count += last_text;
        if (config->label == BNMLP_CSV_LABEL_INDEX && fields == config->label_index) index_text = last_text;
        if (config->label == BNMLP_CSV_LABEL_NAME && name_match == SIZE_MAX &&
            field_equals(&field, config->label_name))
            name_match = fields;
        fields++;
    }
    plan->fields = fields;
    plan->text_label = false;
    if (config->class_names && config->label == BNMLP_CSV_LABEL_LAST) text_count -= last_text;
    if (config->class_names && config->label == BNMLP_CSV_LABEL_INDEX) text_count -= index_text;
    bool text_found = text_count > 0; /* the label's own field does not make a header (text labels) */
    plan->header =
        config->header == BNMLP_CSV_HEADER_YES || (config->header == BNMLP_CSV_HEADER_AUTO && text_found);
    if (!plan->header) *c = start;
    switch (config->label) {
    case BNMLP_CSV_LABEL_NONE: plan->label = SIZE_MAX; return BNMLP_OK;
    case BNMLP_CSV_LABEL_LAST: plan->label = fields - 1; break;
    case BNMLP_CSV_LABEL_INDEX:
        if (config->label_index >= fields) {
            bnmlp_detail_set(detail, start.line, 0, start.pos,
                             "label column %zu (0-based) is out of range: the first line has %zu fields",
                             config->label_index, fields);
            return BNMLP_ERR_INVALID_ARGUMENT;
        }
        plan->label = config->label_index;
        break;
    case BNMLP_CSV_LABEL_NAME: {
        char shown[FIELD_SHOWN + 1];
        bnmlp_printable(shown, sizeof shown, config->label_name, strlen(config->label_name));
        if (!plan->header) {
            bnmlp_detail_set(detail, start.line, 0, start.pos,
                             "label column '%s' asked by name, but the file has no header line", shown);
            return BNMLP_ERR_INVALID_ARGUMENT;
        }
        if (name_match == SIZE_MAX) {
            bnmlp_detail_set(detail, start.line, 0, start.pos, "label column '%s' is not in the header",
                             shown);
            return BNMLP_ERR_INVALID_ARGUMENT;
        }
        plan->label = name_match;
        break;
    }
    }
    if (fields == 1) {
        bnmlp_detail_set(detail, start.line, 1, start.pos,
                         "the label is the only column: no feature columns are left for x");
        return BNMLP_ERR_INVALID_ARGUMENT;
    }
    return BNMLP_OK;
}

/* The bytes of a class name in field: start and length (an unquoted field without its blanks). */
static void name_span(const csv_field *field, char separator, size_t *start, size_t *length) {
    size_t a = 0, b = field->length;
    if (!field->quoted) {
        while (a < b && is_blank(field->text[a], separator)) a++;
        while (b > a && is_blank(field->text[b - 1], separator)) b--;
    }
    *start = a;
    *length = b - a;
}

/* Checks the class name in field (column is 1-based, for messages); when out is not NULL copies it
 * there with "" read as ". *length gets its length as copied. */
static bnmlp_status read_name(const csv_field *field, size_t column, char separator, char *out,
                              size_t *length, bnmlp_error_detail *detail) {
    size_t start = 0, span = 0, n = 0;
    name_span(field, separator, &start, &span);
    for (size_t i = start; i < start + span; i++) {
        char ch = field->text[i];
        if (ch == '\0') {
            bnmlp_detail_set(detail, field->line, column, field->offset, "class name holds a NUL byte");
            return BNMLP_ERR_FORMAT;
        }
        if (field->escaped && ch == '"') i++; /* the first of a "" pair */
        if (out) out[n] = ch;
        n++;
    }
    if (n > BNMLP_CLASS_NAME_MAX_BYTES) {
        char shown[FIELD_SHOWN + 1];
        bnmlp_printable(shown, sizeof shown, field->text + start, span);
        bnmlp_detail_set(detail, field->line, column, field->offset,
                         "class name of %zu bytes is longer than %d: '%s'", n, BNMLP_CLASS_NAME_MAX_BYTES,
                         shown);
        return BNMLP_ERR_OVERFLOW;
    }
    *length = n;
    return BNMLP_OK;
}

/* True when the label column of the data rows at c holds a field that is text (neither empty nor a
 * number). Other problems are left to read_rows. */
static bool label_is_text(csv_cursor c, const csv_plan *plan) {
    while (c.pos < c.size) {
        if (line_is_blank(&c, c.pos)) return false;
        size_t found = 0;
        bool last = false;
        while (!last) {
            csv_field field;
            if (next_field(&c, found + 1, &field, &last, NULL) != BNMLP_OK) return false;
            if (found++ != plan->label) continue;
            float ignored;
            number_kind kind = parse_number(&field, c.separator, &ignored);
            if (kind == NUMBER_NOT_NUMBER || kind == NUMBER_TOO_LONG) return true;
        }
    }
    return false;
}

/* Reads the data rows from *c (a copy is used) to the end: checks every field and counts the rows
 * into *rows; when x is not NULL also stores the values (x: rows x features, y: rows x 1 or NULL).
 * With text labels, the names are checked, and when refs is not NULL copied into names (room for
 * all the bytes) with refs[row] pointing at each. */
static bnmlp_status read_rows(csv_cursor c, const csv_plan *plan, float *x, float *y, label_ref *refs,
                              char *names, size_t *rows, bnmlp_error_detail *detail) {
    size_t row = 0, features = plan->fields - (plan->label == SIZE_MAX ? 0 : 1);
    while (c.pos < c.size) {
        if (line_is_blank(&c, c.pos)) {
            if (rest_is_blank(&c, c.pos)) break;
            bnmlp_detail_set(detail, c.line, 0, c.pos, "blank line inside the data");
            return BNMLP_ERR_FORMAT;
        }
        size_t row_line = c.line, row_offset = c.pos, found = 0, feature = 0;
        bool last = false;
        while (!last) {
            csv_field field;
            bnmlp_status status = next_field(&c, found + 1, &field, &last, detail);
            if (status != BNMLP_OK) return status;
            found++;
            if (found > plan->fields) continue; /* counted for the message below */
            if (plan->text_label && found - 1 == plan->label) {
                size_t length = 0;
                status = read_name(&field, found, c.separator, refs ? names : NULL, &length, detail);
                if (status != BNMLP_OK) return status;
                if (refs) {
                    refs[row] = (label_ref){.text = names,
                                            .length = length,
                                            .row = row,
                                            .line = field.line,
                                            .offset = field.offset};
                    names += length;
                }
                continue;
            }
            float value = 0.0f;
            number_kind kind = parse_number(&field, c.separator, &value);
            if (kind != NUMBER_OK) return number_error(kind, &field, found, detail);
            if (!x) continue;
            if (found - 1 == plan->label)
                y[row] = value;
            else
                x[row * features + feature++] = value;
        }
        if (found != plan->fields) {
            bnmlp_detail_set(detail, row_line, found < plan->fields ? found + 1 : plan->fields + 1,
                             row_offset, "expected %zu fields (as in the first line), found %zu",
                             plan->fields, found);
            return BNMLP_ERR_FORMAT;
        }
        row++;
    }
    *rows = row;
    return BNMLP_OK;
}

/* Orders class names by their bytes (a prefix first), then by row. */
static int compare_refs(const void *a, const void *b) {
    const label_ref *p = a, *q = b;
    size_t n = p->length < q->length ? p->length : q->length;
    int order = n ? memcmp(p->text, q->text, n) : 0;
    if (order != 0) return order;
    if (p->length != q->length) return p->length < q->length ? -1 : 1;
    return p->row < q->row ? -1 : p->row > q->row;
}

/* True when two references hold the same name. */
static bool same_name(const label_ref *p, const label_ref *q) {
    return p->length == q->length && (p->length == 0 || memcmp(p->text, q->text, p->length) == 0);
}

/* Orders label_refs by row. */
static int compare_rows(const void *a, const void *b) {
    const label_ref *p = a, *q = b;
    return p->row < q->row ? -1 : p->row > q->row;
}

/* The second pass of a file with text labels: stores x, numbers the names in sorted order into y,
 * and makes *out. Scratch memory (the names and a reference per row) is freed before returning. */
static bnmlp_status read_text_labels(csv_cursor c, const csv_plan *plan, const bnmlp_allocator *allocator,
                                     float *x, float *y, size_t rows, bnmlp_class_names **out,
                                     bnmlp_error_detail *detail) {
    label_ref *refs = bnmlp_alloc_zeroed(allocator, rows, sizeof *refs);
    char *bytes = bnmlp_alloc(allocator, c.size - c.pos + 1); /* names are never longer than the data */
    const char **texts = bnmlp_alloc_zeroed(allocator, rows, sizeof *texts);
    size_t *lengths = bnmlp_alloc_zeroed(allocator, rows, sizeof *lengths);
    bnmlp_status status = BNMLP_ERR_OUT_OF_MEMORY;
    if (!refs || !bytes || !texts || !lengths) {
        bnmlp_detail_set(detail, 0, 0, 0, "cannot allocate the class names of %zu rows", rows);
        goto done;
    }
    status = read_rows(c, plan, x, y, refs, bytes, &rows, detail);
    if (status != BNMLP_OK) goto done;
    qsort(refs, rows, sizeof *refs, compare_refs);
    size_t count = 0;
    for (size_t i = 0; i < rows; i++) {
        if (i == 0 || !same_name(&refs[i - 1], &refs[i])) {
            texts[count] = refs[i].text;
            lengths[count] = refs[i].length;
            count++;
        }
        y[refs[i].row] = (float)(count - 1);
    }
    if (count > BNMLP_CLASS_NAMES_MAX) {
        /* the first name beyond the limit in file order: the (MAX+1)-th first appearance */
        size_t firsts = 0;
        for (size_t i = 0; i < rows; i++)
            if (i == 0 || !same_name(&refs[i - 1], &refs[i])) refs[firsts++] = refs[i];
        qsort(refs, firsts, sizeof *refs, compare_rows);
        const label_ref *beyond = &refs[BNMLP_CLASS_NAMES_MAX];
        bnmlp_detail_set(detail, beyond->line, plan->label + 1, beyond->offset,
                         "the label column names more than %d classes", BNMLP_CLASS_NAMES_MAX);
        status = BNMLP_ERR_OVERFLOW;
        goto done;
    }
    status = bnmlp_class_names_create(texts, lengths, count, allocator, out);
    if (status != BNMLP_OK) bnmlp_detail_set(detail, 0, 0, 0, "cannot allocate %zu class names", count);
done:
    bnmlp_release(allocator, lengths);
    bnmlp_release(allocator, texts);
    bnmlp_release(allocator, bytes);
    bnmlp_release(allocator, refs);
    return status;
}

/* Checks a read configuration: BNMLP_OK or the error (with *detail). */
static bnmlp_status check_read_config(const bnmlp_csv_read_config *config, bnmlp_error_detail *detail) {
    if (config->separator != 0 && config->separator != ',' && config->separator != ';' &&
        config->separator != '\t') {
        bnmlp_detail_set(detail, 0, 0, 0, "the separator must be ',', ';', tab or 0 (detect)");
        return BNMLP_ERR_INVALID_ARGUMENT;
    }
    if ((unsigned)config->header > BNMLP_CSV_HEADER_NO || (unsigned)config->label > BNMLP_CSV_LABEL_NONE) {
        bnmlp_detail_set(detail, 0, 0, 0, "unknown header or label setting");
        return BNMLP_ERR_INVALID_ARGUMENT;
    }
    if (config->label == BNMLP_CSV_LABEL_NAME && !config->label_name) {
        bnmlp_detail_set(detail, 0, 0, 0, "label_name is NULL");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    if (!bnmlp_allocator_is_valid(config->allocator)) {
        bnmlp_detail_set(detail, 0, 0, 0, "the allocator has one function without the other");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_csv_read_buffer(const void *data, size_t size, const bnmlp_csv_read_config *config,
                                   bnmlp_tensor **x, bnmlp_tensor **y, bnmlp_error_detail *detail) {
    const bnmlp_csv_read_config defaults = BNMLP_CSV_READ_DEFAULT;
    if (!config) config = &defaults;
    if ((!data && size != 0) || !x || (!y && config->label != BNMLP_CSV_LABEL_NONE)) {
        bnmlp_detail_set(detail, 0, 0, 0, "a required pointer argument is NULL");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    bnmlp_status status = check_read_config(config, detail);
    if (status != BNMLP_OK) return status;
    csv_cursor c = {.data = data ? data : "", .size = size, .pos = 0, .line = 1};
    if (size >= 3 && memcmp(c.data, "\xEF\xBB\xBF", 3) == 0) c.pos = 3; /* a UTF-8 byte-order mark */
    c.separator = config->separator ? config->separator : detect_separator(c.data, c.size, c.pos);
    if (rest_is_blank(&c, c.pos)) {
        bnmlp_detail_set(detail, 1, 0, 0, "the file is empty");
        return BNMLP_ERR_FORMAT;
    }
    if (line_is_blank(&c, c.pos)) {
        bnmlp_detail_set(detail, 1, 0, c.pos, "blank line before the data");
        return BNMLP_ERR_FORMAT;
    }
    csv_plan plan;
    status = read_first_line(&c, config, &plan, detail);
    if (status != BNMLP_OK) return status;
    size_t rows = 0;
    if (config->class_names && plan.label != SIZE_MAX) plan.text_label = label_is_text(c, &plan);
    status = read_rows(c, &plan, NULL, NULL, NULL, NULL, &rows, detail);
    if (status != BNMLP_OK) return status;
    if (rows == 0) {
        bnmlp_detail_set(detail, c.line, 0, c.pos, "no data rows after the header");
        return BNMLP_ERR_FORMAT;
    }
    size_t features = plan.fields - (plan.label == SIZE_MAX ? 0 : 1);
    bnmlp_tensor *tx = bnmlp_tensor_create_with_allocator(rows, features, config->allocator, &status);
    bnmlp_tensor *ty = NULL;
    if (tx && plan.label != SIZE_MAX)
        ty = bnmlp_tensor_create_with_allocator(rows, 1, config->allocator, &status);
    if (!tx || (plan.label != SIZE_MAX && !ty)) {
        bnmlp_tensor_free(tx);
        bnmlp_detail_set(detail, 0, 0, 0, "cannot allocate %zu x %zu values: %s", rows, features,
                         bnmlp_status_string(status));
        return status;
    }
    if (plan.text_label) {
        bnmlp_class_names *names = NULL;
        status = read_text_labels(c, &plan, config->allocator, tx->data, ty->data, rows, &names, detail);
        if (status != BNMLP_OK) {
            bnmlp_tensor_free(tx);
            bnmlp_tensor_free(ty);
            return status;
        }
        *config->class_names = names;
    } else {
        status = read_rows(c, &plan, tx->data, ty ? ty->data : NULL, NULL, NULL, &rows, detail);
        if (status != BNMLP_OK) { /* cannot happen: the first pass checked the same bytes */
            bnmlp_tensor_free(tx);
            bnmlp_tensor_free(ty);
            return status;
        }
        if (config->class_names) *config->class_names = NULL;
    }
    *x = tx;
    if (y) *y = ty;
    return BNMLP_OK;
}

bnmlp_status bnmlp_csv_read(const char *path, const bnmlp_csv_read_config *config, bnmlp_tensor **x,
                            bnmlp_tensor **y, bnmlp_error_detail *detail) {
    const bnmlp_csv_read_config defaults = BNMLP_CSV_READ_DEFAULT;
    if (!config) config = &defaults;
    if (!path || !x || (!y && config->label != BNMLP_CSV_LABEL_NONE)) {
        bnmlp_detail_set(detail, 0, 0, 0, "a required pointer argument is NULL");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    bnmlp_status status = check_read_config(config, detail);
    if (status != BNMLP_OK) return status;
    unsigned char *bytes = NULL;
    size_t size = 0;
    status = bnmlp_file_read_all(path, config->allocator, config->max_file_bytes, &bytes, &size, detail);
    if (status != BNMLP_OK) return status;
    status = bnmlp_csv_read_buffer(bytes, size, config, x, y, detail);
    bnmlp_release(config->allocator, bytes);
    return status;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Formats value with 9 significant digits into out (room >= 32) with '.' as the decimal point,
 * whatever the C locale: a locale's decimal point (possibly several bytes) becomes '.'. Returns
 * the length. */
static size_t format_float(char *out, size_t room, float value) {
    char raw[64];
    int n = snprintf(raw, sizeof raw, "%.9g", (double)value);
    if (n < 0 || (size_t)n >= sizeof raw) n = 0;
    size_t length = 0;
    bool in_point = false;
    for (int i = 0; i < n && length + 1 < room; i++) {
        char ch = raw[i];
        bool plain = (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == 'e' || ch == 'E';
        if (plain) {
            out[length++] = ch;
            in_point = false;
        } else if (!in_point) {
            out[length++] = '.';
            in_point = true;
        }
    }
    out[length] = '\0';
    return length;
}

/* True when a header name must be quoted to read back as itself. */
static bool needs_quotes(const char *name, char separator) {
    size_t n = strlen(name);
    if (n > 0 && (name[0] == ' ' || name[0] == '\t' || name[n - 1] == ' ' || name[n - 1] == '\t'))
        return true;
    return strchr(name, separator) || strchr(name, '"') || strchr(name, '\n') || strchr(name, '\r');
}

/* Writes the header line of names (count of them). */
static void write_header(bnmlp_file_writer *w, const char *const *names, size_t count, char separator) {
    for (size_t i = 0; i < count; i++) {
        if (i > 0) bnmlp_file_writer_write(w, &separator, 1);
        const char *name = names[i];
        if (!needs_quotes(name, separator)) {
            bnmlp_file_writer_write(w, name, strlen(name));
            continue;
        }
        bnmlp_file_writer_write(w, "\"", 1);
        for (const char *p = name; *p; p++) {
            bnmlp_file_writer_write(w, p, 1);
            if (*p == '"') bnmlp_file_writer_write(w, p, 1);
        }
        bnmlp_file_writer_write(w, "\"", 1);
    }
    bnmlp_file_writer_write(w, "\n", 1);
}

/* Checks the arguments of a write: BNMLP_OK or the error with *detail. */
static bnmlp_status check_write(const char *path, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                const bnmlp_csv_write_config *config, bnmlp_error_detail *detail) {
    if (!path || !x) {
        bnmlp_detail_set(detail, 0, 0, 0, "a required pointer argument is NULL");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    bnmlp_status status = bnmlp_tensor_check_shape(x, 0, 0);
    if (status == BNMLP_OK && y) status = bnmlp_tensor_check_shape(y, x->rows, 1);
    if (status != BNMLP_OK) {
        bnmlp_detail_set(detail, 0, 0, 0, "x must be a valid tensor and y (if given) x->rows x 1");
        return status;
    }
    char separator = config->separator ? config->separator : ',';
    if (separator != ',' && separator != ';' && separator != '\t') {
        bnmlp_detail_set(detail, 0, 0, 0, "the separator must be ',', ';' or tab");
        return BNMLP_ERR_INVALID_ARGUMENT;
    }
    if (!bnmlp_allocator_is_valid(config->allocator)) {
        bnmlp_detail_set(detail, 0, 0, 0, "the allocator has one function without the other");
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    if (config->column_names) {
        size_t count = x->cols + (y ? 1 : 0);
        for (size_t i = 0; i < count; i++) {
            if (!config->column_names[i]) {
                bnmlp_detail_set(detail, 0, 0, 0, "column name %zu is NULL", i);
                return BNMLP_ERR_NULL_ARGUMENT;
            }
        }
    }
    if (!bnmlp_all_finite(x->data, x->rows * x->cols) || (y && !bnmlp_all_finite(y->data, y->rows))) {
        bnmlp_detail_set(detail, 0, 0, 0, "the data hold NaN or infinity, which CSV readers refuse");
        return BNMLP_ERR_NOT_FINITE;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_csv_write_with_fault(const char *path, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                        const bnmlp_csv_write_config *config, bnmlp_error_detail *detail,
                                        const bnmlp_file_fault *fault) {
    const bnmlp_csv_write_config defaults = BNMLP_CSV_WRITE_DEFAULT;
    if (!config) config = &defaults;
    bnmlp_status status = check_write(path, x, y, config, detail);
    if (status != BNMLP_OK) return status;
    char separator = config->separator ? config->separator : ',';
    bnmlp_file_writer w;
    status = bnmlp_file_writer_open(&w, path, config->allocator, fault, detail);
    if (status != BNMLP_OK) return status;
    if (config->column_names) write_header(&w, config->column_names, x->cols + (y ? 1 : 0), separator);
    char number[64];
    for (size_t r = 0; r < x->rows && w.status == BNMLP_OK; r++) {
        for (size_t c = 0; c < x->cols; c++) {
            if (c > 0) bnmlp_file_writer_write(&w, &separator, 1);
            bnmlp_file_writer_write(&w, number,
                                    format_float(number, sizeof number, x->data[r * x->cols + c]));
        }
        if (y) {
            bnmlp_file_writer_write(&w, &separator, 1);
            bnmlp_file_writer_write(&w, number, format_float(number, sizeof number, y->data[r]));
        }
        bnmlp_file_writer_write(&w, "\n", 1);
    }
    return bnmlp_file_writer_commit(&w, detail);
}

bnmlp_status bnmlp_csv_write(const char *path, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const bnmlp_csv_write_config *config, bnmlp_error_detail *detail) {
    return bnmlp_csv_write_with_fault(path, x, y, config, detail, NULL);
}
