/*
 * bnmlp.h - libbnmlp, dense multilayer perceptrons with batch normalization.
 *
 * The one header users include. C11; the library needs libc, libm and pthreads (its thread pool).
 *
 * Conventions that hold for every function below:
 *   - Every fallible function returns a bnmlp_status; constructors return NULL and write a status
 *     through their last argument (which may be NULL).
 *   - A call that fails changes nothing the caller can observe: weights, moving statistics,
 *     optimizer state, random state and output buffers stay as they were.
 *   - Functions that read or write weights, or run the model, need a built model
 *     (BNMLP_ERR_NOT_BUILT otherwise); NULL for a required pointer is BNMLP_ERR_NULL_ARGUMENT.
 *   - The library never prints, exits or aborts; printing only goes to a FILE * you pass in.
 *   - There is no global state: objects are independent and may be used from different threads
 *     as long as one object is not used from two threads at once.
 *   - Batch norm follows Keras: moving = momentum * moving + (1 - momentum) * batch, with
 *     momentum 0.99 and epsilon 1e-3 by default. PyTorch's momentum is 1 - ours (PyTorch 0.1 is
 *     our 0.9); PyTorch's default epsilon is 1e-5 and its moving variance is unbiased
 *     (BNMLP_VARIANCE_UNBIASED).
 */
#ifndef BNMLP_H
#define BNMLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BNMLP_VERSION_MAJOR 0 /* major version: incompatible API changes */
#define BNMLP_VERSION_MINOR 1 /* minor version: compatible additions */
#define BNMLP_VERSION_PATCH 0 /* patch version: fixes */

/* The version of the library linked in, "MAJOR.MINOR.PATCH" (e.g. "0.1.0"), as the macros above
 * give it when the library was built; a static string, never NULL. */
const char *bnmlp_version(void);

/* ------------------------------------------------------------------------------------------ */
/* Status codes                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Result of every fallible call; BNMLP_OK is 0, every error is positive. */
typedef enum bnmlp_status {
    BNMLP_OK = 0,               /* success */
    BNMLP_ERR_NULL_ARGUMENT,    /* a required pointer argument was NULL */
    BNMLP_ERR_INVALID_ARGUMENT, /* a value outside its documented range (sizes, rates, indices) */
    BNMLP_ERR_SHAPE,            /* tensor shapes do not match what the call needs */
    BNMLP_ERR_BATCH_TOO_LARGE,  /* more rows than the maximum batch the model (or the max_rows a
                                   metric accumulator) was built for */
    BNMLP_ERR_BATCH_TOO_SMALL,  /* training-mode batch norm on a batch of one row */
    BNMLP_ERR_LABEL,            /* a target the loss does not accept: a binary label other than 0 or
                                   1, a class index out of range or not an integer, a row of class
                                   probabilities that is negative or does not sum to 1 (see
                                   bnmlp_loss and bnmlp_loss_check_targets) */
    BNMLP_ERR_NOT_FINITE,       /* NaN or infinity in inputs, labels or weights given to the call */
    BNMLP_ERR_DIVERGED,         /* a value computed from finite inputs (loss, gradient, weight, optimizer
                                    state, moving statistic, output) would be NaN or infinite: the
                                    arithmetic overflowed; nothing changed */
    BNMLP_ERR_NOT_BUILT,        /* the model must be built (bnmlp_model_build) first */
    BNMLP_ERR_ALREADY_BUILT,    /* the model is built: layers can no longer be added */
    BNMLP_ERR_EMPTY_MODEL,      /* the model has no layers */
    BNMLP_ERR_OUT_OF_MEMORY,    /* an allocation failed */
    BNMLP_ERR_OVERFLOW,         /* a size computation would overflow size_t */
    BNMLP_ERR_IO,               /* reading or writing a file or the caller's FILE failed */
    BNMLP_ERR_FILE_OPEN,        /* a file could not be opened or created (missing, permissions) */
    BNMLP_ERR_FORMAT,           /* a file's content breaks its format (bad magic, header, field) */
    BNMLP_ERR_VERSION,          /* a file's format version is not one this library reads */
    BNMLP_ERR_UNSUPPORTED,      /* a valid file that uses a feature this library does not read, an export of a
                                   layer its format lacks, or a training call on an int8 model */
    BNMLP_ERR_TRUNCATED,        /* a file or buffer ends before its content does */
    BNMLP_ERR_CHECKSUM          /* a file's CRC-32 does not match its content (corrupted) */
} bnmlp_status;

/* A static, human-readable English sentence for a status; never NULL (unknown codes too). */
const char *bnmlp_status_string(bnmlp_status status);

/* Where and why reading a file failed, filled by the readers that take one (pass NULL to skip).
 * Fields that do not apply are 0; message is always a terminated English sentence. */
typedef struct bnmlp_error_detail {
    size_t line;       /* 1-based line of a text file, 0 when not applicable */
    size_t column;     /* 1-based field (CSV) or column, 0 when not applicable */
    uint64_t offset;   /* byte offset from the start of the file or buffer */
    char message[160]; /* what is wrong, e.g. "field is not a number: 'abc'" */
} bnmlp_error_detail;

/* ------------------------------------------------------------------------------------------ */
/* Allocation                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* A caller-supplied allocator; every allocation of a model goes through it. */
typedef struct bnmlp_allocator {
    void *(*allocate)(void *context, size_t size); /* returns size bytes aligned for any type, or NULL */
    void (*release)(void *context, void *pointer); /* frees what allocate returned; NULL is a no-op */
    void *context;                                 /* passed back to both functions */
} bnmlp_allocator;

/* ------------------------------------------------------------------------------------------ */
/* Tensors: 2-D float32, row-major, rows = samples, columns = features                        */
/* ------------------------------------------------------------------------------------------ */

/* A 2-D float32 matrix, row-major: element (r, c) is data[r * cols + c]. */
typedef struct bnmlp_tensor {
    float *data; /* rows * cols floats, row-major */
    size_t rows; /* number of samples */
    size_t cols; /* number of features per sample */
    bool owned;  /* true when data was allocated by bnmlp_tensor_create (freed by bnmlp_tensor_free) */
    bnmlp_allocator allocator; /* owned tensors: what allocated the struct and data (zero for views) */
} bnmlp_tensor;

/* A new zero-filled rows x cols tensor (both > 0), or NULL with *status set. Free with
 * bnmlp_tensor_free. */
bnmlp_tensor *bnmlp_tensor_create(size_t rows, size_t cols, bnmlp_status *status);

/* As bnmlp_tensor_create, with the struct and its data allocated through *allocator (copied
 * into the tensor, which bnmlp_tensor_free uses; NULL means malloc and free). */
bnmlp_tensor *bnmlp_tensor_create_with_allocator(size_t rows, size_t cols, const bnmlp_allocator *allocator,
                                                 bnmlp_status *status);

/* Frees a tensor from bnmlp_tensor_create and its data; NULL is a no-op. */
void bnmlp_tensor_free(bnmlp_tensor *tensor);

/* A tensor that views caller memory (rows * cols floats); nothing is copied or checked here,
 * the functions that receive it check it. The caller keeps ownership of data. */
bnmlp_tensor bnmlp_tensor_view(float *data, size_t rows, size_t cols);

/* BNMLP_OK when tensor is usable (non-NULL data, rows and cols > 0, rows * cols fits size_t) and
 * has the given shape; rows or cols of 0 accept any size in that dimension. */
bnmlp_status bnmlp_tensor_check_shape(const bnmlp_tensor *tensor, size_t rows, size_t cols);

/* ------------------------------------------------------------------------------------------ */
/* Random numbers: numpy's legacy np.random.RandomState, bit for bit                          */
/* ------------------------------------------------------------------------------------------ */

#define BNMLP_MT19937_N 624 /* words of Mersenne Twister state */

/* MT19937 state as numpy's RandomState keeps it. Caller-owned; seed it before use. */
typedef struct bnmlp_random {
    uint32_t key[BNMLP_MT19937_N]; /* the twister's state words */
    int position;                  /* next word to temper; BNMLP_MT19937_N forces a twist */
    int has_gauss;                 /* 1 when gauss holds the cached second polar normal */
    double gauss;                  /* the cached normal (legacy_gauss) */
} bnmlp_random;

/* Seeds as np.random.RandomState(seed) does for an integer seed (init_genrand), clearing the
 * cached normal. */
bnmlp_status bnmlp_random_seed(bnmlp_random *rng, uint32_t seed);

/* Next 32-bit output (numpy's random_raw / next_uint32). rng must be seeded; the draws below
 * return 0 for a NULL rng. */
uint32_t bnmlp_random_uint32(bnmlp_random *rng);

/* Uniform double in [0, 1) from two 32-bit draws, 53 bits (RandomState.random_sample). */
double bnmlp_random_double(bnmlp_random *rng);

/* Standard normal by numpy's legacy polar method, second value cached (RandomState.standard_normal). */
double bnmlp_random_gauss(bnmlp_random *rng);

/* loc + scale * bnmlp_random_gauss(rng) (RandomState.normal); scale is not checked here. */
double bnmlp_random_normal(bnmlp_random *rng, double loc, double scale);

/* Uniform integer in [0, max] by numpy's masked rejection (random_interval). */
uint64_t bnmlp_random_interval(bnmlp_random *rng, uint64_t max);

/* Shuffles indices[0..n) in place exactly as RandomState.shuffle shuffles a 1-D array
 * (Fisher-Yates from the end, j = random_interval(i)). n of 0 or 1 draws nothing; indices must
 * not be NULL even then. */
bnmlp_status bnmlp_random_shuffle(bnmlp_random *rng, size_t *indices, size_t n);

/* ------------------------------------------------------------------------------------------ */
/* Datasets: scikit-learn's make_circles, make_moons and make_blobs                           */
/* ------------------------------------------------------------------------------------------ */

/* A labelled data set with its own memory: x is n_samples x n_features row-major, one class
 * index per row. */
typedef struct bnmlp_dataset {
    float *x;                  /* n_samples * n_features floats, row-major */
    int32_t *labels;           /* n_samples class indices: 0 or 1 (circles, moons), 0 .. centers - 1
                                  (blobs) */
    size_t n_samples;          /* number of rows */
    size_t n_features;         /* number of columns of x */
    bnmlp_allocator allocator; /* what allocated x and labels (all zero: malloc and free); splits and
                                  tensors made from the data set allocate through it too */
} bnmlp_dataset;

/* Arguments of make_circles, as in sklearn.datasets.make_circles. */
typedef struct bnmlp_circles_config {
    size_t n_samples;      /* total points (>= 1); outer circle n/2, inner circle the rest. Default 100 */
    bool shuffle;          /* shuffle the rows with the random state. Default true */
    double noise;          /* standard deviation of Gaussian noise added to x; 0 means none. Default 0 */
    uint32_t random_state; /* seed of the RandomState. Default 0 */
    double factor;         /* inner radius over outer radius, in [0, 1). Default 0.8 */
    const bnmlp_allocator *allocator; /* allocates the data set (copied into it); NULL: malloc/free */
} bnmlp_circles_config;

/* The defaults of make_circles (random_state 0 standing in for None). */
#define BNMLP_CIRCLES_DEFAULT                                                                                \
    ((bnmlp_circles_config){.n_samples = 100,                                                                \
                            .shuffle = true,                                                                 \
                            .noise = 0.0,                                                                    \
                            .random_state = 0,                                                               \
                            .factor = 0.8,                                                                   \
                            .allocator = NULL})

/* Arguments of make_moons, as in sklearn.datasets.make_moons. */
typedef struct bnmlp_moons_config {
    size_t n_samples;      /* total points (>= 1); upper moon n/2, lower moon the rest. Default 100 */
    bool shuffle;          /* shuffle the rows with the random state. Default true */
    double noise;          /* standard deviation of Gaussian noise added to x; 0 means none. Default 0 */
    uint32_t random_state; /* seed of the RandomState. Default 0 */
    const bnmlp_allocator *allocator; /* allocates the data set (copied into it); NULL: malloc/free */
} bnmlp_moons_config;

/* The defaults of make_moons (random_state 0 standing in for None). */
#define BNMLP_MOONS_DEFAULT                                                                                  \
    ((bnmlp_moons_config){                                                                                   \
        .n_samples = 100, .shuffle = true, .noise = 0.0, .random_state = 0, .allocator = NULL})

/* scikit-learn 1.2's make_circles into *out (allocated here; free with bnmlp_dataset_free),
 * computed in double and rounded once to float32. On error *out is left untouched. */
bnmlp_status bnmlp_make_circles(const bnmlp_circles_config *config, bnmlp_dataset *out);

/* scikit-learn 1.2's make_moons into *out, as bnmlp_make_circles. */
bnmlp_status bnmlp_make_moons(const bnmlp_moons_config *config, bnmlp_dataset *out);

/* Arguments of make_blobs, as in sklearn.datasets.make_blobs with an integer number of centers
 * (centers drawn uniformly in the center box). */
typedef struct bnmlp_blobs_config {
    size_t n_samples;      /* total points (>= 1), split evenly over the centers; the first
                              n_samples % centers centers get one more. Default 100 */
    size_t n_features;     /* columns of x (>= 1). Default 2 */
    size_t centers;        /* number of centers (>= 1, <= INT32_MAX), each drawn uniformly in
                              [center_box_min, center_box_max) per feature. Default 3 */
    double cluster_std;    /* standard deviation of every cluster, finite and >= +0.0 (-0.0 is
                              refused, as numpy does). Default 1.0 */
    double center_box_min; /* lower bound of the center box, finite, < center_box_max. Default -10 */
    double center_box_max; /* upper bound of the center box, finite (max - min too). Default 10 */
    bool shuffle;          /* shuffle the rows with the random state. Default true */
    uint32_t random_state; /* seed of the RandomState. Default 0 */
    const bnmlp_allocator *allocator; /* allocates the data set (copied into it); NULL: malloc/free */
} bnmlp_blobs_config;

/* The defaults of make_blobs (random_state 0 standing in for None). */
#define BNMLP_BLOBS_DEFAULT                                                                                  \
    ((bnmlp_blobs_config){.n_samples = 100,                                                                  \
                          .n_features = 2,                                                                   \
                          .centers = 3,                                                                      \
                          .cluster_std = 1.0,                                                                \
                          .center_box_min = -10.0,                                                           \
                          .center_box_max = 10.0,                                                            \
                          .shuffle = true,                                                                   \
                          .random_state = 0,                                                                 \
                          .allocator = NULL})

/* scikit-learn 1.2's make_blobs into *out (allocated here; free with bnmlp_dataset_free): the
 * same numpy RandomState draws (centers, then each cluster's normals row by row, then the
 * shuffle), computed in double and rounded once to float32. labels are class indices
 * 0 .. centers - 1 (the center each row was drawn around). Bad values are
 * BNMLP_ERR_INVALID_ARGUMENT, sizes whose bytes overflow size_t BNMLP_ERR_OVERFLOW; on error
 * *out is left untouched. */
bnmlp_status bnmlp_make_blobs(const bnmlp_blobs_config *config, bnmlp_dataset *out);

/* Frees the memory of a data set and zeroes the struct; NULL is a no-op. */
void bnmlp_dataset_free(bnmlp_dataset *dataset);

/* The tutorial's split: the first n_first rows into *first, the rest into *rest (copies; both
 * parts must be non-empty). */
bnmlp_status bnmlp_dataset_split(const bnmlp_dataset *dataset, size_t n_first, bnmlp_dataset *first,
                                 bnmlp_dataset *rest);

/* A seeded shuffled split as sklearn's train_test_split(test_size=n_test, random_state=seed):
 * a RandomState(seed) permutation; its first n_test rows are the test part, the next the train. */
bnmlp_status bnmlp_dataset_train_test_split(const bnmlp_dataset *dataset, size_t n_test, uint32_t seed,
                                            bnmlp_dataset *train, bnmlp_dataset *test);

/* Copies a data set into new tensors: *x (n_samples x n_features) and *y (n_samples x 1, each
 * label as a float: 0.0 or 1.0 for circles and moons), allocated through the data set's
 * allocator. Free both with bnmlp_tensor_free. */
bnmlp_status bnmlp_dataset_to_tensors(const bnmlp_dataset *dataset, bnmlp_tensor **x, bnmlp_tensor **y);

/* ------------------------------------------------------------------------------------------ */
/* Data files: numeric CSV and NumPy .npy (docs/data-files.md has the exact dialects)         */
/* ------------------------------------------------------------------------------------------ */

/* Readers that take a path read the whole file into memory first; larger files are refused with
 * BNMLP_ERR_OVERFLOW before anything is allocated. 1 GiB. */
#define BNMLP_DATA_MAX_FILE_BYTES_DEFAULT ((size_t)1 << 30)

/* Whether a CSV file starts with a header line of column names. */
typedef enum bnmlp_csv_header {
    BNMLP_CSV_HEADER_AUTO = 0, /* a header when a field of the first line is neither empty nor a
                                  number (nan and inf count as numbers) */
    BNMLP_CSV_HEADER_YES,      /* the first line is a header */
    BNMLP_CSV_HEADER_NO        /* every line is data */
} bnmlp_csv_header;

/* Which CSV column holds the label (y). */
typedef enum bnmlp_csv_label {
    BNMLP_CSV_LABEL_LAST = 0, /* the last column */
    BNMLP_CSV_LABEL_INDEX,    /* column label_index (0-based) */
    BNMLP_CSV_LABEL_NAME,     /* the first column whose header field equals label_name (needs a header) */
    BNMLP_CSV_LABEL_NONE      /* no label column: every column goes into x, no y is made */
} bnmlp_csv_label;

/* Most classes a text label column may name (BNMLP_ERR_OVERFLOW beyond, before allocating). */
#define BNMLP_CLASS_NAMES_MAX 65536

/* Longest class name, in bytes of UTF-8 without the terminator (BNMLP_ERR_OVERFLOW beyond). */
#define BNMLP_CLASS_NAME_MAX_BYTES 256

/* The names of the classes of a text label column, class i named names[i]: sorted by the bytes of
 * their UTF-8 (as numpy sorts str arrays and scikit-learn's LabelEncoder numbers classes; a
 * shorter name before a longer one it begins). One allocation; free with bnmlp_class_names_free. */
typedef struct bnmlp_class_names {
    size_t count;              /* number of classes, 1 to BNMLP_CLASS_NAMES_MAX */
    const char *const *names;  /* count distinct terminated names (no NUL byte inside) */
    bnmlp_allocator allocator; /* what allocated it (zero: malloc/free) */
} bnmlp_class_names;

/* Frees names and everything it points to; NULL is a no-op. */
void bnmlp_class_names_free(bnmlp_class_names *names);

