/*
 * random.c - numpy's legacy np.random.RandomState, bit for bit: MT19937 seeded by init_genrand,
 * 53-bit doubles, the legacy polar gaussian with its cached second value, masked-rejection
 * intervals and the Fisher-Yates shuffle. Recipe: reference/semantics.md section 5.
 */
#include "core/core.h"

#include <math.h>
#include <stdint.h>

/* A fused multiply-add in x1 * x1 + x2 * x2 or loc + scale * gauss would round differently from
 * numpy. gcc does not contract in ISO C mode (-std=c11); clang is told so explicitly. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define MT_M 397                       /* twist offset */
#define MT_MATRIX_A 0x9908b0dfU        /* twist matrix constant */
#define MT_UPPER_MASK 0x80000000U      /* most significant bit of a word */
#define MT_LOWER_MASK 0x7fffffffU      /* the 31 low bits of a word */
#define MT_SEED_MULTIPLIER 1812433253U /* init_genrand's multiplier */

/* One word of the twist from the word at i, its successor's and the word M ahead (mod N). */
static inline uint32_t twist_word(uint32_t word, uint32_t next, uint32_t ahead) {
    const uint32_t y = (word & MT_UPPER_MASK) | (next & MT_LOWER_MASK);
    /* The matrix taken by a mask: the low bit is a coin flip a branch mispredicts half the time. */
    return ahead ^ (y >> 1) ^ (MT_MATRIX_A & (0U - (y & 1U)));
}

/* Rebuilds all BNMLP_MT19937_N state words (numpy's mt19937_gen) and rewinds position to 0. In
 * index order, in place, as mt19937_gen, in three runs without wrapped indices (the first two
 * vectorize: the first reads words not yet rebuilt, the second words rebuilt N - M before): the
 * same words. */
static void mt_twist(bnmlp_random *rng) {
    uint32_t *key = rng->key;
    enum { N = BNMLP_MT19937_N };
    for (int i = 0; i < N - MT_M; i++) key[i] = twist_word(key[i], key[i + 1], key[i + MT_M]);
    for (int i = N - MT_M; i < N - 1; i++) key[i] = twist_word(key[i], key[i + 1], key[i + MT_M - N]);
    key[N - 1] = twist_word(key[N - 1], key[0], key[MT_M - 1]);
    rng->position = 0;
}

/* Seeds as init_genrand: key[0] = seed, key[i] = 1812433253 * (key[i-1] ^ (key[i-1] >> 30)) + i
 * (mod 2^32); the first draw twists. The cached normal is cleared. */
bnmlp_status bnmlp_random_seed(bnmlp_random *rng, uint32_t seed) {
    if (!rng) return BNMLP_ERR_NULL_ARGUMENT;
    uint32_t value = seed;
    for (int i = 0; i < BNMLP_MT19937_N; i++) {
        rng->key[i] = value;
        value = MT_SEED_MULTIPLIER * (value ^ (value >> 30)) + (uint32_t)i + 1U;
    }
    rng->position = BNMLP_MT19937_N;
    rng->has_gauss = 0;
    rng->gauss = 0.0;
    return BNMLP_OK;
}

/* MT19937's tempering of a state word (mt19937_next's). */
static inline uint32_t temper(uint32_t y) {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
}

/* Next tempered 32-bit word (mt19937_next) at *position, the caller's copy of rng->position
 * (kept in a register over a loop of draws, stored back when it ends). A position outside
 * [0, N) twists first, so a corrupted position never reads outside the state. */
static inline uint32_t next_word_at(bnmlp_random *rng, int *position) {
    if (*position < 0 || *position >= BNMLP_MT19937_N) {
        mt_twist(rng);
        *position = 0;
    }
    return temper(rng->key[(*position)++]);
}

uint32_t bnmlp_random_uint32(bnmlp_random *rng) {
    if (!rng) return 0;
    int position = rng->position;
    const uint32_t word = next_word_at(rng, &position);
    rng->position = position;
    return word;
}

/* Two words: 27 high bits from the first, 26 low bits from the second, over 2^53
 * (mt19937_next_double). */
double bnmlp_random_double(bnmlp_random *rng) {
    uint32_t high = bnmlp_random_uint32(rng) >> 5;
    uint32_t low = bnmlp_random_uint32(rng) >> 6;
    return ((double)high * 67108864.0 + (double)low) / 9007199254740992.0;
}

