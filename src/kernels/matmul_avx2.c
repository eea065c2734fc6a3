/* The products of matmul.h with AVX2 and FMA: 8 floats a vector, 16
 * registers. Built with -mavx2 -mfma (see the Makefile) and called only
 * when the CPU has them (matmul_dispatch.c). */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>

#include "kernels/matmul_kernels.h"

typedef __m256 vec;
enum { W = 8 };

/* All ones in the first n lanes: what maskload and maskstore take. */
static inline __m256i first_lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline vec vzero(void) { return _mm256_setzero_ps(); }
static inline vec vset1(float x) { return _mm256_set1_ps(x); }
static inline vec vload(const float *p) { return _mm256_loadu_ps(p); }
static inline vec vload_n(const float *p, int n) { return _mm256_maskload_ps(p, first_lanes(n)); }
static inline void vstore(float *p, vec v) { _mm256_storeu_ps(p, v); }
static inline void vstore_n(float *p, vec v, int n) { _mm256_maskstore_ps(p, first_lanes(n), v); }
static inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline vec vmul(vec a, vec b) { return _mm256_mul_ps(a, b); }
static inline vec vsub(vec a, vec b) { return _mm256_sub_ps(a, b); }
static inline vec vadd(vec a, vec b) { return _mm256_add_ps(a, b); }
static inline unsigned vnonzero_lanes(vec v)
{
    return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, vzero(), _CMP_NEQ_UQ));
}
static inline int vnonzero(vec v) { return vnonzero_lanes(v) != 0; }
/* k + l for each lane l of v that is nonzero (or NaN), in order, packed
 * into dst (room for W); returns their number. Without branches. */
static inline int vnonzero_indices(int *dst, vec v, int k)
{
    int nonzero = _mm256_movemask_ps(_mm256_cmp_ps(v, vzero(), _CMP_NEQ_UQ)), n = 0;
    for (int l = 0; l < W; l++) {
        dst[n] = k + l;
        n += (nonzero >> l) & 1;
    }
    return n;
}
static inline vec vor(vec a, vec b) { return _mm256_or_ps(a, b); }

/* The sums of many vectors' lanes: halves, then quarters, ... (lane l with
 * lane l + h, h = 4, 2, 1), in an order fixed here rather than by the
 * compiler. Each step adds two vectors' lanes in those pairs and packs the
 * halves. */
static inline vec sum_halves_4(vec a, vec b) /* [a_i + a_i+4 | b_i + b_i+4] */
{
    return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}
static inline vec sum_halves_2(vec a, vec b) /* each 4 lanes: i + (i + 2) */
{
    return _mm256_add_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
}
static inline vec sum_halves_1(vec a, vec b) /* each 2 lanes: i + (i + 1) */
{
    return _mm256_add_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* Lane m = the sum of v[m]'s lanes in that order, for m < 8. The steps
 * leave lane 4L + c holding the sum of input L + 2c, so the inputs go in
 * transposed. */
static inline vec vsum_each(const vec *v)
{
    vec t[4], x[2];
    for (int p = 0; p < 4; p++) {
        int i = 2 * p, j = 2 * p + 1; /* inputs i and j: v[4 (i % 2) + i / 2] */
        t[p] = sum_halves_4(v[4 * (i % 2) + i / 2], v[4 * (j % 2) + j / 2]);
    }
    for (int r = 0; r < 2; r++) x[r] = sum_halves_2(t[2 * r], t[2 * r + 1]);
    return sum_halves_1(x[0], x[1]);
}

/* Doubles, for expf's argument reduction and polynomial (matmul_simd.h). */
typedef __m256d dvec;
enum { DW = 4 };
static inline dvec dset1(double x) { return _mm256_set1_pd(x); }
static inline dvec dload_f(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
static inline void dstore_f(float *p, dvec v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
static inline dvec dmul(dvec a, dvec b) { return _mm256_mul_pd(a, b); }
static inline dvec dsub(dvec a, dvec b) { return _mm256_sub_pd(a, b); }
static inline dvec dfma(dvec a, dvec b, dvec c) { return _mm256_fmadd_pd(a, b, c); }
static inline dvec dfms(dvec a, dvec b, dvec c) { return _mm256_fmsub_pd(a, b, c); }
static inline int dany_large(dvec x, double limit)
{
    dvec magnitude = _mm256_andnot_pd(dset1(-0.0), x);
    return _mm256_movemask_pd(_mm256_cmp_pd(magnitude, dset1(limit), _CMP_LT_OQ)) != 0xf;
}
static inline dvec dexp2_table(dvec z, const uint64_t *table)
{
    __m256i k = _mm256_castpd_si256(z);
    __m256i t = _mm256_i64gather_epi64((const long long *)table,
                                       _mm256_and_si256(k, _mm256_set1_epi64x(31)), 8);
    return _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64(k, 47)));
}

/* Tiles: 16 registers hold at most 12 accumulators plus the operands.
 * 10 accumulators in tiles of 5 by 2 cut a mini-batch of 10 examples, and
 * the 40 maps of chapter 6's second convolution, into whole tiles, and
 * each loaded vector feeds 2 or 5 multiply-adds: 7 loads for 10
 * multiply-adds (3 by 3 left tiles of one example or one neuron over, 6
 * loads for 9). On a Zen 3 core, with build/bench/kernels: the layers of
 * 1,000 at batch 10 went from 52 to 65 GFLOPS forward, from 40-50 to 65
 * in the step; the second convolution's BP2 from 49 to 79. */
#define FWD_J 2
#define FWD_X 5
#define BP_J 5
#define BP_V 2
#define BI_X 5
#define BI_V 2
#define FUSED_V 1 /* 10 accumulators for 10 examples, and the operands */
#define FUSED_ROWS 2
#define SPARSE_ACC 8
#define SPARSE_V 2

static int avx2_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define SIMD_NAME(x) avx2_##x
#define SIMD_TABLE matmul_kernels_avx2
#define SIMD_KERNELS_NAME "avx2"
#include "kernels/matmul_simd.h"

#endif