/* How bnmlp_csv_read reads a file. */
typedef struct bnmlp_csv_read_config {
    char separator;          /* ',', ';' or '\t'; 0 detects it from the first line (the most frequent of
                                the three outside quotes; ties prefer ',' then ';'). Default 0 */
    bnmlp_csv_header header; /* header line or not. Default BNMLP_CSV_HEADER_AUTO */
    bnmlp_csv_label label;   /* the label column. Default BNMLP_CSV_LABEL_LAST */
    size_t label_index;      /* 0-based column of the label with BNMLP_CSV_LABEL_INDEX. Default 0 */
    const char *label_name;  /* header name of the label with BNMLP_CSV_LABEL_NAME. Default NULL */
    size_t max_file_bytes;   /* bnmlp_csv_read refuses larger files (0: no limit). Default
                                BNMLP_DATA_MAX_FILE_BYTES_DEFAULT */
    const bnmlp_allocator *allocator; /* allocates the tensors and the file's bytes (copied into the
                                         tensors); NULL: malloc/free. Default NULL */
    bnmlp_class_names **class_names;  /* NULL: the label column must be numeric (as read). Not NULL:
                                        a label column with a field that is not a number is read
                                        as text: *class_names gets its distinct names (sorted, see
                                        bnmlp_class_names; allocated with allocator) and y the
                                        0-based index of each row's name as a float; a label column
                                        of numbers only is read as without it and *class_names is
                                        set to NULL. Default NULL */
} bnmlp_csv_read_config;

/* The defaults: detect the separator and the header, label in the last column. */
#define BNMLP_CSV_READ_DEFAULT                                                                               \
    ((bnmlp_csv_read_config){.separator = 0,                                                                 \
                             .header = BNMLP_CSV_HEADER_AUTO,                                                \
                             .label = BNMLP_CSV_LABEL_LAST,                                                  \
                             .label_index = 0,                                                               \
                             .label_name = NULL,                                                             \
                             .max_file_bytes = BNMLP_DATA_MAX_FILE_BYTES_DEFAULT,                            \
                             .allocator = NULL,                                                              \
                             .class_names = NULL})

/* Reads the numeric CSV file at path into new tensors: *x (rows x feature columns, in file order
 * without the label) and *y (rows x 1, the label column as read: not checked to be 0 or 1), both
 * allocated with config->allocator (free with bnmlp_tensor_free). config NULL means
 * BNMLP_CSV_READ_DEFAULT. y may be NULL only with BNMLP_CSV_LABEL_NONE (then *y, if given, is set
 * to NULL). Values are decimal numbers ('.' as the decimal point whatever the C locale, optional
 * exponent, spaces around them allowed) parsed to double and rounded once to float32.
 * Errors (*detail, which may be NULL, gets the 1-based line, the 1-based field as column, the byte
 * offset and a message; it is written only on error):
 *   BNMLP_ERR_FILE_OPEN   the file cannot be opened (message names the path)
 *   BNMLP_ERR_IO          it cannot be read; BNMLP_ERR_OVERFLOW larger than max_file_bytes
 *   BNMLP_ERR_FORMAT      empty file, no data rows, a field that is empty or not a number, a row with
 *                         another number of fields than the first (message: expected and found),
 *                         an unterminated quote or text after a closing quote, a blank line
 *                         inside the data
 *   BNMLP_ERR_NOT_FINITE  nan, inf, or a value beyond float32's range
 *   BNMLP_ERR_INVALID_ARGUMENT  a bad config (separator, label), a label column not in the file
 *                         (index out of range, name not in the header, a name without a header) or
 *                         a label that is the only column
 *   BNMLP_ERR_NULL_ARGUMENT, BNMLP_ERR_OUT_OF_MEMORY
 * Text labels (config->class_names not NULL): a label field that is neither empty nor a number
 * (nan and inf count as numbers) makes the whole label column text, numbers included (mixed
 * numbers and text are all names, sorted as strings, as LabelEncoder treats an object column:
 * "10" before "2" before "a"). A name is the field's content: an unquoted field without the blanks
 * around it, a quoted one exactly as between its quotes with "" read as " (so it may hold
 * separators, blanks or line breaks); an empty field is the empty name. With
 * BNMLP_CSV_HEADER_AUTO the label field of the first line does not count when deciding whether it
 * is a header (a first line whose only text is its label is data). More errors then:
 *   BNMLP_ERR_FORMAT      a name holding a NUL byte
 *   BNMLP_ERR_OVERFLOW    a name longer than BNMLP_CLASS_NAME_MAX_BYTES, or more distinct names than
 *                         BNMLP_CLASS_NAMES_MAX (line and column of the first name beyond)
 * On error nothing is allocated and *x, *y and *config->class_names are untouched. */
bnmlp_status bnmlp_csv_read(const char *path, const bnmlp_csv_read_config *config, bnmlp_tensor **x,
                            bnmlp_tensor **y, bnmlp_error_detail *detail);

/* As bnmlp_csv_read, from the size bytes at data (not necessarily terminated; size 0 is the empty
 * file). max_file_bytes is ignored. */
bnmlp_status bnmlp_csv_read_buffer(const void *data, size_t size, const bnmlp_csv_read_config *config,
                                   bnmlp_tensor **x, bnmlp_tensor **y, bnmlp_error_detail *detail);

/* How bnmlp_csv_write writes a file. */
typedef struct bnmlp_csv_write_config {
    char separator;                   /* ',', ';' or '\t' (0 means ','). Default ',' */
    const char *const *column_names;  /* NULL: no header line; else x->cols names, plus one for y when
                                        y is given, quoted where needed. Default NULL */
    const bnmlp_allocator *allocator; /* the writer's small allocations; NULL: malloc/free. Default NULL */
} bnmlp_csv_write_config;

/* The defaults: comma separated, no header. */
#define BNMLP_CSV_WRITE_DEFAULT                                                                              \
    ((bnmlp_csv_write_config){.separator = ',', .column_names = NULL, .allocator = NULL})

/* Writes x (and y, rows x 1, as the last column; may be NULL) to path as CSV, one row per line
 * ending in "\n", every value with 9 significant digits ("%.9g" with '.' whatever the locale) so
 * that reading it back gives the same float32 bits. config NULL means BNMLP_CSV_WRITE_DEFAULT.
 * Atomic: the file is written under a temporary name in the same directory, flushed, synced and
 * renamed over path; on any error path keeps its previous content (or stays absent) and no
 * temporary file is left. Errors: BNMLP_ERR_NULL_ARGUMENT, BNMLP_ERR_SHAPE (bad x, or y not
 * x->rows x 1), BNMLP_ERR_INVALID_ARGUMENT (separator), BNMLP_ERR_NOT_FINITE (a NaN or infinity,
 * which the reader would refuse), BNMLP_ERR_FILE_OPEN, BNMLP_ERR_IO, BNMLP_ERR_OUT_OF_MEMORY;
 * *detail (may be NULL) is written on error. */
bnmlp_status bnmlp_csv_write(const char *path, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const bnmlp_csv_write_config *config, bnmlp_error_detail *detail);

/* How bnmlp_npy_read reads a file. */
typedef struct bnmlp_npy_read_config {
    size_t max_file_bytes;            /* bnmlp_npy_read refuses larger files (0: no limit). Default
                                         BNMLP_DATA_MAX_FILE_BYTES_DEFAULT */
    const bnmlp_allocator *allocator; /* allocates the tensor and the file's bytes; NULL: malloc/free.
                                         Default NULL */
} bnmlp_npy_read_config;

/* The defaults. */
#define BNMLP_NPY_READ_DEFAULT                                                                               \
    ((bnmlp_npy_read_config){.max_file_bytes = BNMLP_DATA_MAX_FILE_BYTES_DEFAULT, .allocator = NULL})

/* Reads a NumPy .npy file (format 1.0, 2.0 or 3.0) holding a 1-D array of n elements (-> n x 1)
 * or a 2-D array r x c (-> r x c) into a new float32 tensor *out (free with bnmlp_tensor_free).
 * Element types: float32, float64, int8, int32, int64, uint8, bool, little- or big-endian
 * ('<f4' '<f8' '|i1' '<i4' '<i8' '|u1' '|b1' and the '>' forms); Fortran order is converted to
 * row-major. float64 is rounded once to float32; int32 and int64 are rounded to the nearest
 * float32 (exact up to 2^24 in magnitude); bool is 0 or 1 (any non-zero byte is 1).
 * config NULL means BNMLP_NPY_READ_DEFAULT.
 * Errors (*detail, may be NULL, gets the byte offset and a message; written only on error):
 *   BNMLP_ERR_FILE_OPEN, BNMLP_ERR_IO, BNMLP_ERR_OVERFLOW (file or array too large)
 *   BNMLP_ERR_FORMAT       bad magic, a header that is not the dict numpy writes (keys 'descr',
 *                          'fortran_order', 'shape', each once, in any order), bytes after the data
 *   BNMLP_ERR_VERSION      a format version other than 1.0, 2.0, 3.0
 *   BNMLP_ERR_UNSUPPORTED  another element type, 0-D or 3-D+ shapes, or a shape with a 0
 *                          (an empty array cannot become a tensor)
 *   BNMLP_ERR_TRUNCATED    the header or the data is shorter than it says
 *   BNMLP_ERR_NOT_FINITE   a NaN or infinity, or a float64 beyond float32's range
 *   BNMLP_ERR_NULL_ARGUMENT, BNMLP_ERR_OUT_OF_MEMORY
 * On error nothing is allocated and *out is untouched. */
bnmlp_status bnmlp_npy_read(const char *path, const bnmlp_npy_read_config *config, bnmlp_tensor **out,
                            bnmlp_error_detail *detail);

/* As bnmlp_npy_read, from the size bytes at data. max_file_bytes is ignored. */
bnmlp_status bnmlp_npy_read_buffer(const void *data, size_t size, const bnmlp_npy_read_config *config,
                                   bnmlp_tensor **out, bnmlp_error_detail *detail);

/* How bnmlp_npy_write writes a file. */
typedef struct bnmlp_npy_write_config {
    bool one_dimensional;             /* write a 1-column tensor as shape (n,) instead of (n, 1).
                                         Default false */
    const bnmlp_allocator *allocator; /* the writer's small allocations; NULL: malloc/free. Default NULL */
} bnmlp_npy_write_config;

/* The defaults. */
#define BNMLP_NPY_WRITE_DEFAULT ((bnmlp_npy_write_config){.one_dimensional = false, .allocator = NULL})

/* Writes tensor to path as a .npy file exactly as numpy 1.24's np.save writes a C-order float32
 * array: format 1.0 (2.0 when the header needs it), '<f4', fortran_order False, shape (rows, cols)
 * or (rows,), header padded to a multiple of 64 bytes. Atomic as bnmlp_csv_write. config NULL means
 * BNMLP_NPY_WRITE_DEFAULT. Errors: BNMLP_ERR_NULL_ARGUMENT, BNMLP_ERR_SHAPE, BNMLP_ERR_NOT_FINITE
 * (NaN or infinity, which the reader refuses), BNMLP_ERR_FILE_OPEN, BNMLP_ERR_IO,
 * BNMLP_ERR_OUT_OF_MEMORY; *detail (may be NULL) is written on error. */
bnmlp_status bnmlp_npy_write(const char *path, const bnmlp_tensor *tensor,
                             const bnmlp_npy_write_config *config, bnmlp_error_detail *detail);

/* ------------------------------------------------------------------------------------------ */
/* Layers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Activation functions: element-wise, except softmax (per row). The values are stored in model
 * files: new kinds are appended. alpha is the layer's alpha (bnmlp_model_add_activation,
 * bnmlp_dense_config.activation_alpha); only leaky_relu and elu read it. */
typedef enum bnmlp_activation {
    BNMLP_ACTIVATION_LINEAR = 0, /* f(x) = x */
    BNMLP_ACTIVATION_RELU,       /* f(x) = max(x, 0); derivative 0 at x = 0 */
    BNMLP_ACTIVATION_LEAKY_RELU, /* f(x) = x for x > 0, alpha * x otherwise */
    BNMLP_ACTIVATION_SIGMOID,    /* f(x) = 1 / (1 + exp(-x)) */
    BNMLP_ACTIVATION_TANH,       /* f(x) = tanh(x) */
    BNMLP_ACTIVATION_SOFTMAX,    /* per row: f(x)_k = exp(x_k - max) / sum_j exp(x_j - max) */
    BNMLP_ACTIVATION_ELU,        /* f(x) = x for x > 0, alpha * (exp(x) - 1) otherwise; derivative at 0
                                    is alpha (the one below 0). Keras's and PyTorch's alpha is 1.0: pass
                                    1.0 (BNMLP_DENSE_DEFAULT's 0.3 is leaky_relu's) */
    BNMLP_ACTIVATION_GELU,       /* f(x) = x / 2 * (1 + erf(x / sqrt 2)), the exact form (PyTorch's and
                                    Keras's default; not the tanh approximation) */
    BNMLP_ACTIVATION_SILU        /* f(x) = x * sigmoid(x) (Keras's "silu", alias "swish") */
} bnmlp_activation;

/* Keras's name of an activation: "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
 * "elu", "gelu", "silu"; "unknown" for any other value. Static strings. The names come from the library's one
 * activation table, so a program may list every activation by calling this for 0, 1, ... until
 * it returns "unknown". */
const char *bnmlp_activation_name(bnmlp_activation activation);

/* *out = the activation named name: each activation's Keras name as bnmlp_activation_name
 * returns it, or one of its aliases ("swish" for "silu").
 * Case-sensitive. BNMLP_ERR_NULL_ARGUMENT, or BNMLP_ERR_INVALID_ARGUMENT for an unknown name
 * (*out untouched). */
bnmlp_status bnmlp_activation_from_name(const char *name, bnmlp_activation *out);

/* Keras's default alpha of an activation that reads the layer's alpha: 0.3 for leaky_relu (its
 * slope below 0), 1.0 for elu (its scale below 0); NAN for every other kind (alpha is ignored)
 * and for values outside the table. A program offers an alpha option exactly where this is not
 * NAN, and passes this value when none is given. */
float bnmlp_activation_default_alpha(bnmlp_activation activation);

/* Kernel initializers, as Keras defines them (fan_in, fan_out = kernel rows, columns). */
typedef enum bnmlp_initializer {
    BNMLP_INIT_GLOROT_UNIFORM = 0, /* U(-l, l), l = sqrt(6 / (fan_in + fan_out)); Keras's Dense default */
    BNMLP_INIT_GLOROT_NORMAL, /* normal truncated at 2 sd, sd = sqrt(2 / (fan_in + fan_out)) / 0.87962566 */
    BNMLP_INIT_HE_UNIFORM,    /* U(-l, l), l = sqrt(6 / fan_in) */
    BNMLP_INIT_HE_NORMAL,     /* normal truncated at 2 sd, sd = sqrt(2 / fan_in) / 0.87962566 */
    BNMLP_INIT_ZEROS          /* all zeros */
} bnmlp_initializer;

/* A fully connected layer: y = x W + b with W of shape (inputs, units). */
typedef struct bnmlp_dense_config {
    size_t units;                         /* output width, > 0 */
    bool use_bias;                        /* add a bias vector (initialized to zeros). Default true */
    bnmlp_initializer kernel_initializer; /* how W is initialized. Default glorot_uniform */
    bnmlp_activation activation; /* activation added as its own layer after this one; linear adds none */
    float activation_alpha;      /* leaky_relu's slope below 0 (default 0.3, Keras's) or elu's scale below 0
                               (Keras's default is 1.0: set it); finite */
} bnmlp_dense_config;

/* Keras's Dense(units) defaults: bias on, glorot_uniform, no activation. */
#define BNMLP_DENSE_DEFAULT(units_)                                                                          \
    ((bnmlp_dense_config){.units = (units_),                                                                 \
                          .use_bias = true,                                                                  \
                          .kernel_initializer = BNMLP_INIT_GLOROT_UNIFORM,                                   \
                          .activation = BNMLP_ACTIVATION_LINEAR,                                             \
                          .activation_alpha = 0.3f})

/* How the moving statistics average the batch statistics over the training steps. t counts the
 * training steps of the layer (1 for the first). */
typedef enum bnmlp_moving_average {
    BNMLP_AVERAGE_EXPONENTIAL = 0, /* moving = momentum * moving + (1 - momentum) * batch, from
                                      mean 0 and variance 1 (Keras, PyTorch's default; default) */
    BNMLP_AVERAGE_DEBIASED,        /* Keras 2.1.3 to 2.2.5 (TensorFlow's zero_debias): a hidden
                                      accumulator a = momentum * a + (1 - momentum) * batch from
                                      a = 0, and moving = a / (1 - momentum^t); the initial 0 and 1
                                      never count. momentum must be below 1 */
    BNMLP_AVERAGE_CUMULATIVE       /* PyTorch's momentum=None: the plain mean of all batch
                                      statistics so far, moving += (batch - moving) / t, as
                                      moving = (1 - 1/t) * moving + (1/t) * batch; momentum unused */
} bnmlp_moving_average;

/* Which estimate of the batch variance feeds the moving variance (normalization always uses the
 * biased one). */
typedef enum bnmlp_variance_estimator {
    BNMLP_VARIANCE_BIASED = 0, /* 1/N, as Keras 3 and tf.keras on 2-D input (default) */
    BNMLP_VARIANCE_UNBIASED,   /* times N/(N-1), as PyTorch's running_var */
    BNMLP_VARIANCE_KERAS2      /* times N/(N-1-epsilon), as standalone Keras 2.1.4 to 2.3.1; a
                                  training batch then needs N > 1 + epsilon rows (else
                                  BNMLP_ERR_BATCH_TOO_SMALL) */
} bnmlp_variance_estimator;

/* Batch normalization over the batch axis, one mean and variance per feature. */
typedef struct bnmlp_batchnorm_config {
    float momentum; /* moving = momentum * moving + (1 - momentum) * batch; in [0, 1]. Default 0.99 */
    float epsilon;  /* added to the variance inside the square root; > 0 and finite. Default 1e-3 */
    bool center;    /* learn beta (offset, starts at 0). Default true */
    bool scale;     /* learn gamma (scale, starts at 1). Default true */
    bnmlp_variance_estimator moving_variance_estimator; /* default BNMLP_VARIANCE_BIASED */
    bnmlp_moving_average moving_average; /* how batches are averaged; default BNMLP_AVERAGE_EXPONENTIAL */
} bnmlp_batchnorm_config;

/* Keras's BatchNormalization() defaults. */
#define BNMLP_BATCHNORM_DEFAULT                                                                              \
    ((bnmlp_batchnorm_config){.momentum = 0.99f,                                                             \
                              .epsilon = 1e-3f,                                                              \
                              .center = true,                                                                \
                              .scale = true,                                                                 \
                              .moving_variance_estimator = BNMLP_VARIANCE_BIASED,                            \
                              .moving_average = BNMLP_AVERAGE_EXPONENTIAL})

/* Kinds of layer in a model. */
typedef enum bnmlp_layer_kind {
    BNMLP_LAYER_DENSE = 0,     /* bnmlp_model_add_dense */
    BNMLP_LAYER_ACTIVATION,    /* bnmlp_model_add_activation, or a dense layer's activation */
    BNMLP_LAYER_BATCHNORM,     /* bnmlp_model_add_batchnorm */
    BNMLP_LAYER_NORMALIZATION, /* bnmlp_model_add_normalization */
    BNMLP_LAYER_DROPOUT,       /* bnmlp_model_add_dropout */
    BNMLP_LAYER_DENSE_INT8     /* a dense layer quantized to int8 (bnmlp_model_quantize only):
                                  inference only; its bias is BNMLP_WEIGHT_BIAS (units), its int8
                                  kernel and scales are not public arrays */
} bnmlp_layer_kind;

