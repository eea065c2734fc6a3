/* The random number generator behind initialization and shuffling.
 *
 * xoshiro256** (Blackman and Vigna, 2018), 256 bits of state, seeded by
 * running splitmix64 over (seed, stream). Different streams of one seed are
 * independent sequences: the network's initial weights use one, each
 * trainer's shuffling another, so that changing the batch size does not
 * change the initial weights. Everything is integer arithmetic except
 * rng_normal, so a seed gives the same numbers on every run and machine. */
#ifndef NNDL_COMMON_RNG_H
#define NNDL_COMMON_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

enum rng_stream {
    RNG_STREAM_INIT = 1,    /* initial weights and biases */
    RNG_STREAM_SHUFFLE = 2, /* order of training examples */
    RNG_STREAM_TEST_DATA = 3, /* random inputs of the gradient check */
    RNG_STREAM_DROPOUT = 4,   /* dropout masks */
    RNG_STREAM_AUGMENT = 5    /* distorted training images: 5 + 256 x image index */
};

void rng_seed(rng *r, uint64_t seed, uint64_t stream);
/* Whether `r` can be a state of the generator: any but all zeros, which
 * xoshiro256** never reaches and never leaves (it gives only zeros, and
 * rng_below would wait forever for another number). For states read from
 * files. */
int rng_state_valid(const rng *r);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng *r);
/* n draws of 1 with probability p, else 0, for dropout's masks (26,400 a
 * mini-batch for the chapter 6 networks): four draws from each number, its
 * 16-bit slices from the low bits up, each compared without branching to
 * p 2^16 rounded to the nearest integer. So p counts to the nearest
 * multiple of 2^-16 (0.5 and the other multiples exactly), and a call uses
 * ceil(n / 4) numbers. 0 <= p <= 1. */
void rng_bernoulli(rng *r, double p, uint8_t *out, size_t n);
/* Uniform integer in [0, bound), without modulo bias; bound > 0. */
uint64_t rng_below(rng *r, uint64_t bound);
/* Standard normal N(0,1) by the Box-Muller transform. */
double rng_normal(rng *r);
/* Fisher-Yates shuffle of n indices. */
void rng_shuffle(rng *r, uint32_t *items, size_t n);

#endif
