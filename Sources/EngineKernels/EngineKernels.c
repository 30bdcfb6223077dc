// See include/EngineKernels.h. Only the blocks of eight hidden units run here; the caller's portable
// Swift code does the remaining hs % 8 units, so both paths share one scalar tail.
#include "EngineKernels.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

int sonar_kernels_have_avx(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") ? 1 : 0;
}

__attribute__((target("avx"))) void sonar_hidden4_avx(const float *x0, const float *x1, const float *x2,
                                                      const float *x3, const float *w1, const float *b1,
                                                      ptrdiff_t d, ptrdiff_t hs, float *h0, float *h1,
                                                      float *h2, float *h3) {
    const ptrdiff_t blocked = hs - hs % 8;
    const __m256 zero = _mm256_setzero_ps();
    for (ptrdiff_t j0 = 0; j0 < blocked; j0 += 8) {
        const __m256 b = _mm256_loadu_ps(b1 + j0);
        __m256 a0 = b, a1 = b, a2 = b, a3 = b;
        const float *w = w1 + j0;
        for (ptrdiff_t k = 0; k < d; k++) {
            const __m256 row = _mm256_loadu_ps(w);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_broadcast_ss(x0 + k), row));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_broadcast_ss(x1 + k), row));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_broadcast_ss(x2 + k), row));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_broadcast_ss(x3 + k), row));
            w += hs;
        }
        // a < 0 (ordered, so NaN and -0 are kept) becomes +0.
        _mm256_storeu_ps(h0 + j0, _mm256_blendv_ps(a0, zero, _mm256_cmp_ps(a0, zero, _CMP_LT_OQ)));
        _mm256_storeu_ps(h1 + j0, _mm256_blendv_ps(a1, zero, _mm256_cmp_ps(a1, zero, _CMP_LT_OQ)));
        _mm256_storeu_ps(h2 + j0, _mm256_blendv_ps(a2, zero, _mm256_cmp_ps(a2, zero, _CMP_LT_OQ)));
        _mm256_storeu_ps(h3 + j0, _mm256_blendv_ps(a3, zero, _mm256_cmp_ps(a3, zero, _CMP_LT_OQ)));
    }
}

__attribute__((target("avx"))) void sonar_outer4_avx(const float *x0, const float *x1, const float *x2,
                                                     const float *x3, const float *dh0, const float *dh1,
                                                     const float *dh2, const float *dh3, float *g, ptrdiff_t d,
                                                     ptrdiff_t hs) {
    const ptrdiff_t blocked = hs - hs % 8;
    for (ptrdiff_t j0 = 0; j0 < blocked; j0 += 8) {
        const __m256 d0 = _mm256_loadu_ps(dh0 + j0), d1 = _mm256_loadu_ps(dh1 + j0);
        const __m256 d2 = _mm256_loadu_ps(dh2 + j0), d3 = _mm256_loadu_ps(dh3 + j0);
        float *row = g + j0;
        for (ptrdiff_t k = 0; k < d; k++) {
            __m256 acc = _mm256_loadu_ps(row);
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_broadcast_ss(x0 + k), d0));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_broadcast_ss(x1 + k), d1));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_broadcast_ss(x2 + k), d2));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_broadcast_ss(x3 + k), d3));
            _mm256_storeu_ps(row, acc);
            row += hs;
        }
    }
}

#else

int sonar_kernels_have_avx(void) { return 0; }

void sonar_hidden4_avx(const float *x0, const float *x1, const float *x2, const float *x3, const float *w1,
                       const float *b1, ptrdiff_t d, ptrdiff_t hs, float *h0, float *h1, float *h2, float *h3) {
    (void)x0; (void)x1; (void)x2; (void)x3; (void)w1; (void)b1; (void)d; (void)hs;
    (void)h0; (void)h1; (void)h2; (void)h3;
}

void sonar_outer4_avx(const float *x0, const float *x1, const float *x2, const float *x3, const float *dh0,
                      const float *dh1, const float *dh2, const float *dh3, float *g, ptrdiff_t d, ptrdiff_t hs) {
    (void)x0; (void)x1; (void)x2; (void)x3; (void)dh0; (void)dh1; (void)dh2; (void)dh3; (void)g; (void)d;
    (void)hs;
}

#endif