/* Arrays a layer holds; which exist depends on its kind and configuration. */
typedef enum bnmlp_weight {
    BNMLP_WEIGHT_KERNEL = 0,     /* dense W, inputs x units, row-major */
    BNMLP_WEIGHT_BIAS,           /* dense b, units (only with use_bias) */
    BNMLP_WEIGHT_GAMMA,          /* batch-norm scale, features (only with scale) */
    BNMLP_WEIGHT_BETA,           /* batch-norm offset, features (only with center) */
    BNMLP_WEIGHT_MOVING_MEAN,    /* batch-norm moving mean, or a normalization layer's mean,
                                    features (not trainable) */
    BNMLP_WEIGHT_MOVING_VARIANCE /* batch-norm moving variance, or a normalization layer's
                                    variance (>= 0), features (not trainable) */
} bnmlp_weight;

/* What a model says about one of its layers. */
typedef struct bnmlp_layer_info {
    bnmlp_layer_kind kind;       /* dense, activation, batch norm, normalization or dropout */
    size_t input_width;          /* features in */
    size_t output_width;         /* features out */
    size_t trainable_params;     /* parameters the optimizer updates (0 when frozen) */
    size_t non_trainable_params; /* moving statistics, and all parameters of a frozen layer */
    bool trainable;              /* false after bnmlp_model_set_trainable(..., false) */
    bnmlp_activation activation; /* for activation layers: which function */
} bnmlp_layer_info;

/* ------------------------------------------------------------------------------------------ */
/* Optimizer, modes, training                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* The loss the model trains on, set before build with bnmlp_model_set_loss. */
typedef enum bnmlp_loss {
    BNMLP_LOSS_BINARY_CROSSENTROPY = 0,  /* per output, labels 0 or 1; computed from the logit when the
                                           last layer is a sigmoid, else from probabilities clipped to
                                           [1e-7, 1 - 1e-7] (Keras); accuracy: p > 0.5. Default */
    BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, /* K >= 2 outputs; targets are class indices 0..K-1 in a
                                            (rows, 1) tensor, or rows of K class probabilities (e.g.
                                            one-hot, >= 0, summing to 1 within 1e-5). Computed from the
                                            logits when the last layer is a softmax, as
                                            logsumexp(z) - z[y] (gradient (softmax - target) / rows),
                                            else from probabilities clipped as Keras clips; accuracy:
                                            the argmax (first maximum) is the class. A class index
                                            out of range or not an integer, or a probability row
                                            with a negative value or not summing to 1, is
                                            BNMLP_ERR_LABEL */
    BNMLP_LOSS_MEAN_SQUARED_ERROR        /* mean over rows and outputs of (output - target)^2, finite
                                           targets of the output's width; its metric is the loss
                                           itself: accuracy is reported as NaN */
} bnmlp_loss;

/* The number of losses: every value from 0 to bnmlp_loss_count() - 1 is one (for listing them). */
size_t bnmlp_loss_count(void);

/* Keras's name of a loss: "binary_crossentropy", "categorical_crossentropy",
 * "mean_squared_error"; "unknown" for any other value. Static strings. */
const char *bnmlp_loss_name(bnmlp_loss loss);

/* The names bnmlp_loss_from_name accepts for loss, one by one: index 0 is bnmlp_loss_name's,
 * then the aliases ("bce"; "softmax"; "mse"); NULL past the last one or for an unknown loss. */
const char *bnmlp_loss_alias(bnmlp_loss loss, size_t index);

/* The loss named name (Keras's name or an alias, exactly as bnmlp_loss_alias lists them) into
 * *loss; BNMLP_ERR_INVALID_ARGUMENT (and *loss untouched) for any other name. */
bnmlp_status bnmlp_loss_from_name(const char *name, bnmlp_loss *loss);

/* True when the loss has an accuracy metric (the cross-entropies; not mean squared error). */
bool bnmlp_loss_has_accuracy(bnmlp_loss loss);

/* How a weighted loss is normalized, with class or sample weights (w, per row: its class's
 * weight times its sample weight; l, a row's loss, the mean over its outputs). */
typedef enum bnmlp_weight_normalization {
    BNMLP_WEIGHTS_OVER_BATCH_SIZE = 0, /* sum(w l) / N, N the batch's rows (Keras's
                                          "sum_over_batch_size"; default) */
    BNMLP_WEIGHTS_OVER_WEIGHT_SUM      /* sum(w l) / sum(w) (PyTorch's CrossEntropyLoss(weight=...,
                                          reduction="mean"): a weighted mean) */
} bnmlp_weight_normalization;

/* The number of normalizations: every value from 0 to bnmlp_weight_normalization_count() - 1. */
size_t bnmlp_weight_normalization_count(void);

/* A normalization's name: "batch" (BNMLP_WEIGHTS_OVER_BATCH_SIZE), "sum"
 * (BNMLP_WEIGHTS_OVER_WEIGHT_SUM); "unknown" for any other value. Static strings. */
const char *bnmlp_weight_normalization_name(bnmlp_weight_normalization normalization);

/* The normalization named name (as bnmlp_weight_normalization_name gives it) into *normalization;
 * BNMLP_ERR_INVALID_ARGUMENT (untouched) for another name, BNMLP_ERR_NULL_ARGUMENT for NULL. */
bnmlp_status bnmlp_weight_normalization_from_name(const char *name,
                                                  bnmlp_weight_normalization *normalization);

/* scikit-learn's "balanced" class weights: out[c] = N / (classes * count_c) for the N rows of y,
 * class indices (one column of exact integers in [0, classes)) or one row of `classes`
 * probabilities per row (the row's first maximum counts). out has classes floats. Errors:
 * BNMLP_ERR_NULL_ARGUMENT; BNMLP_ERR_INVALID_ARGUMENT (classes < 2, or a class with no row:
 * its weight would be infinite); BNMLP_ERR_SHAPE (y neither 1 nor classes columns, or no
 * rows); BNMLP_ERR_LABEL (an index out of range or not an integer). On error out is untouched. */
bnmlp_status bnmlp_class_weights_balanced(const bnmlp_tensor *y, size_t classes, float *out);

/* Class and sample weights of a loss (Keras's fit(class_weight=, sample_weight=), PyTorch's
 * CrossEntropyLoss(weight=) times a per-sample factor). Each row's weight is
 *   w = class_weights[its target's class] * sample_weights[its row]
 * (either factor 1 when absent; the product in float32, as Keras multiplies them), and the loss
 * of a batch of N rows is sum(w l) / N or sum(w l) / sum(w) by normalization (l a row's loss, its
 * outputs' mean). A row's class: its label 0 or 1 (binary cross-entropy with one output), its
 * class index or its one-hot row's first maximum (categorical cross-entropy). Mean squared error
 * and binary cross-entropy with several outputs have no classes: class weights are refused
 * (BNMLP_ERR_INVALID_ARGUMENT), sample weights are taken. Rules checked before anything changes
 * (BNMLP_ERR_INVALID_ARGUMENT; BNMLP_ERR_NOT_FINITE for NaN or infinity): class_count equals
 * bnmlp_model_class_count (0 without class_weights), every weight finite and >= 0. With
 * BNMLP_WEIGHTS_OVER_WEIGHT_SUM a batch whose weights sum to 0 has loss 0 and gradient 0
 * (Keras's divide_no_nan; PyTorch would give NaN). A batch whose weights are all exactly 1
 * runs the unweighted arithmetic: results bit-identical to no weights. Accuracy and the other
 * metrics stay unweighted (Keras's `metrics`, not `weighted_metrics`). */
typedef struct bnmlp_loss_weights {
    const float *class_weights;               /* (class_count) one weight per class, or NULL (every
                                                 class 1). Default NULL */
    size_t class_count;                       /* entries of class_weights: the model's
                                                 bnmlp_model_class_count; 0 without them. Default 0 */
    const float *sample_weights;              /* (rows of the data) one weight per row of x, indexed
                                                 by the row's position in the caller's x (fit's
                                                 shuffle moves a row with its weight), or NULL (every
                                                 row 1). Default NULL */
    bnmlp_weight_normalization normalization; /* default BNMLP_WEIGHTS_OVER_BATCH_SIZE (Keras) */
} bnmlp_loss_weights;

/* No weights: every row 1, Keras's normalization (the unweighted loss, bit for bit). */
#define BNMLP_LOSS_WEIGHTS_DEFAULT                                                                           \
    ((bnmlp_loss_weights){.class_weights = NULL,                                                             \
                          .class_count = 0,                                                                  \
                          .sample_weights = NULL,                                                            \
                          .normalization = BNMLP_WEIGHTS_OVER_BATCH_SIZE})

/* True when weights (may be NULL) weigh anything: class or sample weights given. */
bool bnmlp_loss_weights_given(const bnmlp_loss_weights *weights);

/* Checks targets y for a model with `outputs` outputs trained on loss, as training and
 * evaluation do: the width (outputs columns; 1 or outputs for categorical cross-entropy:
 * BNMLP_ERR_SHAPE), every value finite (BNMLP_ERR_NOT_FINITE), and the loss's rule
 * (BNMLP_ERR_LABEL: see bnmlp_loss). On error *detail (may be NULL) names the first bad row,
 * 1-based, in line (and its 1-based column in column, 0 for a whole row), with the value in
 * message, e.g. "row 3: label 2 is not 0 or 1 (binary_crossentropy)"; offset is 0. */
bnmlp_status bnmlp_loss_check_targets(bnmlp_loss loss, size_t outputs, const bnmlp_tensor *y,
                                      bnmlp_error_detail *detail);

/* Stochastic gradient descent in Keras's form: v = momentum * v - lr * g; w += v
 * (nesterov: w += momentum * v - lr * g). Velocities start at 0. With weight decay the gradient
 * is g + weight_decay * w first (PyTorch's SGD weight_decay, L2). */
typedef struct bnmlp_sgd_config {
    float learning_rate;     /* lr, > 0 and finite. Default 0.01 */
    float momentum;          /* in [0, 1]. Default 0 */
    bool nesterov;           /* Nesterov momentum. Default false */
    float weight_decay;      /* L2 coefficient, >= 0 and finite. Default 0 */
    bool decay_kernels_only; /* true: dense biases and batch-norm gamma/beta are not decayed.
                                Default false (PyTorch decays every parameter) */
} bnmlp_sgd_config;

/* Keras's L2 kernel regularizer, kernel_regularizer=l2(l) on every Dense layer, adds
 * l * sum(w^2) (no 1/2) to the loss, whose gradient is 2 * l * w on the kernels only: the same as
 * weight_decay = 2 * l with decay_kernels_only true, in SGD, Adam (not AdamW: decoupled) and
 * RMSprop. Only the reported loss differs: the penalty is not added to it. */
#define BNMLP_KERAS_L2_DECAY(l) (2.0f * (float)(l))

/* Keras's SGD() defaults. */
#define BNMLP_SGD_DEFAULT                                                                                    \
    ((bnmlp_sgd_config){.learning_rate = 0.01f,                                                              \
                        .momentum = 0.0f,                                                                    \
                        .nesterov = false,                                                                   \
                        .weight_decay = 0.0f,                                                                \
                        .decay_kernels_only = false})

/* Where Adam adds epsilon. */
typedef enum bnmlp_adam_epsilon {
    BNMLP_ADAM_EPSILON_PYTORCH = 0, /* w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps):
                                       to the bias-corrected sqrt(v) (PyTorch; default) */
    BNMLP_ADAM_EPSILON_KERAS        /* w -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps):
                                       to the uncorrected sqrt(v) ("epsilon hat", Keras and TF) */
} bnmlp_adam_epsilon;

/* Adam and AdamW: m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2 (moments
 * start at 0, t counts the steps from 1), then the step above. Adam's weight_decay is L2 added
 * to g (PyTorch Adam); AdamW's is decoupled, w *= 1 - lr * weight_decay before the step. */
typedef struct bnmlp_adam_config {
    float learning_rate;                  /* lr, > 0 and finite. Default 0.001 */
    float beta1;                          /* first-moment decay, in [0, 1). Default 0.9 */
    float beta2;                          /* second-moment decay, in [0, 1). Default 0.999 */
    float epsilon;                        /* > 0 and finite. Default 1e-8 (PyTorch; Keras uses 1e-7) */
    bnmlp_adam_epsilon epsilon_placement; /* default BNMLP_ADAM_EPSILON_PYTORCH */
    float weight_decay;      /* >= 0 and finite. Default 0 (Adam); use 0.01 for PyTorch's AdamW */
    bool decay_kernels_only; /* true: dense biases and batch-norm gamma/beta are not decayed.
                                      Default false */
} bnmlp_adam_config;

/* PyTorch's Adam() defaults (for AdamW set weight_decay, e.g. 0.01 as PyTorch's AdamW). */
#define BNMLP_ADAM_DEFAULT                                                                                   \
    ((bnmlp_adam_config){.learning_rate = 0.001f,                                                            \
                         .beta1 = 0.9f,                                                                      \
                         .beta2 = 0.999f,                                                                    \
                         .epsilon = 1e-8f,                                                                   \
                         .epsilon_placement = BNMLP_ADAM_EPSILON_PYTORCH,                                    \
                         .weight_decay = 0.0f,                                                               \
                         .decay_kernels_only = false})

/* RMSprop as PyTorch 1.13 computes it (torch.optim.RMSprop, single tensor): g += weight_decay * w
 * (L2); s = alpha * s + (1 - alpha) * g^2; centered: a = alpha * a + (1 - alpha) * g and
 * d = sqrt(s - a^2) + epsilon, else d = sqrt(s) + epsilon; with momentum > 0:
 * b = momentum * b + g / d and w -= lr * b, else w -= lr * g / d. State starts at 0.
 * Keras's RMSprop (Keras 3, tf.keras) names alpha "rho" and defaults to learning_rate 0.001,
 * rho 0.9, epsilon 1e-7, and puts epsilon INSIDE the square root: d = sqrt(s + epsilon) (centered:
 * sqrt(s - a^2 + epsilon)), its momentum buffer holding lr * g / d; this struct follows PyTorch,
 * so a Keras run matches it only where epsilon is negligible next to s. */
typedef struct bnmlp_rmsprop_config {
    float learning_rate;     /* lr, > 0 and finite. Default 0.01 (Keras: 0.001) */
    float alpha;             /* decay of the squared-gradient average, in [0, 1). Default 0.99
                                (Keras's rho: 0.9) */
    float epsilon;           /* added to the root, > 0 and finite. Default 1e-8 (Keras: 1e-7, inside) */
    float momentum;          /* in [0, 1]; 0 keeps no buffer. Default 0 */
    bool centered;           /* divide by the root of the gradient's estimated variance. Default false */
    float weight_decay;      /* L2 coefficient, >= 0 and finite. Default 0 */
    bool decay_kernels_only; /* true: dense biases and batch-norm gamma/beta are not decayed.
                                Default false */
} bnmlp_rmsprop_config;

/* PyTorch's RMSprop() defaults. */
#define BNMLP_RMSPROP_DEFAULT                                                                                \
    ((bnmlp_rmsprop_config){.learning_rate = 0.01f,                                                          \
                            .alpha = 0.99f,                                                                  \
                            .epsilon = 1e-8f,                                                                \
                            .momentum = 0.0f,                                                                \
                            .centered = false,                                                               \
                            .weight_decay = 0.0f,                                                            \
                            .decay_kernels_only = false})

/* Gradient clipping, Keras's optimizer arguments, shared by every optimizer. It applies to the
 * loss gradient before the update (before weight decay is added to it, as PyTorch's
 * clip_grad_norm_ before step()); the gradient arena that bnmlp_model_loss_gradients hands out
 * is not modified. At most one of the three may be set (Keras refuses more). Norms are summed
 * in double in a fixed order (parameter by parameter, segment by segment), so a clipped step is
 * the same for every thread count. Bits are unchanged with all three 0. */
typedef struct bnmlp_clip_config {
    float clipnorm;        /* per parameter array (a kernel, a bias, a gamma, ...): g *= clipnorm /
                              max(||g||, clipnorm) (Keras clip_by_norm). >= 0 and finite; 0: off.
                              Default 0 */
    float clipvalue;       /* every element clamped to [-clipvalue, clipvalue] (Keras clipvalue,
                              torch.nn.utils.clip_grad_value_). >= 0 and finite; 0: off. Default 0 */
    float global_clipnorm; /* all trainable gradients together: total = ||all g||,
                              g *= min(global_clipnorm / (total + 1e-6), 1) (torch.nn.utils.
                              clip_grad_norm_, norm 2). >= 0 and finite; 0: off. Default 0 */
} bnmlp_clip_config;

/* No clipping. */
#define BNMLP_CLIP_DEFAULT ((bnmlp_clip_config){.clipnorm = 0.0f, .clipvalue = 0.0f, .global_clipnorm = 0.0f})

/* Which optimizer. */
typedef enum bnmlp_optimizer_kind {
    BNMLP_OPTIMIZER_SGD = 0, /* "sgd": bnmlp_sgd_config; state: one velocity per parameter */
    BNMLP_OPTIMIZER_ADAM,    /* "adam": bnmlp_adam_config, L2 weight decay; state: two moments */
    BNMLP_OPTIMIZER_ADAMW,   /* "adamw": bnmlp_adam_config, decoupled weight decay; state: two moments */
    BNMLP_OPTIMIZER_RMSPROP  /* "rmsprop": bnmlp_rmsprop_config; state: the squared-gradient average,
                                the gradient average (centered) and the momentum buffer */
} bnmlp_optimizer_kind;

/* An optimizer: kind says which of the configurations is used; the others are ignored. It is
 * the one carrier of an optimizer's settings: fit embeds it, train_step takes it, and a
 * checkpoint stores the last one used with the state (bnmlp_model_optimizer_config). The model
 * keeps the state of the kind it last stepped with (planned at build for every kind); a step
 * with another kind starts that kind's state afresh. */
typedef struct bnmlp_optimizer_config {
    bnmlp_optimizer_kind kind;    /* default BNMLP_OPTIMIZER_SGD */
    bnmlp_sgd_config sgd;         /* used when kind is BNMLP_OPTIMIZER_SGD */
    bnmlp_adam_config adam;       /* used when kind is BNMLP_OPTIMIZER_ADAM or BNMLP_OPTIMIZER_ADAMW */
    bnmlp_rmsprop_config rmsprop; /* used when kind is BNMLP_OPTIMIZER_RMSPROP */
    bnmlp_clip_config clip;       /* gradient clipping, every kind. Default BNMLP_CLIP_DEFAULT (off) */
} bnmlp_optimizer_config;

/* Every kind's defaults, with kind_ selecting one. */
#define BNMLP_OPTIMIZER_OF(kind_)                                                                            \
    ((bnmlp_optimizer_config){.kind = (kind_),                                                               \
                              .sgd = BNMLP_SGD_DEFAULT,                                                      \
                              .adam = BNMLP_ADAM_DEFAULT,                                                    \
                              .rmsprop = BNMLP_RMSPROP_DEFAULT,                                              \
                              .clip = BNMLP_CLIP_DEFAULT})

