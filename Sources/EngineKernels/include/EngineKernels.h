// EngineKernels: the Engine's two matrix kernels in 256-bit AVX, for processors that have it.
//
// Each function computes exactly what the portable Swift kernel of the same name in
// Sources/Engine/Kernels.swift computes, bit for bit: the same element-wise multiplications and
// additions in the same order (no fused multiply-add, no reassociation), eight hidden units per
// instruction instead of four. Callers check sonar_kernels_have_avx() first.
#ifndef SONARLAB_ENGINE_KERNELS_H
#define SONARLAB_ENGINE_KERNELS_H

#include <stddef.h>

/// 1 when this processor and operating system run AVX instructions, else 0.
int sonar_kernels_have_avx(void);

/// Hidden activations h_s[j] = ReLU(b1[j] + sum_k x_s[k] * w1[k * hs + j]) of four samples, the sum over k
/// in order; ReLU keeps a value that is not below zero (as Swift's `replacing(with: 0, where: a .< 0)`).
/// Shapes: x_s has d values, w1 is d x hs row-major by input, b1 and each h_s have hs values.
void sonar_hidden4_avx(const float *x0, const float *x1, const float *x2, const float *x3, const float *w1,
                       const float *b1, ptrdiff_t d, ptrdiff_t hs, float *h0, float *h1, float *h2, float *h3);

/// Adds x_0[k]*dh_0[j], then x_1[k]*dh_1[j], x_2[k]*dh_2[j], x_3[k]*dh_3[j] to g[k * hs + j], in that order.
void sonar_outer4_avx(const float *x0, const float *x1, const float *x2, const float *x3, const float *dh0,
                      const float *dh1, const float *dh2, const float *dh3, float *g, ptrdiff_t d, ptrdiff_t hs);

#endif
