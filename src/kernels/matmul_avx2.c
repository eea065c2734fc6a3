/* The products of matmul.h with AVX2 and FMA: 8 floats a vector, 16
 * registers. Built with -mavx2 -mfma (see the Makefile) and called only
 * when the CPU has them (matmul_dispatch.c). */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

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
static inline float vsum(vec v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Tiles: 16 registers hold at most 12 accumulators plus the operands. */
#define FWD_J 3
#define FWD_X 3
#define BP_J 3
#define BP_V 3
#define BI_X 3
#define BI_V 3

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
