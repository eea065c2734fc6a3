#include "common/rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

int rng_state_valid(const rng *r) { return (r->s[0] | r->s[1] | r->s[2] | r->s[3]) != 0; }

uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

void rng_bernoulli(rng *r, double p, uint8_t *out, size_t n)
{
    /* each 16-bit slice u of a number, low bits first, is uniform on
     * [0, 2^16): P(u < below) = below 2^-16 */
    const uint32_t below = (uint32_t)lround(p * 0x1.0p16);
    /* The state in a local copy: out's bytes may alias anything, r->s
     * included, so with r->s in the loop every store made the compiler
     * write the state back and read it again (34 us of a 1 ms mini-batch
     * of the final network at 2 threads, on the calling thread alone). */
    rng local = *r;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint64_t x = rng_next(&local);
        uint8_t four[4] = {(uint16_t)x < below, (uint16_t)(x >> 16) < below,
                           (uint16_t)(x >> 32) < below, (uint16_t)(x >> 48) < below};
        memcpy(out + i, four, sizeof four);
    }
    if (i < n)
        for (uint64_t x = rng_next(&local); i < n; i++, x >>= 16) out[i] = (uint16_t)x < below;
    *r = local;
}

uint64_t rng_below(rng *r, uint64_t bound)
{
    /* Reject the top partial block so every residue is equally likely. */
    uint64_t limit = -bound % bound; /* (2^64 - bound) mod bound */
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= limit) return x % bound;
    }
}

double rng_normal(rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - rng_uniform(r); /* (0, 1]: log(u1) is finite */
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

void rng_shuffle(rng *r, uint32_t *items, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, i);
        uint32_t t = items[i - 1];
        items[i - 1] = items[j];
        items[j] = t;
    }
}
