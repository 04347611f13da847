/*
 * The BF16 decode GEMV of cgap.engine.cpu.MatMul written in C, for ./bench/gemv-anatomy --native yes only: the same
 * split (G rows a G-th of the range apart, in step; leftover rows one at a time), the same arithmetic per 64 bytes
 * (widen the even BF16 weights by a 16-bit shift and the odd ones by a mask, one FMA each against the pair-split x) and
 * the same per-thread chunks, so that the difference between the two is what the Java compilation costs. The lane sums
 * are gcc's tree (lane i + lane i+8, then +4, +2, +1), the same as MatMul.sum1's, so the outputs agree bit for bit;
 * the benchmark checks them (to 1e-4 of the largest, in case a compiler orders the sums differently).
 * Built by NativeGemv.build with gcc -O3 -march=native (AVX-512F needed).
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

static float dot1(const char *w, const float *xp, int k) {
    __m512 a = _mm512_setzero_ps();
    const __m512i hi = _mm512_set1_epi32((int) 0xffff0000);
    int kv = k - k % 32, t;
    for (t = 0; t < kv; t += 32) {
        __m512i v = _mm512_loadu_si512(w + 2 * (size_t) t);
        a = _mm512_fmadd_ps(_mm512_loadu_ps(xp + t), _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), a);
        a = _mm512_fmadd_ps(_mm512_loadu_ps(xp + t + 16), _mm512_castsi512_ps(_mm512_and_si512(v, hi)), a);
    }
    float s = _mm512_reduce_add_ps(a);
    for (; t < k; t++) {
        uint32_t b = (uint32_t) ((const uint16_t *) w)[t] << 16;
        float f;
        __builtin_memcpy(&f, &b, 4);
        s += xp[t] * f;
    }
    return s;
}

/* Rows [n0, n0 + G·q) in steps of G = 8 rows q apart (MatMul.STREAMS), the accumulators in registers. */
#define G 8
static void steps(const char *w, const float *xp, int k, int n0, int q, float *out) {
    const __m512i hi = _mm512_set1_epi32((int) 0xffff0000);
    int kv = k - k % 32;
    size_t rb = 2 * (size_t) k, st = (size_t) q * rb;
    for (int r = 0; r < q; r++) {
        const char *p = w + (size_t) (n0 + r) * rb;
        __m512 a[G];
        for (int s = 0; s < G; s++) a[s] = _mm512_setzero_ps();
        for (int t = 0; t < kv; t += 32) {
            __m512 xe = _mm512_loadu_ps(xp + t), xd = _mm512_loadu_ps(xp + t + 16);
            for (int s = 0; s < G; s++) {
                __m512i v = _mm512_loadu_si512(p + s * st + 2 * (size_t) t);
                a[s] = _mm512_fmadd_ps(xe, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), a[s]);
                a[s] = _mm512_fmadd_ps(xd, _mm512_castsi512_ps(_mm512_and_si512(v, hi)), a[s]);
            }
        }
        for (int s = 0; s < G; s++) {
            float v = _mm512_reduce_add_ps(a[s]);
            for (int t = kv; t < k; t++) {
                uint32_t b = (uint32_t) ((const uint16_t *) (p + s * st))[t] << 16;
                float f;
                __builtin_memcpy(&f, &b, 4);
                v += xp[t] * f;
            }
            out[n0 + r + s * q] = v;
        }
    }
}

/* out[j] for W rows j in [n0, n1); w is the whole row-major BF16 weight of k columns; xp is x pair-split as MatMul's;
   eight rows a step, as MatMul.STREAMS. */
void cgap_gemv_bf16_rows(const char *w, const float *xp, int k, int n0, int n1, float *out) {
    int q = (n1 - n0) / G;
    steps(w, xp, k, n0, q, out);
    for (int j = n0 + G * q; j < n1; j++) out[j] = dot1(w + (size_t) j * 2 * (size_t) k, xp, k);
}
