/* The products of matmul.h with AVX-512: 16 floats a vector, 32 registers.
 * Built with -mavx512f -mfma (see the Makefile) and called only when the CPU
 * has them (matmul_dispatch.c). */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>

#include "kernels/matmul_kernels.h"

typedef __m512 vec;
enum { W = 16 };

static inline __mmask16 first_lanes(int n) { return (__mmask16)((1u << n) - 1); }
static inline vec vzero(void) { return _mm512_setzero_ps(); }
static inline vec vset1(float x) { return _mm512_set1_ps(x); }
static inline vec vload(const float *p) { return _mm512_loadu_ps(p); }
static inline vec vload_n(const float *p, int n) { return _mm512_maskz_loadu_ps(first_lanes(n), p); }
static inline void vstore(float *p, vec v) { _mm512_storeu_ps(p, v); }
static inline void vstore_n(float *p, vec v, int n) { _mm512_mask_storeu_ps(p, first_lanes(n), v); }
static inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline vec vmul(vec a, vec b) { return _mm512_mul_ps(a, b); }
static inline vec vsub(vec a, vec b) { return _mm512_sub_ps(a, b); }
static inline vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
static inline unsigned vnonzero_lanes(vec v)
{
    return _mm512_cmp_ps_mask(v, vzero(), _CMP_NEQ_UQ);
}
static inline int vnonzero(vec v) { return vnonzero_lanes(v) != 0; }
/* k + l for each lane l of v that is nonzero (or NaN), in order, packed
 * into dst (room for W); returns their number. */
static inline int vnonzero_indices(int *dst, vec v, int k)
{
    __mmask16 nonzero = _mm512_cmp_ps_mask(v, vzero(), _CMP_NEQ_UQ);
    __m512i lanes = _mm512_add_epi32(_mm512_set1_epi32(k), _mm512_setr_epi32(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    /* compressed in a register, then stored whole: fast on every CPU */
    _mm512_storeu_si512(dst, _mm512_maskz_compress_epi32(nonzero, lanes));
    return __builtin_popcount(nonzero);
}
static inline vec vor(vec a, vec b)
{
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
/* The sums of many vectors' lanes: halves, then quarters, ... (lane l with
 * lane l + h of the same vector, h = 8, 4, 2, 1), spelled out rather than
 * _mm512_reduce_add_ps, whose order is each compiler's own, so that the
 * kernels give the same sums whichever compiler built them. Each step adds
 * two vectors' lanes in those pairs and packs the halves. */
static inline vec sum_halves_8(vec a, vec b) /* [a_i + a_i+8 | b_i + b_i+8] */
{
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
}
static inline vec sum_halves_4(vec a, vec b) /* each 8 lanes: i + (i + 4) */
{
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}
static inline vec sum_halves_2(vec a, vec b) /* each 4 lanes: i + (i + 2) */
{
    return _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
}
static inline vec sum_halves_1(vec a, vec b) /* each 2 lanes: i + (i + 1) */
{
    return _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* Lane m = the sum of v[m]'s lanes in that order, for m < 16: 45
 * instructions, where summing each vector alone (extract, add, ... four
 * times) takes 128. The steps leave lane 4L + c holding the sum of input
 * L + 4c, so the inputs go in transposed. */
static inline vec vsum_each(const vec *v)
{
    vec t[8], u[4], x[2];
    for (int p = 0; p < 8; p++) {
        int i = 2 * p, j = 2 * p + 1; /* inputs i and j: v[4 (i % 4) + i / 4] */
        t[p] = sum_halves_8(v[4 * (i % 4) + i / 4], v[4 * (j % 4) + j / 4]);
    }
    for (int q = 0; q < 4; q++) u[q] = sum_halves_4(t[2 * q], t[2 * q + 1]);
    for (int r = 0; r < 2; r++) x[r] = sum_halves_2(u[2 * r], u[2 * r + 1]);
    return sum_halves_1(x[0], x[1]);
}

/* Doubles, for expf's argument reduction and polynomial (matmul_simd.h). */
typedef __m512d dvec;
enum { DW = 8 };
static inline dvec dset1(double x) { return _mm512_set1_pd(x); }
static inline dvec dload_f(const float *p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
static inline void dstore_f(float *p, dvec v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
static inline dvec dmul(dvec a, dvec b) { return _mm512_mul_pd(a, b); }
static inline dvec dsub(dvec a, dvec b) { return _mm512_sub_pd(a, b); }
static inline dvec dfma(dvec a, dvec b, dvec c) { return _mm512_fmadd_pd(a, b, c); }
static inline dvec dfms(dvec a, dvec b, dvec c) { return _mm512_fmsub_pd(a, b, c); }
static inline int dany_large(dvec x, double limit)
{
    return _mm512_cmp_pd_mask(_mm512_abs_pd(x), dset1(limit), _CMP_LT_OQ) != 0xff;
}
static inline dvec dexp2_table(dvec z, const uint64_t *table)
{
    __m512i k = _mm512_castpd_si512(z);
    __m512i t = _mm512_i64gather_epi64(_mm512_and_si512(k, _mm512_set1_epi64(31)), table, 8);
    return _mm512_castsi512_pd(_mm512_add_epi64(t, _mm512_slli_epi64(k, 47)));
}

/* Tiles: up to 25 accumulators of the 32 registers. Sizes measured on
 * Zen 5 for [784,30,10] and [784,100,10]: 5 x 5 forward tiles run at
 * 210-225 GFLOP/s whether or not rows are 64-byte aligned, against 65-120
 * for 4 x 3 (fewer loads per multiply-add hide split loads); 5 neurons or
 * examples by 4 vectors is the best of the shapes tried for the other two.
 * 5 divides the usual layer sizes and batches, so edge tiles are rare. */
#define FWD_J 5
#define FWD_X 5
#define BP_J 5
#define BP_V 4
#define BI_X 5
#define BI_V 4
/* backward_input_step: 2 vectors of d_in for each of 10 examples (20
 * accumulators), the 2 of the weights and 2 of their gradient. */
#define FUSED_V 2
#define FUSED_ROWS 1
/* The sparse products: up to 4 vectors of outputs, by 4 chains (forward)
 * or by 24 accumulators in all (step: 12 columns of 2 vectors for 30
 * neurons). Against 16, 24 made [784,30,10] 2% faster and [784,100,10] 4%;
 * 28 spilled registers and was 50% slower. */
#define SPARSE_ACC 24
#define SPARSE_V 4

static int avx512_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

#define SIMD_NAME(x) avx512_##x
#define SIMD_TABLE matmul_kernels_avx512
#define SIMD_KERNELS_NAME "avx512"
#include "kernels/matmul_simd.h"

#endif