/* numpy's legacy_gauss: returns the cached value if there is one; otherwise draws points in the
 * unit disc (excluding the centre), returns f * x2 and caches f * x1. */
double bnmlp_random_gauss(bnmlp_random *rng) {
    if (!rng) return 0.0;
    if (rng->has_gauss) {
        double cached = rng->gauss;
        rng->has_gauss = 0;
        rng->gauss = 0.0;
        return cached;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * bnmlp_random_double(rng) - 1.0;
        x2 = 2.0 * bnmlp_random_double(rng) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    rng->gauss = f * x1;
    rng->has_gauss = 1;
    return f * x2;
}

/* legacy_normal: loc + scale * gauss, in that order of operations. */
double bnmlp_random_normal(bnmlp_random *rng, double loc, double scale) {
    if (!rng) return 0.0; /* as every draw from a NULL generator */
    return loc + scale * bnmlp_random_gauss(rng);
}

/* Next 64-bit value as numpy builds it from two words: the first word is the high half. */
static uint64_t next_uint64(bnmlp_random *rng) {
    uint64_t high = bnmlp_random_uint32(rng);
    return (high << 32) | bnmlp_random_uint32(rng);
}

/* random_interval: the smallest all-ones mask covering max, then masked draws until one is
 * <= max; 32-bit draws when max fits 32 bits, 64-bit draws otherwise. max 0 draws nothing. */
uint64_t bnmlp_random_interval(bnmlp_random *rng, uint64_t max) {
    if (max == 0 || !rng) return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t value;
    if (max <= 0xffffffffU) {
        int position = rng->position;
        do value = next_word_at(rng, &position) & mask;
        while (value > max);
        rng->position = position;
    } else {
        do value = next_uint64(rng) & mask;
        while (value > max);
    }
    return value;
}

/* RandomState.shuffle of a 1-D array: for i from n-1 down to 1, j = random_interval(i), swap
 * indices[i] and indices[j] (also when i == j). The draws of random_interval inlined for 32-bit
 * maxima without a branch on the rejection (a coin flip the predictor loses): each word either
 * gives j (i then moves down) or is rejected (j = i, a swap with itself, and i stays), the same
 * words in the same order; the mask shrinks as i passes a power of two. Above 2^32 - 1, the
 * 64-bit draws of random_interval. */
bnmlp_status bnmlp_random_shuffle(bnmlp_random *rng, size_t *indices, size_t n) {
    if (!rng || !indices) return BNMLP_ERR_NULL_ARGUMENT;
    size_t i = n > 0 ? n - 1 : 0;
    for (; i > 0xffffffffU; i--) {
        size_t j = (size_t)bnmlp_random_interval(rng, (uint64_t)i);
        size_t held = indices[i];
        indices[i] = indices[j];
        indices[j] = held;
    }
    if (i == 0) return BNMLP_OK;
    size_t mask = i;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    int position = rng->position;
    while (i > 0) {
        const uint32_t word = next_word_at(rng, &position); /* twists when the words run out */
        const size_t value = (size_t)word & mask;
        const size_t accept = (size_t)(value <= i);        /* 1 or 0 */
        const size_t j = i ^ ((value ^ i) & (0 - accept)); /* value, or i when rejected */
        const size_t held = indices[i];
        indices[i] = indices[j];
        indices[j] = held;
        i -= accept;
        if (i <= mask >> 1) mask >>= 1; /* i's smallest all-ones cover (i == 0 ends the loop) */
    }
    rng->position = position;
    return BNMLP_OK;
}

/* ---- the counter-based generator ------------------------------------------------------------------ */

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL /* splitmix64's increment: 2^64 / the golden ratio */

/* splitmix64's finalizer (Stafford's variant 13): a bijection of 64-bit words that mixes every
 * input bit into every output bit. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t bnmlp_counter_key(uint64_t key, uint64_t word) {
    /* The word is mixed on its own first, so that nearby words (steps, rows) give unrelated
     * offsets; the sum is mixed again so that both words reach every bit. */
    return mix64(key + mix64(word + GOLDEN_GAMMA));
}

uint64_t bnmlp_counter_bits(uint64_t key, uint64_t counter) {
    /* splitmix64: state key + (counter + 1) * gamma, finalized. */
    return mix64(key + (counter + 1) * GOLDEN_GAMMA);
}