/* SGD with Keras's defaults (lr 0.01). */
#define BNMLP_OPTIMIZER_SGD_DEFAULT BNMLP_OPTIMIZER_OF(BNMLP_OPTIMIZER_SGD)
/* Adam with PyTorch's defaults (lr 0.001). */
#define BNMLP_OPTIMIZER_ADAM_DEFAULT BNMLP_OPTIMIZER_OF(BNMLP_OPTIMIZER_ADAM)
/* AdamW with PyTorch's defaults (lr 0.001, weight_decay 0.01). */
#define BNMLP_OPTIMIZER_ADAMW_DEFAULT                                                                        \
    ((bnmlp_optimizer_config){.kind = BNMLP_OPTIMIZER_ADAMW,                                                 \
                              .sgd = BNMLP_SGD_DEFAULT,                                                      \
                              .adam = {.learning_rate = 0.001f,                                              \
                                       .beta1 = 0.9f,                                                        \
                                       .beta2 = 0.999f,                                                      \
                                       .epsilon = 1e-8f,                                                     \
                                       .epsilon_placement = BNMLP_ADAM_EPSILON_PYTORCH,                      \
                                       .weight_decay = 0.01f,                                                \
                                       .decay_kernels_only = false},                                         \
                              .rmsprop = BNMLP_RMSPROP_DEFAULT,                                              \
                              .clip = BNMLP_CLIP_DEFAULT})
/* RMSprop with PyTorch's defaults (lr 0.01, alpha 0.99, epsilon 1e-8). */
#define BNMLP_OPTIMIZER_RMSPROP_DEFAULT BNMLP_OPTIMIZER_OF(BNMLP_OPTIMIZER_RMSPROP)
/* The default optimizer: SGD with Keras's defaults. */
#define BNMLP_OPTIMIZER_DEFAULT BNMLP_OPTIMIZER_SGD_DEFAULT

/* The number of optimizers: every kind from 0 to bnmlp_optimizer_count() - 1 is one. */
size_t bnmlp_optimizer_count(void);

/* An optimizer's name: "sgd", "adam", "adamw", "rmsprop"; "unknown" for any other value. */
const char *bnmlp_optimizer_name(bnmlp_optimizer_kind kind);

/* The optimizer named name (as bnmlp_optimizer_name gives it) into *kind;
 * BNMLP_ERR_INVALID_ARGUMENT (*kind untouched) for another name. */
bnmlp_status bnmlp_optimizer_from_name(const char *name, bnmlp_optimizer_kind *kind);

/* kind's defaults into *config (BNMLP_OPTIMIZER_SGD_DEFAULT, ..._ADAM_DEFAULT, ...);
 * BNMLP_ERR_INVALID_ARGUMENT for an unknown kind. */
bnmlp_status bnmlp_optimizer_defaults(bnmlp_optimizer_kind kind, bnmlp_optimizer_config *config);

/* BNMLP_OK when every setting of the configuration's kind is in its documented range;
 * BNMLP_ERR_NULL_ARGUMENT, else BNMLP_ERR_INVALID_ARGUMENT. */
bnmlp_status bnmlp_optimizer_check(const bnmlp_optimizer_config *config);

/* The settings of an optimizer by name, for programs that take them as text (the CLI): index
 * runs from 0 until NULL. Names: "learning_rate", "momentum", "nesterov", "weight_decay",
 * "decay_kernels_only" (sgd); "learning_rate", "beta1", "beta2", "epsilon", "weight_decay",
 * "decay_kernels_only" (adam, adamw); "learning_rate", "rho" (alpha), "epsilon", "momentum",
 * "centered", "weight_decay", "decay_kernels_only" (rmsprop); then, for every kind, "clipnorm",
 * "clipvalue", "global_clipnorm" (bnmlp_clip_config). NULL for an unknown kind. */
const char *bnmlp_optimizer_setting(bnmlp_optimizer_kind kind, size_t index);

/* True when setting index of kind is a switch (a bool: nesterov, centered, decay_kernels_only);
 * false for a number (an enumeration such as epsilon_placement counts as a number) or for no
 * setting. */
bool bnmlp_optimizer_setting_is_switch(bnmlp_optimizer_kind kind, size_t index);

/* Sets setting name of config->kind's configuration to value (a bool setting: 0 false, else
 * true); BNMLP_ERR_INVALID_ARGUMENT when that optimizer has no such setting. The range is
 * checked by bnmlp_optimizer_check, not here. */
bnmlp_status bnmlp_optimizer_set(bnmlp_optimizer_config *config, const char *name, double value);

/* The value of setting name of config->kind's configuration into *value (bools as 0 or 1);
 * BNMLP_ERR_INVALID_ARGUMENT when that optimizer has no such setting. */
bnmlp_status bnmlp_optimizer_get(const bnmlp_optimizer_config *config, const char *name, double *value);

/* How a forward pass treats batch normalization. */
typedef enum bnmlp_mode {
    BNMLP_MODE_INFERENCE = 0, /* moving statistics normalize; nothing is updated */
    BNMLP_MODE_TRAINING       /* batch statistics normalize; moving statistics are updated */
} bnmlp_mode;

/* ------------------------------------------------------------------------------------------ */
/* Metric kinds (declared here for fit and its controls; accumulators in "Metrics" below)    */
/* ------------------------------------------------------------------------------------------ */

/* Metric kinds; names are Keras's where Keras has the metric (bnmlp_metric_name). */
typedef enum bnmlp_metric {
    BNMLP_METRIC_ACCURACY = 0,        /* "accuracy": binary, p > 0.5 is class 1 (the library's
                                         accuracy); multiclass, argmax equals the target class */
    BNMLP_METRIC_PRECISION,           /* "precision": binary, TP / (TP + FP); 0 when nothing is
                                         predicted positive (Keras; sklearn zero_division=0) */
    BNMLP_METRIC_RECALL,              /* "recall": binary, TP / (TP + FN); 0 without positives */
    BNMLP_METRIC_F1,                  /* "f1_score": binary, 2TP / (2TP + FP + FN), 0 when TP is 0
                                         (sklearn f1_score, zero_division=0) */
    BNMLP_METRIC_AUC,                 /* "auc": binary, Keras's AUC(): num_thresholds (default 200)
                                         evenly spaced thresholds with epsilon ends, ROC, Riemann
                                         sum with summation_method "interpolation"; 0 when the
                                         rows hold one class only (as Keras) */
    BNMLP_METRIC_ROC_AUC,             /* "roc_auc": binary, the exact ROC AUC of
                                         sklearn.metrics.roc_auc_score (ties as sklearn: one ROC
                                         point per distinct score); keeps a copy of every score
                                         (max_rows); NaN when the rows hold one class only */
    BNMLP_METRIC_CONFUSION_MATRIX,    /* "confusion_matrix": binary (2 x 2) or multiclass (K x K);
                                         not a scalar: read it with bnmlp_metric_confusion_matrix */
    BNMLP_METRIC_TOP_K_ACCURACY,      /* "top_k_categorical_accuracy": multiclass, the target
                                         class is among the top_k outputs; ties at the k-th value
                                         count as in (Keras's in_top_k: fewer than k outputs are
                                         strictly greater than the target's) */
    BNMLP_METRIC_F1_MACRO,            /* "f1_macro": multiclass, sklearn f1_score(average="macro",
                                         zero_division=0): the mean of the per-class F1 over the
                                         classes present in the targets or the predictions */
    BNMLP_METRIC_F1_WEIGHTED,         /* "f1_weighted": multiclass, sklearn average="weighted":
                                         per-class F1 weighted by each class's count in the targets */
    BNMLP_METRIC_MEAN_ABSOLUTE_ERROR, /* "mean_absolute_error": regression, mean of |o - y| */
    BNMLP_METRIC_RMSE,                /* "root_mean_squared_error": regression, sqrt of the mean of
                                         (o - y)^2 over all elements (Keras's RootMeanSquaredError) */
    BNMLP_METRIC_R2                   /* "r2_score": regression, sklearn r2_score: per output
                                         1 - SS_res / SS_tot, uniform mean over outputs; an output
                                         whose targets are constant scores 1 when predicted
                                         exactly, else 0 (force_finite); NaN with fewer than 2 rows */
} bnmlp_metric;

/* What a model's outputs and targets are, for a metric. */
typedef enum bnmlp_metric_task {
    BNMLP_METRIC_TASK_BINARY = 0, /* probabilities against 0/1 targets (binary cross-entropy) */
    BNMLP_METRIC_TASK_MULTICLASS, /* K class scores against class indices or one-hot rows
                                     (categorical cross-entropy) */
    BNMLP_METRIC_TASK_REGRESSION  /* values against values (mean squared error) */
} bnmlp_metric_task;

/* The metric task of a model trained with loss into *task: binary cross-entropy binary,
 * categorical cross-entropy multiclass, mean squared error regression (a column of the loss
 * table). BNMLP_ERR_NULL_ARGUMENT, or BNMLP_ERR_INVALID_ARGUMENT (*task untouched) for a value
 * that is no loss. */
bnmlp_status bnmlp_loss_metric_task(bnmlp_loss loss, bnmlp_metric_task *task);

/* ------------------------------------------------------------------------------------------ */
/* fit's training controls: learning-rate schedules, early stopping, reduce-LR-on-plateau     */
/* ------------------------------------------------------------------------------------------ */
/*
 * Keras's callbacks and PyTorch's schedulers as data in bnmlp_fit_config (docs/training.md has
 * the formulas, defaults and differences). Each decision is also a plain function over numbers
 * (bnmlp_schedule_value, bnmlp_early_stopping_update, bnmlp_plateau_update), so a program or a
 * test can drive it without training.
 */

/* Which learning-rate schedule. t counts from 0: optimizer steps (fit's steps over the model's
 * epochs, see bnmlp_fit_config) for the per-step kinds, completed epochs for the per-epoch ones
 * (bnmlp_schedule_config.unit can change that). base is the schedule's starting rate. */
typedef enum bnmlp_schedule_kind {
    /* "constant": base (no schedule; the default). */
    BNMLP_SCHEDULE_CONSTANT = 0,
    /* "exponential" (Keras ExponentialDecay, per step): base * decay_rate^(t / decay_steps), the
     * exponent floored with staircase. */
    BNMLP_SCHEDULE_EXPONENTIAL,
    /* "piecewise" (Keras PiecewiseConstantDecay, per step): values[i] for the first i with
     * t <= milestones[i], else values[milestone_count] (base is not used). */
    BNMLP_SCHEDULE_PIECEWISE,
    /* "cosine" (Keras CosineDecay, per step): without warmup (warmup_steps 0)
     * base * ((1 - alpha) * (1 + cos(pi * min(t, decay_steps) / decay_steps)) / 2 + alpha); with
     * warmup, a line from base to warmup_target over warmup_steps, then the same decay from
     * warmup_target over t - warmup_steps (clamped at decay_steps). */
    BNMLP_SCHEDULE_COSINE,
    /* "step" (PyTorch StepLR, per epoch): base * gamma^floor(t / step_size). */
    BNMLP_SCHEDULE_STEP,
    /* "multistep" (PyTorch MultiStepLR, per epoch): base * gamma^(milestones <= t). */
    BNMLP_SCHEDULE_MULTISTEP,
    /* "exponential_lr" (PyTorch ExponentialLR, per epoch): base * gamma^t. */
    BNMLP_SCHEDULE_EXPONENTIAL_LR,
    /* "cosine_annealing" (PyTorch CosineAnnealingLR, per epoch): eta_min + (base - eta_min) *
     * (1 + cos(pi * t / t_max)) / 2, not clamped: past t_max it rises again, as PyTorch's. */
    BNMLP_SCHEDULE_COSINE_ANNEALING,
    /* "one_cycle" (PyTorch OneCycleLR, two phases, cosine annealing; per epoch by default, per
     * batch in PyTorch's examples: set unit): from max_lr / div_factor up to max_lr at
     * t = pct_start * total_steps - 1, then down to max_lr / div_factor / final_div_factor at
     * t = total_steps - 1; later t keep the last rate (PyTorch raises). The momentum cycling of
     * OneCycleLR is left out. base is not used. */
    BNMLP_SCHEDULE_ONE_CYCLE
} bnmlp_schedule_kind;

/* What t of a schedule counts. */
typedef enum bnmlp_schedule_unit {
    BNMLP_SCHEDULE_UNIT_DEFAULT = 0, /* the kind's own: steps (Keras kinds), epochs (PyTorch kinds) */
    BNMLP_SCHEDULE_UNIT_STEP,        /* optimizer steps */
    BNMLP_SCHEDULE_UNIT_EPOCH        /* epochs */
} bnmlp_schedule_unit;

/* The most milestones (boundaries) a schedule takes. */
#define BNMLP_SCHEDULE_MAX_MILESTONES 16

/* A learning-rate schedule. Only the fields of its kind are used (and checked). */
typedef struct bnmlp_schedule_config {
    bnmlp_schedule_kind kind;     /* default BNMLP_SCHEDULE_CONSTANT */
    bnmlp_schedule_unit unit;     /* default BNMLP_SCHEDULE_UNIT_DEFAULT */
    double initial_learning_rate; /* base, > 0 and finite, or 0 for the optimizer configuration's
                                     learning rate (fit; a fit that continues a checkpoint's
                                     schedule uses the base it stored). Default 0 */
    uint64_t decay_steps;         /* exponential, cosine: > 0. Default 1000 */
    double decay_rate;            /* exponential: > 0. Default 0.96 */
    bool staircase;               /* exponential: floor the exponent. Default false */
    double alpha;                 /* cosine: the floor as a fraction of the rate, in [0, 1]. Default 0 */
    uint64_t warmup_steps;        /* cosine: steps of linear warmup (0: none). Default 0 */
    double warmup_target;         /* cosine with warmup: the rate reached, > 0. Default 0.001 */
    uint64_t step_size;           /* step: > 0. Default 30 */
    double gamma;                 /* step, multistep, exponential_lr: the factor, > 0. Default 0.1 */
    /* piecewise, multistep: strictly increasing t (the first milestone_count entries). */
    uint64_t milestones[BNMLP_SCHEDULE_MAX_MILESTONES];
    /* piecewise (>= 1), multistep (>= 0): milestones used. Default 0 */
    size_t milestone_count;
    /* piecewise: milestone_count + 1 rates, each > 0 and finite. */
    double values[BNMLP_SCHEDULE_MAX_MILESTONES + 1];
    uint64_t t_max;          /* cosine_annealing: the half period, > 0. Default 10 */
    double eta_min;          /* cosine_annealing: the lowest rate, >= 0. Default 0 */
    double max_lr;           /* one_cycle: the peak, > 0. Default 0.1 */
    uint64_t total_steps;    /* one_cycle: > 1, with 1 < pct_start * total_steps. Default 100 */
    double pct_start;        /* one_cycle: the rising fraction, in (0, 1). Default 0.3 */
    double div_factor;       /* one_cycle: max_lr / starting rate, > 0. Default 25 */
    double final_div_factor; /* one_cycle: starting rate / final rate, > 0. Default 1e4 */
} bnmlp_schedule_config;

/* No schedule, with every kind's defaults (Keras's and PyTorch's) filled in. */
#define BNMLP_SCHEDULE_DEFAULT                                                                               \
    ((bnmlp_schedule_config){.kind = BNMLP_SCHEDULE_CONSTANT,                                                \
                             .unit = BNMLP_SCHEDULE_UNIT_DEFAULT,                                            \
                             .initial_learning_rate = 0.0,                                                   \
                             .decay_steps = 1000,                                                            \
                             .decay_rate = 0.96,                                                             \
                             .staircase = false,                                                             \
                             .alpha = 0.0,                                                                   \
                             .warmup_steps = 0,                                                              \
                             .warmup_target = 0.001,                                                         \
                             .step_size = 30,                                                                \
                             .gamma = 0.1,                                                                   \
                             .milestone_count = 0,                                                           \
                             .t_max = 10,                                                                    \
                             .eta_min = 0.0,                                                                 \
                             .max_lr = 0.1,                                                                  \
                             .total_steps = 100,                                                             \
                             .pct_start = 0.3,                                                               \
                             .div_factor = 25.0,                                                             \
                             .final_div_factor = 1e4})

/* The number of schedule kinds: every kind from 0 to bnmlp_schedule_count() - 1 is one. */
size_t bnmlp_schedule_count(void);

/* A schedule's name ("constant", "exponential", ...; see bnmlp_schedule_kind); "unknown" for any
 * other value. */
const char *bnmlp_schedule_name(bnmlp_schedule_kind kind);

/* The schedule named name into *kind; BNMLP_ERR_INVALID_ARGUMENT (*kind untouched) otherwise. */
bnmlp_status bnmlp_schedule_from_name(const char *name, bnmlp_schedule_kind *kind);

/* True when kind's t counts optimizer steps by default (the Keras kinds and constant), false for
 * epochs (the PyTorch kinds). */
bool bnmlp_schedule_counts_steps(bnmlp_schedule_kind kind);

/* BNMLP_OK when the fields of config's kind are in range (initial_learning_rate 0 allowed);
 * BNMLP_ERR_NULL_ARGUMENT, else BNMLP_ERR_INVALID_ARGUMENT. */
bnmlp_status bnmlp_schedule_check(const bnmlp_schedule_config *config);

/* The learning rate of a checked schedule at t into *learning_rate, computed in double (fit
 * rounds it to the optimizer's float32), from base (used when config->initial_learning_rate is 0;
 * > 0 and finite). BNMLP_ERR_INVALID_ARGUMENT for a bad config or base. */
bnmlp_status bnmlp_schedule_value(const bnmlp_schedule_config *config, double base, uint64_t t,
                                  double *learning_rate);

/* A quantity fit records per epoch, which early stopping and reduce-LR-on-plateau can watch. */
typedef enum bnmlp_monitor {
    BNMLP_MONITOR_VAL_LOSS = 0, /* "val_loss" (needs validation data); direction min */
    BNMLP_MONITOR_LOSS,         /* "loss"; min */
    BNMLP_MONITOR_VAL_ACCURACY, /* "val_accuracy" (validation, a loss with an accuracy); max */
    BNMLP_MONITOR_ACCURACY,     /* "accuracy" (a loss with an accuracy); max */
    BNMLP_MONITOR_VAL_METRIC,   /* "val_metric": the control's `metric` in the record's
                                   val_metrics (validation data, and the metric among
                                   bnmlp_fit_config.metrics: its first occurrence); direction: the
                                   metric's (bnmlp_metric_info.greater_is_better), as Keras 3 takes
                                   a compiled metric's own direction (val_auc: max) */
    BNMLP_MONITOR_METRIC        /* "metric": the control's `metric` in the record's metrics (the
                                   epoch's training batches); direction: the metric's */
} bnmlp_monitor;

/* A monitor's name as above ("unknown" for another value), and the reverse
 * (BNMLP_ERR_INVALID_ARGUMENT, *monitor untouched, for an unknown name; "acc" and "val_acc" are
 * accepted as Keras 2's names). */
const char *bnmlp_monitor_name(bnmlp_monitor monitor);
bnmlp_status bnmlp_monitor_from_name(const char *name, bnmlp_monitor *monitor);

/* Which way a monitored quantity improves. */
typedef enum bnmlp_direction {
    BNMLP_DIRECTION_AUTO = 0, /* Keras's "auto": max for accuracies, min for losses */
    BNMLP_DIRECTION_MIN,      /* lower is better */
    BNMLP_DIRECTION_MAX       /* higher is better */
} bnmlp_direction;

/* Early stopping (Keras 3 EarlyStopping). At the end of every epoch e (0-based over the model's
 * epochs, as Keras's epoch with initial_epoch) from start_from_epoch on, wait grows by 1; a value
 * better than the best by more than |min_delta| becomes the best (and with restore_best_weights
 * the weights are kept), and resets wait to 0 unless a baseline is set and not beaten by more than
 * |min_delta|; otherwise training stops when wait >= patience and e > 0. With
 * restore_best_weights the weights (parameters and moving statistics) of the best epoch, or of
 * the first monitored epoch when none improved, are put back when fit ends, whether or not it
 * stopped early (Keras 3; Keras 2 only when it stopped). */
typedef struct bnmlp_early_stopping_config {
    bool enabled;              /* default false */
    bnmlp_monitor monitor;     /* default BNMLP_MONITOR_VAL_LOSS */
    bnmlp_metric metric;       /* the metric a monitor val_metric or metric watches (a scalar
                                  kind); unused otherwise. Default BNMLP_METRIC_ACCURACY */
    bnmlp_direction mode;      /* default BNMLP_DIRECTION_AUTO */
    double min_delta;          /* the least change that counts (its sign is ignored), finite. Default 0 */
    size_t patience;           /* epochs without improvement before stopping. Default 0 */
    bool has_baseline;         /* use baseline. Default false (Keras's None) */
    double baseline;           /* a value the monitor must beat, finite. Default 0 (unused) */
    size_t start_from_epoch;   /* epochs (0-based index) before monitoring starts. Default 0 */
    bool restore_best_weights; /* put the best epoch's weights back when fit ends. Default false */
} bnmlp_early_stopping_config;

/* Keras's EarlyStopping() defaults, disabled. */
#define BNMLP_EARLY_STOPPING_DEFAULT                                                                         \
    ((bnmlp_early_stopping_config){.enabled = false,                                                         \
                                   .monitor = BNMLP_MONITOR_VAL_LOSS,                                        \
                                   .metric = BNMLP_METRIC_ACCURACY,                                          \
                                   .mode = BNMLP_DIRECTION_AUTO,                                             \
                                   .min_delta = 0.0,                                                         \
                                   .patience = 0,                                                            \
                                   .has_baseline = false,                                                    \
                                   .baseline = 0.0,                                                          \
                                   .start_from_epoch = 0,                                                    \
                                   .restore_best_weights = false})

/* Early stopping's running state (plain numbers: bnmlp_early_stopping_begin starts it). */
typedef struct bnmlp_early_stopping_state {
    double best;       /* the best value so far (+-infinity before the first) */
    size_t wait;       /* epochs since the last improvement (Keras's wait) */
    size_t best_epoch; /* 0-based epoch of the best value (or of the first monitored epoch) */
    bool has_best;     /* an epoch has been monitored (the weights to restore exist) */
    bool stopped;      /* training was stopped */
} bnmlp_early_stopping_state;

/* BNMLP_OK when the config is usable (monitor, mode known; min_delta, baseline finite). */
bnmlp_status bnmlp_early_stopping_check(const bnmlp_early_stopping_config *config);

/* Starts the state (Keras's on_train_begin and monitor setup). */
bnmlp_status bnmlp_early_stopping_begin(const bnmlp_early_stopping_config *config,
                                        bnmlp_early_stopping_state *state);

/* True when a and b have the same settings (every field, doubles bit for bit): what decides
 * whether a resumed fit continues a checkpoint's schedule (bnmlp_model_fit). False when only one
 * is NULL. */
bool bnmlp_schedule_equal(const bnmlp_schedule_config *a, const bnmlp_schedule_config *b);

/* True when both are disabled, or both enabled with the same settings (every field but enabled,
 * doubles bit for bit); false when only one is NULL. */
bool bnmlp_early_stopping_equal(const bnmlp_early_stopping_config *a, const bnmlp_early_stopping_config *b);

/* One epoch's end: epoch is its 0-based index, value the monitored quantity (finite). *keep (may
 * be NULL) gets whether the current weights are to be kept as the best (the first monitored
 * epoch, or an improvement), *stop whether training stops. Epochs before start_from_epoch change
 * nothing. BNMLP_ERR_INVALID_ARGUMENT for a value that is not finite. */
bnmlp_status bnmlp_early_stopping_update(const bnmlp_early_stopping_config *config,
                                         bnmlp_early_stopping_state *state, size_t epoch, double value,
                                         bool *keep, bool *stop);

/* Whose rules reduce-LR-on-plateau follows. */
typedef enum bnmlp_plateau_style {
    BNMLP_PLATEAU_KERAS = 0, /* Keras ReduceLROnPlateau: better means beyond best by threshold
                                (absolute); in cooldown the counter decrements and wait is 0; else a
                                worse epoch adds 1 to wait, and wait >= patience reduces the rate when
                                it is above min_lr (then cooldown starts, wait 0) */
    BNMLP_PLATEAU_PYTORCH    /* torch.optim.lr_scheduler.ReduceLROnPlateau: better per
                                threshold_mode; bad epochs count, are zeroed in cooldown, and more
                                than patience of them reduce the rate (max(lr * factor, min_lr),
                                skipped when the change is not above eps) */
} bnmlp_plateau_style;

/* How PyTorch's plateau compares with the best value. */
typedef enum bnmlp_threshold_mode {
    BNMLP_THRESHOLD_REL = 0, /* min: a < best * (1 - threshold); max: a > best * (1 + threshold) */
    BNMLP_THRESHOLD_ABS      /* min: a < best - threshold; max: a > best + threshold (Keras's only one) */
} bnmlp_threshold_mode;

/* Reduce the learning rate when a monitored quantity stops improving (once per epoch). */
typedef struct bnmlp_plateau_config {
    bool enabled;                        /* default false */
    bnmlp_plateau_style style;           /* default BNMLP_PLATEAU_KERAS */
    bnmlp_monitor monitor;               /* default BNMLP_MONITOR_VAL_LOSS */
    bnmlp_metric metric;                 /* as bnmlp_early_stopping_config's. Default accuracy */
    bnmlp_direction mode;                /* auto: min for losses, max for accuracies, a metric's own
                                            direction. Default auto */
    double factor;                       /* new rate = rate * factor, in (0, 1). Default 0.1 */
    size_t patience;                     /* see the style. Default 10 */
    double threshold;                    /* Keras's min_delta / PyTorch's threshold, >= 0. Default 1e-4 */
    bnmlp_threshold_mode threshold_mode; /* PyTorch style only (Keras: absolute). Default rel */
    size_t cooldown;                     /* epochs after a reduction with wait held at 0. Default 0 */
    double min_lr;                       /* the lowest rate, >= 0. Default 0 */
    double eps;                          /* PyTorch style: smallest applied change, >= 0. Default 1e-8 */
} bnmlp_plateau_config;

/* Keras's ReduceLROnPlateau() defaults, disabled. */
#define BNMLP_PLATEAU_DEFAULT                                                                                \
    ((bnmlp_plateau_config){.enabled = false,                                                                \
                            .style = BNMLP_PLATEAU_KERAS,                                                    \
                            .monitor = BNMLP_MONITOR_VAL_LOSS,                                               \
                            .metric = BNMLP_METRIC_ACCURACY,                                                 \
                            .mode = BNMLP_DIRECTION_AUTO,                                                    \
                            .factor = 0.1,                                                                   \
                            .patience = 10,                                                                  \
                            .threshold = 1e-4,                                                               \
                            .threshold_mode = BNMLP_THRESHOLD_REL,                                           \
                            .cooldown = 0,                                                                   \
                            .min_lr = 0.0,                                                                   \
                            .eps = 1e-8})

/* PyTorch's ReduceLROnPlateau() defaults (mode min, relative threshold 1e-4), disabled. */
#define BNMLP_PLATEAU_PYTORCH_DEFAULT                                                                        \
    ((bnmlp_plateau_config){.enabled = false,                                                                \
                            .style = BNMLP_PLATEAU_PYTORCH,                                                  \
                            .monitor = BNMLP_MONITOR_VAL_LOSS,                                               \
                            .metric = BNMLP_METRIC_ACCURACY,                                                 \
                            .mode = BNMLP_DIRECTION_MIN,                                                     \
                            .factor = 0.1,                                                                   \
                            .patience = 10,                                                                  \
                            .threshold = 1e-4,                                                               \
                            .threshold_mode = BNMLP_THRESHOLD_REL,                                           \
                            .cooldown = 0,                                                                   \
                            .min_lr = 0.0,                                                                   \
                            .eps = 1e-8})

/* Reduce-LR-on-plateau's running state. */
typedef struct bnmlp_plateau_state {
    double best;             /* the best value so far (+-infinity at the start) */
    size_t wait;             /* Keras's wait / PyTorch's num_bad_epochs */
    size_t cooldown_counter; /* epochs of cooldown left */
} bnmlp_plateau_state;

/* As bnmlp_early_stopping_equal, for reduce-LR-on-plateau. */
bool bnmlp_plateau_equal(const bnmlp_plateau_config *a, const bnmlp_plateau_config *b);

/* BNMLP_OK when the config is usable (ranges above). */
bnmlp_status bnmlp_plateau_check(const bnmlp_plateau_config *config);

/* Starts the state. */
bnmlp_status bnmlp_plateau_begin(const bnmlp_plateau_config *config, bnmlp_plateau_state *state);

/* One epoch's end with the monitored value (finite): *learning_rate (> 0) is the current rate and
 * gets the new one; *reduced (may be NULL) whether it changed. BNMLP_ERR_INVALID_ARGUMENT for a
 * value or rate that is not finite. */
bnmlp_status bnmlp_plateau_update(const bnmlp_plateau_config *config, bnmlp_plateau_state *state,
                                  double value, double *learning_rate, bool *reduced);

/* ------------------------------------------------------------------------------------------ */
/* fit                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* Why fit ended after an epoch (bnmlp_epoch_record.stop). */
typedef enum bnmlp_fit_stop {
    BNMLP_STOP_NONE = 0,       /* no control ended fit: it goes on, or this was the last epoch */
    BNMLP_STOP_EARLY_STOPPING, /* early stopping ended it */
    BNMLP_STOP_EPOCH_CALLBACK, /* on_epoch_end returned false */
    BNMLP_STOP_BATCH_CALLBACK  /* on_batch_end returned false: the epoch ended after that batch */
} bnmlp_fit_stop;

/* Most metrics fit records per epoch (bnmlp_fit_config.metrics) and bnmlp_model_evaluate_metrics
 * computes in one call. */
#define BNMLP_FIT_MAX_METRICS 8

/* Metrics of one epoch, as Keras's History reports them, and what fit's controls did. */
typedef struct bnmlp_epoch_record {
    size_t epoch;          /* 1-based epoch number */
    double loss;           /* training loss: batch-size-weighted mean over the epoch, training mode */
    double accuracy;       /* training accuracy, likewise (see bnmlp_loss); NaN for mean squared error */
    double val_loss;       /* validation loss in inference mode after the epoch; NaN without validation */
    double val_accuracy;   /* validation accuracy likewise; NaN without validation or for MSE */
    double learning_rate;  /* the rate of the epoch's last step (as the optimizer's float32) */
    size_t steps;          /* optimizer steps made in the epoch */
    size_t best_epoch;     /* early stopping's best epoch so far (1-based); 0 without early stopping
                              or before it monitors */
    bnmlp_fit_stop stop;   /* whether and why fit ended after this epoch */
    size_t restored_epoch; /* in the history's last record only: the 1-based epoch whose weights
                              early stopping put back when fit ended; else 0 */
    double metrics[BNMLP_FIT_MAX_METRICS];     /* metrics[i]: bnmlp_fit_config.metrics[i] over the
                                                  epoch's trained rows, as Keras's compiled metrics:
                                                  accumulated over the epoch's batches (reset when it
                                                  starts) from the training-mode outputs each step's
                                                  loss used, before its update; not a mean of
                                                  per-batch values. NaN for i >= metric_count, when
                                                  the metric is not defined (bnmlp_metric_value), or
                                                  when a batch's outputs were not all finite */
    double val_metrics[BNMLP_FIT_MAX_METRICS]; /* the same metrics over every validation row in
                                                  inference mode after the epoch (the outputs
                                                  val_loss uses); NaN without validation, and as
                                                  metrics */
} bnmlp_epoch_record;

/* Called after every epoch with its record; return false to stop training there. */
typedef bool (*bnmlp_epoch_callback)(const bnmlp_epoch_record *record, void *context);

/* What the per-batch callback is told after each optimizer step. */
typedef struct bnmlp_batch_record {
    size_t epoch;         /* 1-based epoch number */
    size_t batch;         /* 0-based index of the step within the epoch (Keras's batch) */
    size_t batches;       /* steps the epoch will make at most */
    size_t rows;          /* rows of this batch (global, under a collective) */
    double loss;          /* this batch's mean loss, before the update */
    double accuracy;      /* this batch's accuracy; NaN for mean squared error */
    double learning_rate; /* the rate the step used */
} bnmlp_batch_record;

/* Called after every optimizer step; return false to end the epoch there and stop training (the
 * epoch still gets its validation, record and on_epoch_end, as Keras's stop_training). */
typedef bool (*bnmlp_batch_callback)(const bnmlp_batch_record *record, void *context);

/* Arguments of bnmlp_model_fit. */
typedef struct bnmlp_fit_config {
    size_t epochs;                     /* passes over the data, > 0. Default 1 */
    size_t batch_size;                 /* rows per step, > 0 (above the built maximum:
                                          BNMLP_ERR_BATCH_TOO_LARGE). Default 32 */
    bool shuffle;                      /* reshuffle the rows before every epoch. Default true */
    bnmlp_optimizer_config optimizer;  /* the optimizer and its settings. Default
                                            BNMLP_OPTIMIZER_DEFAULT (SGD, lr 0.01) */
    const bnmlp_tensor *validation_x;  /* optional validation inputs (NULL for none) */
    const bnmlp_tensor *validation_y;  /* validation labels: both or neither (else
                                          BNMLP_ERR_NULL_ARGUMENT) */
    bnmlp_epoch_callback on_epoch_end; /* optional; NULL for none */
    void *callback_context;            /* passed to on_epoch_end and on_batch_end */
    size_t initial_epoch;              /* epochs already done when resuming (Keras's initial_epoch): fit
                                          runs epochs initial_epoch + 1 to epochs, numbers its records
                                          so, and continues the row order a checkpoint stored
                                          (bnmlp_model_save_checkpoint) and its controls (see
                                          bnmlp_model_fit). < epochs. Default 0 */
    double validation_split;           /* in [0, 1): fit trains on the first
                                          floor(rows * (1 - validation_split)) rows of (x, y) and
                                          validates on the rest, split before any shuffling
                                          (Keras: 133 rows at 0.1 validate on 14); both parts must
                                          be non-empty, and validation_x must then be NULL (else
                                          BNMLP_ERR_INVALID_ARGUMENT). Default 0 (none) */
    bnmlp_batch_callback on_batch_end; /* optional, after every step; NULL for none */
    bnmlp_schedule_config schedule;    /* the learning rate of every step. Default none
                                          (BNMLP_SCHEDULE_DEFAULT: the optimizer's rate) */
    bnmlp_early_stopping_config early_stopping; /* default disabled (BNMLP_EARLY_STOPPING_DEFAULT) */
    bnmlp_plateau_config reduce_lr;             /* reduce-LR-on-plateau; default disabled
                                          (BNMLP_PLATEAU_DEFAULT). Not with a schedule other than
                                          constant (BNMLP_ERR_INVALID_ARGUMENT; Keras refuses too) */
    bnmlp_loss_weights weights;                 /* class and sample weights of the training loss
                                          (bnmlp_loss_weights; sample_weights has x->rows entries,
                                          row i the weight of x's row i wherever the shuffle puts
                                          it). Under a collective, sum(w) is the global batch's
                                          (every rank holds the whole data). Default none
                                          (BNMLP_LOSS_WEIGHTS_DEFAULT) */
    const float *validation_sample_weights;     /* (validation_x rows) the validation rows' sample
                                          weights, or NULL. As Keras: class weights never apply to
                                          validation; validation_x's rows are unweighted unless
                                          these are given (Keras's validation_data=(x, y, w));
                                          with validation_split the split rows keep their
                                          entries of weights.sample_weights (Keras splits
                                          sample_weight too) and this must be NULL (else
                                          BNMLP_ERR_INVALID_ARGUMENT, as without validation_x).
                                          Weighted validation rows give the loss of
                                          bnmlp_model_evaluate_weighted with weights.normalization.
                                          Default NULL */
    const bnmlp_metric *metrics;                /* metric_count metrics to record per epoch in
                                          bnmlp_epoch_record.metrics and .val_metrics (Keras's
                                          compile(metrics=[...])), each with its kind's defaults
                                          (top_k 5, num_thresholds 200; roc_auc keeps every row
                                          of the set). Each must be a scalar metric of the model's
                                          task (bnmlp_loss_metric_task) (a kind may repeat); else
                                          BNMLP_ERR_INVALID_ARGUMENT before anything changes (NULL
                                          with metric_count > 0: BNMLP_ERR_NULL_ARGUMENT). Their
                                          accumulators are allocated through the model's
                                          allocator before the first epoch and freed when fit
                                          returns. Default NULL */
    size_t metric_count;                        /* 0 .. BNMLP_FIT_MAX_METRICS (else
                                          BNMLP_ERR_INVALID_ARGUMENT). Default 0: none */
} bnmlp_fit_config;

/* Keras's fit() defaults: 1 epoch, batch 32, shuffled, SGD(0.01), no validation, no controls. */
#define BNMLP_FIT_DEFAULT                                                                                    \
    ((bnmlp_fit_config){.epochs = 1,                                                                         \
                        .batch_size = 32,                                                                    \
                        .shuffle = true,                                                                     \
                        .optimizer = BNMLP_OPTIMIZER_DEFAULT,                                                \
                        .validation_x = NULL,                                                                \
                        .validation_y = NULL,                                                                \
                        .on_epoch_end = NULL,                                                                \
                        .callback_context = NULL,                                                            \
                        .initial_epoch = 0,                                                                  \
                        .validation_split = 0.0,                                                             \
                        .on_batch_end = NULL,                                                                \
                        .schedule = BNMLP_SCHEDULE_DEFAULT,                                                  \
                        .early_stopping = BNMLP_EARLY_STOPPING_DEFAULT,                                      \
                        .reduce_lr = BNMLP_PLATEAU_DEFAULT,                                                  \
                        .weights = BNMLP_LOSS_WEIGHTS_DEFAULT,                                               \
                        .validation_sample_weights = NULL,                                                   \
                        .metrics = NULL,                                                                     \
                        .metric_count = 0})

/* ------------------------------------------------------------------------------------------ */
/* The sequential model                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* An opaque sequential model: layers added in order, then built once for a maximum batch. */
typedef struct bnmlp_model bnmlp_model;

/* A new empty model taking input_width (> 0) features; NULL with *status on error. */
bnmlp_model *bnmlp_model_create(size_t input_width, bnmlp_status *status);

/* As bnmlp_model_create, with every allocation of the model going through *allocator (copied;
 * NULL means malloc and free). */
bnmlp_model *bnmlp_model_create_with_allocator(size_t input_width, const bnmlp_allocator *allocator,
                                               bnmlp_status *status);

/* Frees a model and everything it allocated; NULL is a no-op. */
void bnmlp_model_free(bnmlp_model *model);

/* Appends a dense layer (and, if config->activation is not linear, an activation layer). */
bnmlp_status bnmlp_model_add_dense(bnmlp_model *model, const bnmlp_dense_config *config);

/* Appends an activation layer; alpha is leaky_relu's slope below 0 or elu's scale below 0, used
 * only by those two but required to be finite for every kind. */
bnmlp_status bnmlp_model_add_activation(bnmlp_model *model, bnmlp_activation activation, float alpha);

/* Appends a batch-normalization layer. */
bnmlp_status bnmlp_model_add_batchnorm(bnmlp_model *model, const bnmlp_batchnorm_config *config);

/* Appends a normalization layer (Keras's Normalization): per feature,
 *   y = (x - mean) / max(sqrt(variance), 1e-7)
 * in both modes; its input gradient is dy / max(sqrt(variance), 1e-7). mean and variance are
 * its two arrays BNMLP_WEIGHT_MOVING_MEAN and BNMLP_WEIGHT_MOVING_VARIANCE (features each; mean
 * 0 and variance 1, the identity, until set): set by bnmlp_model_adapt from data or directly by
 * bnmlp_model_set_weights, read by bnmlp_model_get_weights, saved in the model file as the
 * statistics block; no trainable parameter, never changed by training. */
bnmlp_status bnmlp_model_add_normalization(bnmlp_model *model);

/* Appends a dropout layer (inverted dropout, Keras's Dropout(rate) and PyTorch's Dropout(p)): in
 * training mode each element is kept with probability 1 - rate and then divided by 1 - rate, or
 * set to 0; in inference mode the layer is the identity. rate in [0, 1) (else
 * BNMLP_ERR_INVALID_ARGUMENT; 0 is exactly the identity). The mask is a pure function of (seed,
 * step, the layer's index in the model, the row's index in the global batch, the column): step
 * is the layer's count of committed training steps (a training-mode bnmlp_model_forward, a
 * bnmlp_model_train_step or a step of fit that succeeds counts one; a refused or diverged step,
 * bnmlp_model_loss_gradients and inference count none), saved in the model file. Masks are
 * therefore bit-identical for every thread count and across a checkpoint resume; backward
 * regenerates the forward's mask (nothing is cached). Under a collective a rank's rows are
 * keyed by their index in the global batch when each rank holds its bnmlp_model_share of it
 * (as fit hands them out); the layer's trainable flag changes nothing (as in Keras). */
bnmlp_status bnmlp_model_add_dropout(bnmlp_model *model, float rate, uint64_t seed);

/* Sets the loss before build (BNMLP_ERR_ALREADY_BUILT after); build checks that it suits the
 * output (categorical cross-entropy needs 2 outputs or more: BNMLP_ERR_INVALID_ARGUMENT). */
bnmlp_status bnmlp_model_set_loss(bnmlp_model *model, bnmlp_loss loss);

/* The model's loss (BNMLP_LOSS_BINARY_CROSSENTROPY for NULL). */
bnmlp_loss bnmlp_model_loss(const bnmlp_model *model);

/* Allocates every buffer for batches of up to max_batch rows and initializes the weights from
 * RandomState(seed); the same seed also drives fit's shuffling, so it fixes a whole run. The
 * parameters and the optimizer's state are held twice (param_count floats, and 3 param_count
 * floats of state): a training step writes its new values into the second copy in one pass and
 * switches to it only when every value is finite. A dense layer whose products are large enough
 * to be packed at max_batch rows also keeps its kernel packed for them: one more copy of the
 * kernel (in * out floats, rounded up to the GEMM's panel width) for the forward, and, while the
 * model's products are bf16 (bnmlp_model_set_precision plans or releases it), a second one for
 * the input gradient (which the first layer never needs). Inference forwards (predict,
 * evaluate) read them instead of packing the kernel on every call, packing them again after any
 * change of the weights; with bf16 products (bnmlp_model_set_precision) training reads them too,
 * and each training step packs the next step's as it writes the new weights. The results are
 * the same bits either way (bnmlp_model_set_weight_panels switches them off). */
bnmlp_status bnmlp_model_build(bnmlp_model *model, size_t max_batch, uint32_t seed);

/* Sets how many threads the model's matrix products use: 0 = all online cores (the default for
 * new models), 1 = the calling thread only (no thread is ever created), n (<= 1024) = n. Work
 * is split over output tiles only, never over a sum, so results are bit-identical for every
 * count; small products always run on the calling thread. Before build it is remembered; after
 * build it replaces the model's threads and packing buffers (BNMLP_ERR_OUT_OF_MEMORY, or
 * BNMLP_ERR_INVALID_ARGUMENT when a thread cannot be started: nothing changed). The environment
 * variable BNMLP_ISA (portable, avx2, avx512) read when a model is created forces the
 * instruction set of its kernels; one this CPU lacks falls back to the fastest it has. */
bnmlp_status bnmlp_model_set_threads(bnmlp_model *model, size_t threads);

/* The precision of the dense layers' matrix products (mixed precision, PyTorch CPU autocast's
 * split): in BNMLP_PRECISION_BF16 the three products of every dense layer (y = x w + b,
 * dw += x^T dy, dx = dy w^T) round their inputs to bfloat16 (nearest even) and accumulate in
 * float32 with AVX512_BF16's vdpbf16ps arithmetic (on CPUs without it an exact emulation, so the
 * results are bit-identical on every machine, instruction set and thread count); the weights
 * (master copy), gradients, optimizer state, batch norm, activations and the loss stay float32. */
typedef enum bnmlp_precision {
    BNMLP_PRECISION_FP32 = 0, /* float32 products (the default) */
    BNMLP_PRECISION_BF16      /* bf16 inputs, float32 accumulation */
} bnmlp_precision;

/* Sets the model's precision (before or after build, between steps; the packing buffers planned
 * at build serve both; after build it plans or releases the bf16 input gradients' packed kernels,
 * bnmlp_model_build, and when that memory cannot be had the products pack them themselves). Kept in the model file (old files load as float32). BNMLP_ERR_NULL_ARGUMENT,
 * BNMLP_ERR_INVALID_ARGUMENT for a value outside bnmlp_precision (nothing changed). */
bnmlp_status bnmlp_model_set_precision(bnmlp_model *model, bnmlp_precision precision);

/* Whether the dense kernels are kept packed ahead for their products (bnmlp_model_build; default
 * true). false before build plans no such copy (their memory saved); after build the products
 * pack the kernels themselves again (the memory stays until bnmlp_model_free) and true resumes.
 * The results are the same bits either way. Not kept in the model file. BNMLP_ERR_NULL_ARGUMENT. */
bnmlp_status bnmlp_model_set_weight_panels(bnmlp_model *model, bool use);

/* The model's precision; BNMLP_PRECISION_FP32 for NULL and for new models. */
bnmlp_precision bnmlp_model_precision(const bnmlp_model *model);

/* A precision's name: "fp32", "bf16"; "unknown" for any other value. Static strings. */
const char *bnmlp_precision_name(bnmlp_precision precision);

/* The precision named name (as bnmlp_precision_name gives it) into *precision;
 * BNMLP_ERR_INVALID_ARGUMENT (untouched) for another name, BNMLP_ERR_NULL_ARGUMENT for NULL. */
bnmlp_status bnmlp_precision_from_name(const char *name, bnmlp_precision *precision);

/* The threads the model's products use (the count 0 stands for resolved); 0 for NULL. */
size_t bnmlp_model_threads(const bnmlp_model *model);

/* True once bnmlp_model_build has succeeded. */
bool bnmlp_model_is_built(const bnmlp_model *model);

/* The maximum batch the model was built for (0 before build). */
size_t bnmlp_model_max_batch(const bnmlp_model *model);

/* Number of layers (a dense layer with an activation counts as two); 0 for NULL. */
size_t bnmlp_model_layer_count(const bnmlp_model *model);

/* Features in (the input width); 0 for NULL. */
size_t bnmlp_model_input_width(const bnmlp_model *model);

/* Features out of the last layer (the input width when there are no layers); 0 for NULL. */
size_t bnmlp_model_output_width(const bnmlp_model *model);

/* The number of classes the model tells apart: its output width with
 * BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, 2 with BNMLP_LOSS_BINARY_CROSSENTROPY and one output; 0
 * otherwise (no layers, regression, several binary outputs) and for NULL. */
size_t bnmlp_model_class_count(const bnmlp_model *model);

/* Names the model's classes, class i names[i] (e.g. bnmlp_class_names.names from the CSV reader),
 * copied (with the model's allocator) and saved in the model file (docs/model-format.md, section
 * CLAS). count must be bnmlp_model_class_count (BNMLP_ERR_SHAPE otherwise; BNMLP_ERR_INVALID_ARGUMENT
 * when it is 0), each name at most BNMLP_CLASS_NAME_MAX_BYTES bytes and all distinct
 * (BNMLP_ERR_INVALID_ARGUMENT). names NULL with count 0 removes the names. A model has no names
 * until given them; set them after the last layer and the loss (names whose count no longer
 * matches the class count are not saved). On error the model is unchanged. */
bnmlp_status bnmlp_model_set_class_names(bnmlp_model *model, const char *const *names, size_t count);

/* The name of class index (a terminated string owned by the model, valid until the names are set
 * again or the model is freed), or NULL when the model has no names, index is out of range, or
 * model is NULL. */
const char *bnmlp_model_class_name(const bnmlp_model *model, size_t index);

/* Number of learnable parameters (kernels, biases, gammas, betas, frozen or not): the length of
 * the vectors of bnmlp_model_get_params and bnmlp_model_loss_gradients; 0 for NULL. */
size_t bnmlp_model_param_count(const bnmlp_model *model);

/* Describes layer index (0-based, in the order added). */
bnmlp_status bnmlp_model_layer_info(const bnmlp_model *model, size_t index, bnmlp_layer_info *info);

/* Freezes (false) or unfreezes (true) layer index. A frozen layer's parameters are not updated;
 * a frozen batch-norm layer normalizes with its moving statistics and does not update them even
 * in training mode (Keras 3's trainable = False); a frozen dropout layer still drops in training
 * mode (Keras's Dropout ignores trainable); a normalization layer is never trained either way. */
bnmlp_status bnmlp_model_set_trainable(bnmlp_model *model, size_t index, bool trainable);

/* Sets layer index's state from the data x (Keras's adapt): for a normalization layer, the mean
 * and population variance (ddof 0, as numpy's var) of each column of x, computed in double (two
 * passes) and rounded once to float. x is the layer's own input: (rows >= 1, the layer's input
 * width), every value finite (BNMLP_ERR_NOT_FINITE; BNMLP_ERR_SHAPE for other shapes). A layer
 * with nothing to adapt (any other kind) is BNMLP_ERR_INVALID_ARGUMENT, as is an index beyond
 * the layers; a variance beyond float's range is BNMLP_ERR_NOT_FINITE. On error nothing changes.
 * It allocates 2 doubles per feature for the call (BNMLP_ERR_OUT_OF_MEMORY). Under a collective, adapt every rank alike
 * (or adapt before bnmlp_model_set_collective, which broadcasts rank 0's statistics). */
bnmlp_status bnmlp_model_adapt(bnmlp_model *model, size_t index, const bnmlp_tensor *x);

/* Copies one array of layer index into dst, which holds count floats (exactly its size). */
bnmlp_status bnmlp_model_get_weights(const bnmlp_model *model, size_t index, bnmlp_weight which, float *dst,
                                     size_t count);

/* Replaces one array of layer index with src (count floats, its exact size, all finite; a moving
 * variance must be >= 0). */
bnmlp_status bnmlp_model_set_weights(bnmlp_model *model, size_t index, bnmlp_weight which, const float *src,
                                     size_t count);

/* Copies every learnable parameter, layer by layer in the order of bnmlp_weight, into dst
 * (count == bnmlp_model_param_count). */
bnmlp_status bnmlp_model_get_params(const bnmlp_model *model, float *dst, size_t count);

/* Replaces every learnable parameter from src, in the order of bnmlp_model_get_params. */
bnmlp_status bnmlp_model_set_params(bnmlp_model *model, const float *src, size_t count);

/* Writes a Keras-like summary (layers, output shapes, parameter counts) to out. */
bnmlp_status bnmlp_model_summary(const bnmlp_model *model, FILE *out);

/* Runs x (rows <= max batch, cols = input width) through the model into out (same rows, output
 * width). In training mode batch norm uses batch statistics and updates its moving statistics
 * (a batch of one row is BNMLP_ERR_BATCH_TOO_SMALL) and dropout drops (and counts the step); in
 * inference mode nothing changes. If an output or an updated moving statistic would not be
 * finite (the arithmetic overflowed), the result is BNMLP_ERR_DIVERGED and neither out nor the
 * model changes. */
bnmlp_status bnmlp_model_forward(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_mode mode,
                                 bnmlp_tensor *out);

/* The loss of batch (x, y) in training mode and its gradient with respect to every learnable
 * parameter (count == bnmlp_model_param_count, order of bnmlp_model_get_params). Nothing in the
 * model changes: moving statistics are not updated. gradients may be NULL (then count is ignored).
 * A loss (as the float *loss gets: a loss beyond float32's range too) or a gradient that is not
 * finite is BNMLP_ERR_DIVERGED, with nothing written. */
bnmlp_status bnmlp_model_loss_gradients(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                        float *loss, float *gradients, size_t count);

/* As bnmlp_model_loss_gradients with class and sample weights (as bnmlp_model_train_step_weighted):
 * the weighted loss and its gradient. */
bnmlp_status bnmlp_model_loss_gradients_weighted(bnmlp_model *model, const bnmlp_tensor *x,
                                                 const bnmlp_tensor *y, const bnmlp_loss_weights *weights,
                                                 float *loss, float *gradients, size_t count);

/* One training step on batch (x, y): training-mode forward, the loss, backward, the optimizer's
 * update of the trainable parameters (any kind; the model keeps its configuration with the state,
 * see bnmlp_model_optimizer_config), moving statistics updated. *loss and *accuracy (either may be NULL) get
 * the batch's metrics before the update. If the loss (as the float *loss gets: a loss beyond
 * float32's range too), a gradient, an updated weight or optimizer state or an updated moving
 * statistic would not be finite, nothing changes and
 * BNMLP_ERR_DIVERGED is returned. With a trainable batch-norm layer a batch needs 2 rows (more
 * for BNMLP_VARIANCE_KERAS2 with epsilon >= 1; else BNMLP_ERR_BATCH_TOO_SMALL). */
bnmlp_status bnmlp_model_train_step(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                    const bnmlp_optimizer_config *optimizer, float *loss, float *accuracy);

/* As bnmlp_model_train_step with class and sample weights (bnmlp_loss_weights; sample_weights
 * has x->rows entries; weights NULL or without any: exactly bnmlp_model_train_step). *loss gets
 * the weighted loss, *accuracy the unweighted accuracy. Under a collective, sample_weights are
 * this rank's rows' and BNMLP_WEIGHTS_OVER_WEIGHT_SUM divides by the global batch's sum(w) (one
 * double summed over the ranks); every rank passes the same class weights and normalization. */
bnmlp_status bnmlp_model_train_step_weighted(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                             const bnmlp_loss_weights *weights,
                                             const bnmlp_optimizer_config *optimizer, float *loss,
                                             float *accuracy);

/* The optimizer configuration the model holds with its state: the one of its last successful
 * step (train_step or fit), or read from a checkpoint, which stores it; bnmlp_model_fit and
 * `bnmlp resume` continue with it. A model never stepped, and one loaded from a file without a
 * configuration (a checkpoint of format version 1, or a model file), hold the defaults of their
 * state's kind (bnmlp_optimizer_defaults): resume such a checkpoint with the settings of the
 * interrupted run. */
bnmlp_status bnmlp_model_optimizer_config(const bnmlp_model *model, bnmlp_optimizer_config *config);

/* The class weights and normalization of the model's last bnmlp_model_fit, or of the checkpoint it
 * was loaded from (checkpoints store them: docs/model-format.md, section LWGT), into *weights:
 * class_weights points at the model's copy (valid until a fit with other class weights, or
 * bnmlp_model_free; passing it to the next fit is fine; NULL with class_count 0 when that fit
 * had none), sample_weights is NULL (sample weights are data,
 * never stored). A model never fitted, or loaded from a file without them: no class weights,
 * BNMLP_WEIGHTS_OVER_BATCH_SIZE. Pass them to a resumed fit (`bnmlp resume` does). */
bnmlp_status bnmlp_model_fit_weights(const bnmlp_model *model, bnmlp_loss_weights *weights);

/* Floats of optimizer state for kind: param_count per slot the kind uses, each block in the order
 * of bnmlp_model_get_params: SGD 1 (the velocities, v = -lr * PyTorch's momentum buffer), Adam and
 * AdamW 2 (first moments, then second moments), RMSprop 3 (the squared-gradient averages, the
 * gradient averages, the momentum buffers); 0 for NULL or an unknown kind. */
size_t bnmlp_model_optimizer_state_count(const bnmlp_model *model, bnmlp_optimizer_kind kind);

/* Copies the optimizer's state: *kind (the kind it belongs to: the last one stepped with, SGD on
 * a new model), *steps (updates made with it: Adam's t) and the state floats into dst (count ==
 * bnmlp_model_optimizer_state_count(model, *kind)); dst may be NULL to ask only kind and steps. */
bnmlp_status bnmlp_model_get_optimizer_state(const bnmlp_model *model, bnmlp_optimizer_kind *kind,
                                             uint64_t *steps, float *dst, size_t count);

/* Replaces the optimizer's state, e.g. to hand a run over from another framework mid-way: kind,
 * steps and count floats (its exact size, finite; Adam's second moments and RMSprop's squared
 * averages >= 0). A kind other than the held configuration's also sets the configuration to that
 * kind's defaults. */
bnmlp_status bnmlp_model_set_optimizer_state(bnmlp_model *model, bnmlp_optimizer_kind kind, uint64_t steps,
                                             const float *src, size_t count);

/* Epochs bnmlp_model_fit has completed on this model over its life (restored from a checkpoint);
 * 0 for NULL. Pass it as fit's initial_epoch to resume. */
size_t bnmlp_model_epochs_done(const bnmlp_model *model);

/* True when the model holds training state a checkpoint saves: it was loaded from a checkpoint
 * (flag bit 0 of the file), or trained since it was created or loaded (a step or an epoch); false
 * for a model loaded from a model file and never trained, a new model, and NULL. */
bool bnmlp_model_is_checkpoint(const bnmlp_model *model);

/* The format version of the file the model was loaded from (1 or 2; a version-1 checkpoint holds
 * no optimizer configuration); 0 for a model not loaded from a file, and NULL. */
uint32_t bnmlp_model_file_version(const bnmlp_model *model);

/* Rows of the row order the model keeps for a resumed fit (its last fit's training rows, or a
 * checkpoint's); 0 when it has none, and for NULL. */
size_t bnmlp_model_order_rows(const bnmlp_model *model);

/* Sets the optimizer's state back to zero (velocities, moments and Adam's step count), as a
 * fresh optimizer. */
bnmlp_status bnmlp_model_reset_optimizer(bnmlp_model *model);

/* Trains on (x, y) (y: the targets of the model's loss, see bnmlp_loss; any number of rows) as
 * Keras's fit, with config->optimizer:
 * every epoch reshuffles the rows (from the model's seeded generator) and steps through batches
 * of batch_size, the last partial batch kept. A trailing batch too small for a trainable
 * batch-norm layer's statistics (one row; see BNMLP_VARIANCE_KERAS2) is skipped (Keras would
 * silently output beta there, PyTorch would fail). history (NULL, or room for config->epochs
 * records) receives one record per epoch run and *epochs_run (may be NULL) their number; the
 * callback may stop early (still BNMLP_OK). With a trainable batch-norm layer, a batch_size or
 * a number of rows below that minimum is BNMLP_ERR_BATCH_TOO_SMALL; this is checked before
 * fit starts and again before every epoch (a callback may unfreeze a layer), so an epoch that
 * could train on no batch stops fit before it changes anything. Every argument is checked
 * before anything changes. If training diverges (see train_step), or the validation loss is not
 * finite, it stops with BNMLP_ERR_DIVERGED, the weights of the last good step and the history
 * of the completed epochs (early stopping then restores nothing).
 * The controls (docs/training.md), in this order: before every step the schedule sets the
 * optimizer's learning rate (t = (epoch - 1) * steps per epoch + the step's index in the epoch for
 * per-step schedules, epoch - 1 for per-epoch ones, with epoch the 1-based epoch over the model's
 * life: a fit resumed with initial_epoch continues the schedule bit for bit); after every step
 * on_batch_end; after the epoch's validation, early stopping (keeping a copy of the weights made
 * before the first epoch through the model's allocator) and reduce-LR-on-plateau (its rate applies
 * from the next epoch), then on_epoch_end with the record; when fit ends without error, early
 * stopping's best weights are put back (restore_best_weights).
 * After every epoch (before on_epoch_end) the model keeps the controls' settings and state (the
 * schedule's base rate; early stopping's best value, best epoch, wait and, with
 * restore_best_weights, the best weights; the plateau's best, wait, cooldown counter and current
 * rate) with the epochs done, and a checkpoint stores them. A fit continues a stored control, part
 * by part, when config->initial_epoch > 0 equals the epochs done when they were kept (a checkpoint
 * saved in on_epoch_end, or the model's last fit) and config's settings of that control equal the
 * stored ones (bnmlp_schedule_equal, bnmlp_early_stopping_equal, bnmlp_plateau_equal; the
 * schedule when it is not the constant one without initial_learning_rate): then the weights,
 * history and decisions are bit for bit those of the fit never interrupted
 * (bnmlp_model_fit_resume_config fills such a config). Any other control starts afresh from
 * config, as Keras's callbacks do; a stored state that is not usable (a rate not > 0, a best epoch
 * not before the epochs done) is BNMLP_ERR_FORMAT. A checkpoint saved after fit put the best
 * weights back holds those weights: resuming it continues the controls from them.
 * With config->weights the loss of every step is weighted (bnmlp_loss_weights; validation: see
 * validation_sample_weights); the model keeps the class weights and normalization for its
 * checkpoints (bnmlp_model_fit_weights), a copy made before the first epoch through its
 * allocator. */
bnmlp_status bnmlp_model_fit(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const bnmlp_fit_config *config, bnmlp_epoch_record *history, size_t *epochs_run);

/* Sets what a fit resuming the model continues from into *config: the optimizer configuration
 * the model holds (bnmlp_model_optimizer_config), initial_epoch = bnmlp_model_epochs_done, and the
 * schedule, early stopping and reduce-LR-on-plateau the model's last fit used (kept after every
 * epoch, stored in checkpoints), each at its public default (disabled) when that fit did not use
 * it or the model holds none (a checkpoint written before the controls were stored, or one whose fit
 * had no controls: set them as the interrupted run had them; their state then starts afresh).
 * Every other field is left as it was (epochs, batch_size, data, callbacks: the caller's).
 * BNMLP_ERR_FORMAT (*config untouched) when the stored controls fail their checks. */
bnmlp_status bnmlp_model_fit_resume_config(const bnmlp_model *model, bnmlp_fit_config *config);

/* Mean loss and accuracy (NaN for MSE) of (x, y) in inference mode, any number of rows (processed in
 * chunks of the maximum batch). Either output may be NULL. A loss that is not finite (outputs
 * that overflow to the wrong side) is BNMLP_ERR_DIVERGED, with nothing written. */
bnmlp_status bnmlp_model_evaluate(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  double *loss, double *accuracy);

/* As bnmlp_model_evaluate with weights (sample_weights has x->rows entries). The loss over all
 * the rows, whatever the chunks: sum(w l) / N for BNMLP_WEIGHTS_OVER_BATCH_SIZE, which is what
 * Keras's evaluate(x, y, sample_weight=w) reports (each batch's sum(w l) / N_b, averaged with
 * the batches' sizes as weights), and sum(w l) / sum(w) for BNMLP_WEIGHTS_OVER_WEIGHT_SUM (0
 * when sum(w) is 0). Keras's evaluate takes no class weights; here class weights multiply as in
 * training. The accuracy is unweighted. Under a collective the sums are over every rank's rows. */
bnmlp_status bnmlp_model_evaluate_weighted(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                           const bnmlp_loss_weights *weights, double *loss, double *accuracy);

/* Metrics kinds[0..count) of (x, y) over every row in inference mode, into values[0..count) (as
 * Keras's evaluate with compiled metrics: over the whole set, not a mean of per-chunk values;
 * bit-identical to accumulators fed bnmlp_model_predict's outputs). The same rules as
 * bnmlp_fit_config.metrics: count 1 .. BNMLP_FIT_MAX_METRICS, each a scalar metric of the model's
 * task, with its kind's defaults (else BNMLP_ERR_INVALID_ARGUMENT). The rows are run
 * in chunks of the maximum batch, as bnmlp_model_evaluate; the accumulators are allocated once
 * per call through the model's allocator (BNMLP_ERR_OUT_OF_MEMORY), nothing per chunk. A value
 * that is not defined is NaN (bnmlp_metric_value). Outputs or a loss that are not finite are
 * BNMLP_ERR_DIVERGED; on any error values is untouched. A collective call (see below). */
bnmlp_status bnmlp_model_evaluate_metrics(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                          const bnmlp_metric *kinds, size_t count, double *values);

/* Outputs for x in inference mode into out (x->rows x output width), any number of rows. An
 * output that would not be finite is BNMLP_ERR_DIVERGED with out untouched: with more rows
 * than the maximum batch, a first pass checks every chunk before a second writes any. */
bnmlp_status bnmlp_model_predict(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out);

/* ------------------------------------------------------------------------------------------ */
/* Training on several processes: the collective interface                                    */
/* ------------------------------------------------------------------------------------------ */
/*
 * A model trains data-parallel on P processes ("ranks") once every rank has called
 * bnmlp_model_set_collective with a transport: a few function pointers over a context that the
 * caller fills in (libbnmlp_mpi's bnmlp_mpi_collective does it over an MPI communicator; the
 * core library never links MPI). Every rank builds the same architecture; the call broadcasts
 * rank 0's state, so every rank then holds the same weights. Semantics under a collective:
 *
 *   - Collective calls: bnmlp_model_set_collective, bnmlp_model_fit, bnmlp_model_evaluate,
 *     bnmlp_model_evaluate_metrics, bnmlp_model_train_step, bnmlp_model_loss_gradients and
 *     bnmlp_model_forward in training mode. Every rank must make the same sequence of them. Each first agrees on a
 *     status (the maximum of every rank's, by allreduce_max_int) before any collective work, so
 *     that when one rank has bad input every rank returns the same error and none hangs. The
 *     other calls (predict, inference forward, get/set weights, save) stay local.
 *   - bnmlp_model_fit: every rank passes the same whole data set (and validation set) and the
 *     same config; batch_size is the GLOBAL batch. Every epoch every rank makes the same shuffle
 *     (the generator is rank 0's), and each global batch of B rows is split in contiguous shares:
 *     rank r takes B / P rows, plus one when r < B % P, starting at r * (B / P) + min(r, B % P)
 *     (32 rows on 3 ranks: 11, 11, 10). A trailing batch with fewer rows than ranks is skipped.
 *     The validation rows are split the same way and the metrics summed over the ranks.
 *   - bnmlp_model_train_step, bnmlp_model_loss_gradients, bnmlp_model_forward (training)
 *     and bnmlp_model_evaluate take this rank's rows; the global batch is the union of every
 *     rank's rows. (evaluate's metrics are over the union: with the same rows on every rank it
 *     gives the single-process value.)
 *   - Metrics (bnmlp_fit_config.metrics, bnmlp_model_evaluate_metrics): each rank accumulates its
 *     own rows; the accumulators' states are then summed over the ranks (counts, threshold
 *     buckets, top-k hits, sums of errors), so every rank reads the metric of every rank's rows.
 *     Two kinds do not combine by summing and are refused under a collective
 *     (BNMLP_ERR_INVALID_ARGUMENT, agreed by every rank, before anything changes): roc_auc (it
 *     keeps every score) and r2_score (its running target moments). Sums of errors add in another
 *     order than in one process (as the loss does); counts are exact.
 *   - Gradients: the loss's gradient is divided by the GLOBAL row count, and the gradient arena is
 *     summed over the ranks (allreduce_sum_float), so the update equals one process's on the whole
 *     global batch. Loss and accuracy are global (sums of loss * rows, right predictions, rows).
 *   - Batch norm is synchronized by default (bnmlp_model_set_batchnorm_sync): the training-mode
 *     mean and variance are those of the global batch (the per-feature sums, then the sums of
 *     squared deviations from the global mean, summed over ranks: two passes, in double), the
 *     backward sums are summed likewise, and the moving statistics, updated with the global row
 *     count, stay identical on every rank. Unsynchronized, each rank normalizes with its own
 *     share's statistics and keeps its own moving statistics (plain DDP); they then differ.
 *   - Results equal one process's on the global batch up to float rounding (the sums are added in
 *     another order); the tests hold them to a relative 1e-5 (see tests/test_collective.c).
 *   - A training step allocates nothing: the all-reduces work in place in the model's buffers.
 *   - Errors: a status is agreed before any rank changes anything; a transport function's error is
 *     returned as is (the transport's own failure may leave ranks out of step).
 */

/* A transport for collective operations among `size` processes. Every function is called by all
 * ranks in the same order with the same count or size, and returns BNMLP_OK or an error. */
typedef struct bnmlp_collective {
    bnmlp_status (*allreduce_sum_double)(void *context, double *values, size_t count); /* in place:
                                     values[i] = sum over ranks of values[i], identical on every rank */
    bnmlp_status (*allreduce_sum_float)(void *context, float *values, size_t count);   /* likewise, float */
    bnmlp_status (*allreduce_max_int)(void *context, int *values, size_t count);       /* in place: the
                                     maximum over ranks (how ranks agree on a status) */
    bnmlp_status (*broadcast)(void *context, void *bytes, size_t size, int root);      /* size bytes from
                                     rank root into every rank's bytes */
    void *context; /* passed to every function; owned by the caller, alive while the model uses it */
    int rank;      /* this process, in [0, size) */
    int size;      /* number of processes, >= 1 */
} bnmlp_collective;

/* Makes the built model train with the other ranks of collective (copied into the model; NULL
 * returns to single-process training, locally). Collective: every rank calls it. The ranks first
 * check that their models have the same architecture and maximum batch (BNMLP_ERR_SHAPE on every
 * rank otherwise), then rank 0's parameters, moving statistics, optimizer state and random
 * generator are broadcast to the others: build every rank with the same seed, or load the same
 * file, and the run does not depend on the other ranks' seeds. A stored fit row order is not
 * broadcast. BNMLP_ERR_INVALID_ARGUMENT for a missing function or a rank outside [0, size). */
bnmlp_status bnmlp_model_set_collective(bnmlp_model *model, const bnmlp_collective *collective);

/* Synchronized batch norm under a collective (true, the default) or per-rank batch statistics
 * (false: each rank normalizes with its own rows and keeps its own moving statistics). Local:
 * every rank must set the same value before its next collective call. */
bnmlp_status bnmlp_model_set_batchnorm_sync(bnmlp_model *model, bool synchronized);

/* This rank and the number of ranks of the model's collective (0 and 1 without one); either may be
 * NULL. */
void bnmlp_model_rank(const bnmlp_model *model, int *rank, int *size);

/* ------------------------------------------------------------------------------------------ */
/* Model files                                                                                */
/* ------------------------------------------------------------------------------------------ */
/*
 * One binary format (docs/model-format.md): magic bytes, a format version, little-endian on every
 * host, sections with their lengths, a CRC-32 over everything. A model file holds the
 * architecture (every layer and its configuration, trainable flags, the loss, the maximum batch),
 * the parameters and the moving statistics: a loaded model predicts bit for bit as the saved one.
 * A checkpoint adds what resuming a fit needs: the optimizer's state and configuration, the random
 * generator, the epochs done, fit's row order and its training controls (settings and state, see
 * bnmlp_model_fit); fit resumed from it (bnmlp_model_fit_resume_config) gives bit for bit the
 * weights and history of a fit never interrupted.
 * Files are written to a temporary name in the same directory, flushed and renamed into place:
 * the final name holds the old file or the whole new one, never part of one. Loading trusts
 * nothing: every size is checked against the bytes there before anything is allocated.
 */

/* Writes the model (built) to path. BNMLP_ERR_FILE_OPEN when the file cannot be created,
 * BNMLP_ERR_IO when writing fails (the old file, if any, is left as it was). */
bnmlp_status bnmlp_model_save(const bnmlp_model *model, const char *path);

/* As bnmlp_model_save, with the training state of a checkpoint. */
bnmlp_status bnmlp_model_save_checkpoint(const bnmlp_model *model, const char *path);

/* The same bytes into a caller's buffer of capacity bytes; *size gets the bytes needed. With a
 * NULL buffer (capacity 0) only *size is set; a buffer too small is BNMLP_ERR_SHAPE, untouched. */
bnmlp_status bnmlp_model_save_buffer(const bnmlp_model *model, bool checkpoint, void *buffer, size_t capacity,
                                     size_t *size);

/* A new built model from the file at path, allocating through allocator (NULL: malloc/free);
 * NULL with *status on error, with nothing left allocated. detail (may be NULL) says what is
 * wrong and at which byte offset. Errors: BNMLP_ERR_FILE_OPEN, BNMLP_ERR_IO, BNMLP_ERR_FORMAT
 * (bad magic, a malformed or inconsistent section, a negative variance), BNMLP_ERR_VERSION,
 * BNMLP_ERR_TRUNCATED, BNMLP_ERR_CHECKSUM, BNMLP_ERR_NOT_FINITE (a NaN or infinite value),
 * BNMLP_ERR_UNSUPPORTED (sizes beyond the limits in docs/model-format.md),
 * BNMLP_ERR_OUT_OF_MEMORY. */
bnmlp_model *bnmlp_model_load(const char *path, const bnmlp_allocator *allocator, bnmlp_error_detail *detail,
                              bnmlp_status *status);

/* As bnmlp_model_load, from size bytes in memory (for systems without files). */
bnmlp_model *bnmlp_model_load_buffer(const void *data, size_t size, const bnmlp_allocator *allocator,
                                     bnmlp_error_detail *detail, bnmlp_status *status);

/* ------------------------------------------------------------------------------------------ */
/* Metrics: computed over a whole set, fed chunk by chunk (docs/metrics.md)                   */
/* ------------------------------------------------------------------------------------------ */
/*
 * A metric accumulator takes chunks of (outputs, targets) rows in any split and gives the
 * metric of all the rows added since it was created or reset: not a mean of per-chunk values.
 * Its memory is planned when it is created; adding a chunk allocates nothing. Feeding the same
 * rows in one chunk or in several gives bit-identical values. Each metric kind is one row of
 * the library's metric table (names, the tasks it applies to, what it accumulates, how it
 * finishes); bnmlp_metric_describe reads that row, so a program asks the library for names.
 *
 * Tasks and the data they take (every value finite, else BNMLP_ERR_NOT_FINITE):
 *   binary      outputs (rows, W >= 1): probabilities of class 1 (any finite value is taken;
 *               "auc" clips to [0, 1] as Keras does); targets (rows, W): exactly 0 or 1. Every
 *               element is one prediction (Keras's flattening of multi-label data, sklearn's
 *               average="micro"); a prediction is positive when p > 0.5.
 *   multiclass  outputs (rows, K >= 2): class probabilities or logits; targets (rows, 1) class
 *               indices 0..K-1, or (rows, K) rows of class probabilities (one-hot; >= 0 and
 *               summing to 1 within 1e-5) whose class is their argmax. The predicted class is
 *               the output's argmax, the first maximum on ties (numpy's argmax).
 *   regression  outputs and targets (rows, W >= 1): averaged over all rows * W elements.
 */

/* What the metric table says about one kind. */
typedef struct bnmlp_metric_info {
    const char *name;        /* canonical name, e.g. "auc"; static */
    const char *alias;       /* a second accepted name (e.g. "mae"), or NULL; static */
    unsigned tasks;          /* bit (1u << task) set for each bnmlp_metric_task it applies to */
    bool greater_is_better;  /* true for scores (accuracy, AUC, R^2), false for errors (MAE) */
    bool scalar;             /* false only for the confusion matrix (no bnmlp_metric_value) */
    const char *description; /* one English sentence; static */
} bnmlp_metric_info;

/* Number of metric kinds: the kinds are 0 .. bnmlp_metric_kind_count() - 1. */
size_t bnmlp_metric_kind_count(void);

/* The metric's canonical name ("accuracy", "auc", ...); "unknown" for any other value. Static. */
const char *bnmlp_metric_name(bnmlp_metric kind);

/* The kind whose name or alias equals name (exact, case-sensitive) into *kind.
 * BNMLP_ERR_NULL_ARGUMENT, or BNMLP_ERR_INVALID_ARGUMENT for an unknown name (*kind untouched). */
bnmlp_status bnmlp_metric_from_name(const char *name, bnmlp_metric *kind);

/* The table's row for kind into *info; BNMLP_ERR_INVALID_ARGUMENT for an unknown kind. */
bnmlp_status bnmlp_metric_describe(bnmlp_metric kind, bnmlp_metric_info *info);

/* How bnmlp_metric_create plans an accumulator. */
typedef struct bnmlp_metric_config {
    bnmlp_metric kind;                /* which metric (first argument of the default macro) */
    bnmlp_metric_task task;           /* the data it will see: one of the kind's tasks (second) */
    size_t outputs;                   /* columns of the outputs: W >= 1 (binary, regression), the
                                         number of classes K >= 2 (multiclass) (third) */
    size_t top_k;                     /* k of top_k_categorical_accuracy, >= 1 (k >= K always
                                         hits). Default 5 (Keras) */
    size_t num_thresholds;            /* thresholds of "auc", 2 .. 2^24. Default 200 (Keras) */
    size_t max_rows;                  /* "roc_auc" only: rows it can keep (max_rows * outputs
                                         scores, 8 bytes each, allocated at creation), > 0; more
                                         rows since the last reset are refused with
                                         BNMLP_ERR_BATCH_TOO_LARGE. Default 0 (must be set) */
    const bnmlp_allocator *allocator; /* allocates the accumulator (copied); NULL: malloc/free */
} bnmlp_metric_config;

/* The defaults for a kind, task and output width. */
#define BNMLP_METRIC_CONFIG_DEFAULT(kind_, task_, outputs_)                                                  \
    ((bnmlp_metric_config){.kind = (kind_),                                                                  \
                           .task = (task_),                                                                  \
                           .outputs = (outputs_),                                                            \
                           .top_k = 5,                                                                       \
                           .num_thresholds = 200,                                                            \
                           .max_rows = 0,                                                                    \
                           .allocator = NULL})

/* An opaque metric accumulator. */
typedef struct bnmlp_metric_accumulator bnmlp_metric_accumulator;

/* A new empty accumulator, all of its memory allocated here; NULL with *status on error:
 * BNMLP_ERR_NULL_ARGUMENT (config, or an allocator with one function), BNMLP_ERR_INVALID_ARGUMENT
 * (unknown kind or task, a task the kind does not apply to, outputs 0 or a multiclass K < 2,
 * top_k 0, num_thresholds outside 2 .. 2^24, roc_auc with max_rows 0), BNMLP_ERR_OVERFLOW (sizes),
 * BNMLP_ERR_OUT_OF_MEMORY. Free with bnmlp_metric_free. */
bnmlp_metric_accumulator *bnmlp_metric_create(const bnmlp_metric_config *config, bnmlp_status *status);

/* Frees an accumulator; NULL is a no-op. */
void bnmlp_metric_free(bnmlp_metric_accumulator *accumulator);

/* Forgets every row added: the accumulator is as new. */
bnmlp_status bnmlp_metric_reset(bnmlp_metric_accumulator *accumulator);

/* Adds a chunk: outputs (rows >= 1, outputs columns) and targets of the same rows (see the tasks
 * above for their widths and values). Everything is checked before anything is added; on error
 * nothing changes and *detail (may be NULL) names the 1-based row (counted over every row added
 * since the last reset), the 1-based column and the value. Errors: BNMLP_ERR_NULL_ARGUMENT,
 * BNMLP_ERR_SHAPE (a width or row count that does not match), BNMLP_ERR_NOT_FINITE (NaN or
 * infinity in outputs or targets), BNMLP_ERR_LABEL (a binary target not exactly 0 or 1, a class
 * index that is not an integer in 0..K-1, a probability row that is negative or does not sum to
 * 1), BNMLP_ERR_BATCH_TOO_LARGE (roc_auc: more than max_rows rows since the last reset),
 * BNMLP_ERR_OVERFLOW (a count would pass 2^53). Allocates nothing. */
bnmlp_status bnmlp_metric_add(bnmlp_metric_accumulator *accumulator, const bnmlp_tensor *outputs,
                              const bnmlp_tensor *targets, bnmlp_error_detail *detail);

/* Rows added since creation or the last reset; 0 for NULL. */
size_t bnmlp_metric_rows(const bnmlp_metric_accumulator *accumulator);

/* The metric of every row added since the last reset into *value (double). NaN when it is not
 * defined: no rows yet, roc_auc on one class, r2_score on fewer than 2 rows. The confusion
 * matrix is not a scalar: BNMLP_ERR_INVALID_ARGUMENT. roc_auc sorts the scores it keeps in place
 * (nothing observable changes; this is why the accumulator is not const). */
bnmlp_status bnmlp_metric_value(bnmlp_metric_accumulator *accumulator, double *value);

/* The confusion matrix of a binary or multiclass accumulator (every classification kind keeps
 * one): counts[t * classes + p] is the number of predictions of class p whose target is class
 * t (sklearn's confusion_matrix layout; binary: [[TN, FP], [FN, TP]], positive when p > 0.5;
 * multiclass: the argmax). *classes (may be NULL) gets 2 or K. counts may be NULL with count 0
 * to ask only *classes; otherwise count must be classes * classes (BNMLP_ERR_SHAPE, counts
 * untouched). A regression accumulator has none: BNMLP_ERR_INVALID_ARGUMENT. */
bnmlp_status bnmlp_metric_confusion_matrix(const bnmlp_metric_accumulator *accumulator, uint64_t *counts,
                                           size_t count, size_t *classes);

/* ------------------------------------------------------------------------------------------ */
/* Export: a trained model in other formats (docs/deploy.md)                                  */
/* ------------------------------------------------------------------------------------------ */
/*
 * Each format is one row of the library's export table; bnmlp_export_format_name lists them, so
 * a program asks the library for the names. An export describes the model's inference mode
 * (batch norm with its moving statistics, dropout as the identity). Files are written to
 * temporary names and renamed into place once all of them are complete: a failed export leaves
 * no file behind and an old file of the same name as it was.
 */

/* A new, built, inference-only model that predicts as model (built; not changed) does in
 * inference mode, with batch norm folded away using its moving statistics and each layer's own
 * epsilon (docs/deploy.md, "Folding"): a batch norm right after a dense layer folds into that
 * layer (s = gamma / sqrt(moving_variance + epsilon), W' = W * s per output column,
 * b' = (b - moving_mean) * s + beta; a dense layer without a bias gains one); one elsewhere that a
 * dense layer follows directly (after an activation, or on the input) folds into that next layer
 * (W' = diag(s) W, b' = b + (beta - moving_mean * s) W) unless a shift beta - moving_mean * s
 * exceeds 256 in magnitude (the folded product would lose more than 8 bits of float's 24: it is
 * kept); a normalization layer folds the same way with s = 1 / max(sqrt(variance), 1e-7) and
 * shift -mean * s; dropout and linear activations (the identity at inference) are removed; batch
 * norms in a row fold one after the other. A batch norm or normalization that cannot fold (after
 * an activation with no dense layer next, e.g. before a softmax or at the end) is kept as it is;
 * several of them in a row become one batch-norm layer computing gamma * x + beta exactly (moving
 * mean 0, moving variance 0.5, epsilon 0.5). Folding is computed in double and rounded once to
 * float: predictions equal the original's inference predictions within 1e-5 relative (rounding
 * only; tests/test_fold.c measures at most 2.4e-6). The new model keeps the loss, the class
 * names, the maximum batch, the threads setting and the precision (bnmlp_model_set_precision: a
 * bf16 model's folded copy runs its products in bf16 too, its predictions then within bf16's
 * rounding of the original's); every layer is frozen (a training-mode
 * forward then computes what inference does); it has no optimizer state or training history. Its
 * memory comes from allocator (copied into it; NULL: the model's). Free it with
 * bnmlp_model_free. NULL with *status (may be NULL) on error:
 * BNMLP_ERR_NULL_ARGUMENT (model NULL, or an allocator without both functions),
 * BNMLP_ERR_NOT_BUILT, BNMLP_ERR_DIVERGED (a folded weight beyond float's range),
 * BNMLP_ERR_OUT_OF_MEMORY; nothing is left allocated. */
bnmlp_model *bnmlp_model_fold(const bnmlp_model *model, const bnmlp_allocator *allocator,
                              bnmlp_status *status);

/* A new, built, inference-only model that predicts as model (built; not changed) does in
 * inference mode, in int8 (docs/deploy.md, "int8"): batch norm folded first as bnmlp_model_fold
 * folds it into the dense layer before it (a batch norm or normalization with no dense layer
 * before it stays a float layer: folding it into the next one would scale that layer's rows,
 * which one int8 scale per column cannot hold); then every dense layer becomes an int8 dense
 * layer (BNMLP_LAYER_DENSE_INT8):
 *   weights   per output column j, symmetric: s_w[j] = max_k |W[k][j]| / 127 (1 for a zero
 *             column), codes w[k][j] = round(W[k][j] / s_w[j]) in [-127, 127] (the TFLite and
 *             Keras 3 quantize("int8") convention);
 *   input     per tensor, symmetric, from calibration: s_x = max |x| / 127 over every value the
 *             folded float model feeds the layer when it runs over calibration's rows in
 *             inference mode (1 when that is 0); codes q = clamp(round(x * (1 / s_x)), -127,
 *             127), rounded to nearest even;
 *   product   int32 sums of q w (exact: a layer's input width is at most 65536), then
 *             y = (float)sum * (s_x * s_w[j]) + b[j] in one fused multiply-add;
 * activations, any layer kept by the fold and the loss's head stay float32. Results are the same
 * bits on every instruction set (AVX512-VNNI, AVX-VNNI, AVX2, portable) and thread count.
 * Predictions differ from the float model's by the quantization error (on tests/test_quantize.c's
 * fixture, at most 2% of the largest output, measured 0.98%; docs/deploy.md, "int8", measures the
 * accuracy change on real data sets). calibration: rows x the input width, finite, rows >= 1 (any number:
 * it runs in batches of the maximum batch); use rows the model will see (e.g. its training
 * rows). The new model keeps the loss, class names, maximum batch and threads setting; it is
 * saved and loaded as any model (bnmlp_model_save); training calls on it (bnmlp_model_train_step,
 * bnmlp_model_fit, bnmlp_model_loss_gradients, ...) return BNMLP_ERR_UNSUPPORTED and change
 * nothing; bnmlp_model_fold, bnmlp_model_quantize and the exports refuse it the same way. Its
 * memory comes from allocator (NULL: the model's). NULL with *status (may be NULL) on error:
 * BNMLP_ERR_NULL_ARGUMENT (model, calibration or its data NULL, or an allocator without both
 * functions), BNMLP_ERR_NOT_BUILT, BNMLP_ERR_SHAPE (calibration with 0 rows or another width),
 * BNMLP_ERR_NOT_FINITE (a calibration value, or a value the float model computes from it, that
 * is not finite), BNMLP_ERR_INVALID_ARGUMENT (a dense layer wider than 65536 inputs),
 * BNMLP_ERR_UNSUPPORTED (model is already quantized), BNMLP_ERR_DIVERGED,
 * BNMLP_ERR_OUT_OF_MEMORY; nothing is left allocated. */
bnmlp_model *bnmlp_model_quantize(const bnmlp_model *model, const bnmlp_tensor *calibration,
                                  const bnmlp_allocator *allocator, bnmlp_status *status);

/* True when model holds an int8 layer (bnmlp_model_quantize's result, or a file of one): it runs
 * inference only. False for NULL. */
bool bnmlp_model_is_quantized(const bnmlp_model *model);

/* How the exported weights are stored. */
typedef enum bnmlp_export_weights {
    BNMLP_EXPORT_WEIGHTS_FLOAT32 = 0, /* the model's float32 weights, exactly (default) */
    BNMLP_EXPORT_WEIGHTS_INT8         /* dense kernels as per-output-channel symmetric int8 in
                                         [-127, 127] with a float scale per channel (TFLite's and
                                         Keras 3's quantize("int8")); float activations. Only the
                                         formats that say so take it */
} bnmlp_export_weights;

/* Options of bnmlp_model_export; start from BNMLP_EXPORT_OPTIONS_DEFAULT. */
typedef struct bnmlp_export_options {
    const char *name;             /* the exported model's name: the C format's identifier prefix
                                     and file names; a C identifier ([A-Za-z_][A-Za-z0-9_]*, at
                                     most 64 characters). Default "model" */
    bool with_test;               /* formats with a self-test (C): write it too. Default false */
    size_t test_rows;             /* rows of inputs the self-test stores, >= 1. Default 16 */
    uint64_t test_seed;           /* seed of the self-test's inputs. Default 0 */
    bnmlp_export_weights weights; /* default BNMLP_EXPORT_WEIGHTS_FLOAT32 */
} bnmlp_export_options;

/* The default export options. */
#define BNMLP_EXPORT_OPTIONS_DEFAULT                                                                         \
    ((bnmlp_export_options){.name = "model",                                                                 \
                            .with_test = false,                                                              \
                            .test_rows = 16,                                                                 \
                            .test_seed = 0,                                                                  \
                            .weights = BNMLP_EXPORT_WEIGHTS_FLOAT32})

/* The number of export formats: indices 0 .. count - 1 name one each. */
size_t bnmlp_export_format_count(void);

/* The name of export format index ("c", "onnx", ...), or NULL past the last one. Static. */
const char *bnmlp_export_format_name(size_t index);

/* One English sentence about export format index, or NULL past the last one. Static. */
const char *bnmlp_export_format_summary(size_t index);

/* True when export format index writes into a directory (several files) rather than one file. */
bool bnmlp_export_format_writes_directory(size_t index);

/* Writes model (built; not changed observably) in the format named format to path: a file, or
 * for a format that writes a directory, an existing directory that receives the files. options
 * may be NULL (the defaults). Errors: BNMLP_ERR_NULL_ARGUMENT; BNMLP_ERR_INVALID_ARGUMENT (an
 * unknown format, a bad option or one the format does not take); BNMLP_ERR_NOT_BUILT,
 * BNMLP_ERR_EMPTY_MODEL; BNMLP_ERR_UNSUPPORTED (the model has something the format cannot
 * express); BNMLP_ERR_FILE_OPEN, BNMLP_ERR_IO, BNMLP_ERR_OUT_OF_MEMORY (nothing left behind).
 * detail (may be NULL) says what, in its message. The "c" format (docs/deploy.md) writes NAME.h,
 * NAME.c and, with with_test, NAME_test.c into the directory path. */
bnmlp_status bnmlp_model_export(bnmlp_model *model, const char *format, const char *path,
                                const bnmlp_export_options *options, bnmlp_error_detail *detail);

/* ------------------------------------------------------------------------------------------ */
/* safetensors in: PyTorch's nn.Sequential weights into a model (docs/deploy.md)              */
/* ------------------------------------------------------------------------------------------ */
/*
 * The "safetensors" export format writes a model's arrays under PyTorch's nn.Sequential names
 * ("{i}.weight" of a Linear is the (out, in) transpose of the kernel; a BatchNorm1d's weight,
 * bias, running_mean, running_var and num_batches_tracked), and its architecture in the
 * __metadata__ keys "bnmlp.input_width", "bnmlp.layers" and "bnmlp.loss". The calls below read
 * such a file, or one that PyTorch wrote, back. The reader trusts nothing: the header length
 * against the file's size (and a 100 MB cap), the JSON (strict: duplicate keys and unknown keys
 * of a tensor refused), the dtypes, the data offsets (they must tile the data exactly), then the
 * names, dtypes and shapes against the architecture (every tensor the model has, no other: as
 * PyTorch's load_state_dict(strict=True)), every float finite and every variance >= 0. Nothing
 * changes before all of it passed. Errors (*detail, may be NULL, gets the byte offset in the file
 * and a message naming the tensor): BNMLP_ERR_TRUNCATED (the file is shorter than its header or
 * offsets say), BNMLP_ERR_FORMAT (bad JSON, header length, offsets; a tensor missing, extra or
 * twice; a negative variance or step count; a bad architecture text), BNMLP_ERR_SHAPE (a shape
 * the layer does not have), BNMLP_ERR_UNSUPPORTED (a dtype other than F32 and I64 where the
 * library needs them, no architecture, a BatchNorm1d weight or bias that is not the identity for
 * a layer with scale or center off), BNMLP_ERR_NOT_FINITE, BNMLP_ERR_FILE_OPEN, BNMLP_ERR_IO,
 * BNMLP_ERR_OVERFLOW (a file larger than the limit), BNMLP_ERR_OUT_OF_MEMORY,
 * BNMLP_ERR_NULL_ARGUMENT.
 */

/* How bnmlp_model_import_safetensors makes the model. */
typedef struct bnmlp_safetensors_config {
    const char *layers;               /* the architecture, in the text of the "bnmlp.layers" metadata key
                                         (docs/deploy.md: layers separated by ';', each its kind and
                                         name=value settings), used instead of the file's; NULL: the file's
                                         (BNMLP_ERR_UNSUPPORTED when it has none). Default NULL */
    size_t input_width;               /* with layers: the input width; 0 takes the file's
                                         bnmlp.input_width, else the last dimension of layer 0's tensors.
                                         Ignored without layers. Default 0 */
    bnmlp_loss loss;                  /* with layers: the model's loss (without: the file's bnmlp.loss,
                                         binary cross-entropy when absent). Default
                                         BNMLP_LOSS_BINARY_CROSSENTROPY */
    size_t max_batch;                 /* the new model's maximum batch (bnmlp_model_build), > 0. Default 32 */
    uint32_t seed;                    /* the build's seed (the weights are then replaced; it drives fit's
                                         shuffles). Default 0 */
    size_t max_file_bytes;            /* bnmlp_model_import_safetensors refuses larger files (0: no limit).
                                         Default BNMLP_DATA_MAX_FILE_BYTES_DEFAULT */
    const bnmlp_allocator *allocator; /* the model's and the reader's allocations (copied); NULL:
                                         malloc/free. Default NULL */
} bnmlp_safetensors_config;

/* The defaults. */
#define BNMLP_SAFETENSORS_DEFAULT                                                                            \
    ((bnmlp_safetensors_config){.layers = NULL,                                                              \
                                .input_width = 0,                                                            \
                                .loss = BNMLP_LOSS_BINARY_CROSSENTROPY,                                      \
                                .max_batch = 32,                                                             \
                                .seed = 0,                                                                   \
                                .max_file_bytes = BNMLP_DATA_MAX_FILE_BYTES_DEFAULT,                         \
                                .allocator = NULL})

/* A new built model with the architecture of the file's metadata (or config->layers) and the
 * file's weights and moving statistics (each batch-norm layer's step count from
 * num_batches_tracked); NULL with *status (and *detail) on error, see above. config NULL means
 * BNMLP_SAFETENSORS_DEFAULT. Free with bnmlp_model_free. */
bnmlp_model *bnmlp_model_import_safetensors(const char *path, const bnmlp_safetensors_config *config,
                                            bnmlp_status *status, bnmlp_error_detail *detail);

/* As bnmlp_model_import_safetensors, from the size bytes at data (max_file_bytes ignored). */
bnmlp_model *bnmlp_model_import_safetensors_buffer(const void *data, size_t size,
                                                   const bnmlp_safetensors_config *config,
                                                   bnmlp_status *status, bnmlp_error_detail *detail);

/* Loads the safetensors file at path into model (built; BNMLP_ERR_NOT_BUILT otherwise), whose
 * architecture must match the file's tensors exactly (names, dtypes, shapes; the metadata is not
 * read): the arrays, and each batch-norm layer's step count from num_batches_tracked. On error
 * the model is unchanged. Files larger than BNMLP_DATA_MAX_FILE_BYTES_DEFAULT are refused. */
bnmlp_status bnmlp_model_load_safetensors(bnmlp_model *model, const char *path, bnmlp_error_detail *detail);

/* As bnmlp_model_load_safetensors, from the size bytes at data. */
bnmlp_status bnmlp_model_load_safetensors_buffer(bnmlp_model *model, const void *data, size_t size,
                                                 bnmlp_error_detail *detail);

/* The input width of the safetensors file at path into *width: its bnmlp.input_width metadata,
 * else the last dimension of layer 0's tensors (a Linear's in_features, a BatchNorm1d's
 * features), for a program that builds the model itself before bnmlp_model_load_safetensors.
 * The header is checked as above; BNMLP_ERR_UNSUPPORTED when the file does not say. */
bnmlp_status bnmlp_safetensors_input_width(const char *path, size_t *width, bnmlp_error_detail *detail);

#ifdef __cplusplus
}
#endif

#endif /* BNMLP_H */
