// The kernels of core/simd/kernels.h, written once over GCC vector extensions. Included by one
// translation unit per instruction set, after its headers and inside its `#pragma GCC target`.
// QUANTLENS_KERNEL_NAMESPACE names the copy, QUANTLENS_KERNEL_WIDTH is its register width in floats
// (4 SSE2, 8 AVX2, 16 AVX-512) and QUANTLENS_KERNEL_LEVEL 0, 1 or 2 gates what only a wider set
// does well (the 16-entry permute of the 4-bit dequantizer). The 16 lanes of kernels.h are
// 16 / width registers.
//
// Bit-identity across the copies rests on three rules: every float operation is elementwise and
// written out (no reassociation; the files build with -ffp-contract=off, so no FMA either); a
// running sum keeps its fixed lane (i % 16, or the group a lane stands for); and what is not
// elementwise (max, integer counts) does not depend on order.

#include "core/metrics/magnitude_histogram.h"
#include "core/quant/bnb_tables.h"
#include "core/simd/kernels.h"

namespace quantlens::core::kernels::QUANTLENS_KERNEL_NAMESPACE {

namespace {

// The register width of this copy: 4, 8 or 16 floats. A 16-lane quantity is kParts registers; GCC
// would split 64-byte vector types by itself, but it turns their selects into scalar code.
constexpr std::size_t kWidth = QUANTLENS_KERNEL_WIDTH;
constexpr std::size_t kParts = kLanes / kWidth;
using Fv = float __attribute__((vector_size(4 * kWidth)));
using Iv = std::int32_t __attribute__((vector_size(4 * kWidth)));
using Uv = std::uint32_t __attribute__((vector_size(4 * kWidth)));
using I8v = std::int32_t __attribute__((vector_size(32)));
using F16v = float __attribute__((vector_size(64)));
using I16v = std::int32_t __attribute__((vector_size(64)));

#define QL_INLINE inline __attribute__((always_inline))

QL_INLINE Fv loadF(const float* p)
{
    Fv v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

QL_INLINE void storeF(float* p, Fv v)
{
    std::memcpy(p, &v, sizeof v);
}

QL_INLINE Uv bitsOf(Fv v)
{
    Uv u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

QL_INLINE Fv floatsOf(Uv u)
{
    Fv v;
    std::memcpy(&v, &u, sizeof v);
    return v;
}

QL_INLINE Fv splat(float x)
{
    return Fv {} + x;
}

QL_INLINE Fv absF(Fv v)
{
    return floatsOf(bitsOf(v) & 0x7fffffffu);
}

QL_INLINE Fv toFloat(Iv v)
{
    return __builtin_convertvector(v, Fv);
}

// ggml's nearest_int: round to nearest even through the float adder (|x| <= 4194303).
QL_INLINE Iv nearestInt(Fv x)
{
    const Uv u = bitsOf(x + 12582912.f);
    return Iv(u & 0x007fffffu) - 0x00400000;
}

QL_INLINE Iv clampInt(Iv v, int lo, int hi)
{
    v = v < hi ? v : Iv {} + hi;
    return v > lo ? v : Iv {} + lo;
}

// MagnitudeHistogram::binOf, lane by lane.
QL_INLINE Uv magnitudeBins(Fv magnitudes)
{
    constexpr std::uint32_t kLowest = std::bit_cast<std::uint32_t>(0x1p-64f); // MagnitudeHistogram's lowest edge
    constexpr std::uint32_t kLast = MagnitudeHistogram::kBinCount - 1;
    const Uv u = bitsOf(magnitudes);
    Uv bin = ((u - kLowest) >> 19) + 1u;
    bin = u < kLowest ? Uv {} : bin;
    return bin > kLast ? Uv {} + kLast : bin;
}

std::uint32_t magnitudeBin(float magnitude)
{
    return magnitudeBins(splat(magnitude))[0];
}

void errorSubBlock(const float* x, const float* q, std::size_t n, ErrorLanes& lanes, std::uint32_t* bins)
{
    // Lane k of part p is lane p * kWidth + k of the 16.
    Fv squaredError[kParts] = {}, absError[kParts] = {}, squaredOriginal[kParts] = {},
       squaredReconstructed[kParts] = {}, product[kParts] = {}, maxAbs[kParts] = {};
    Fv minAbs[kParts];
    for (auto& m : minAbs)
        m = splat(__builtin_inff());
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        for (std::size_t p = 0; p < kParts; ++p) {
            const Fv xv = loadF(x + i + p * kWidth);
            const Fv qv = loadF(q + i + p * kWidth);
            const Fv e = qv - xv;
            const Fv a = absF(e);
            squaredError[p] += e * e;
            absError[p] += a;
            squaredOriginal[p] += xv * xv;
            squaredReconstructed[p] += qv * qv;
            product[p] += xv * qv;
            maxAbs[p] = a > maxAbs[p] ? a : maxAbs[p];
            minAbs[p] = a < minAbs[p] ? a : minAbs[p];
            const Uv b = magnitudeBins(a);
            std::memcpy(bins + i + p * kWidth, &b, sizeof b);
        }
    }
    for (std::size_t p = 0; p < kParts; ++p) {
        storeF(lanes.squaredError + p * kWidth, squaredError[p]);
        storeF(lanes.absError + p * kWidth, absError[p]);
        storeF(lanes.squaredOriginal + p * kWidth, squaredOriginal[p]);
        storeF(lanes.squaredReconstructed + p * kWidth, squaredReconstructed[p]);
        storeF(lanes.product + p * kWidth, product[p]);
        storeF(lanes.maxAbs + p * kWidth, maxAbs[p]);
        storeF(lanes.minAbs + p * kWidth, minAbs[p]);
    }
    for (std::size_t k = 0; i < n; ++i, ++k) {
        const float e = q[i] - x[i];
        const float a = std::fabs(e);
        lanes.squaredError[k] += e * e;
        lanes.absError[k] += a;
        lanes.squaredOriginal[k] += x[i] * x[i];
        lanes.squaredReconstructed[k] += q[i] * q[i];
        lanes.product[k] += x[i] * q[i];
        lanes.maxAbs[k] = a > lanes.maxAbs[k] ? a : lanes.maxAbs[k];
        lanes.minAbs[k] = a < lanes.minAbs[k] ? a : lanes.minAbs[k];
        bins[i] = magnitudeBin(a);
    }
}

QL_INLINE Uv valueBinsOf(Fv v, float lo, float scale, float last, std::uint32_t spare)
{
    Fv position = (v - lo) * scale;
    position = position > 0.0f ? position : Fv {};
    position = position < last ? position : splat(last);
    const Uv bin = Uv(__builtin_convertvector(position, Iv));
    const auto finite = (bitsOf(v) & 0x7f800000u) != 0x7f800000u;
    return finite ? bin : Uv {} + spare;
}

void valueBins(const float* v, std::size_t n, float lo, float scale, float last, std::uint32_t spare,
               std::uint32_t* bins)
{
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) {
        const Uv b = valueBinsOf(loadF(v + i), lo, scale, last, spare);
        std::memcpy(bins + i, &b, sizeof b);
    }
    for (; i < n; ++i)
        bins[i] = valueBinsOf(splat(v[i]), lo, scale, last, spare)[0];
}

void minMax(const float* v, std::size_t n, float& lo, float& hi)
{
    Fv low[2] = {splat(__builtin_inff()), splat(__builtin_inff())};
    Fv high[2] = {-low[0], -low[0]};
    std::size_t i = 0;
    for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
        for (std::size_t p = 0; p < 2; ++p) {
            const Fv x = loadF(v + i + p * kWidth);
            low[p] = x < low[p] ? x : low[p];
            high[p] = x > high[p] ? x : high[p];
        }
    }
    float l = low[0][0], h = high[0][0];
    for (std::size_t p = 0; p < 2; ++p) {
        for (std::size_t k = 0; k < kWidth; ++k) {
            l = low[p][k] < l ? low[p][k] : l;
            h = high[p][k] > h ? high[p][k] : h;
        }
    }
    for (; i < n; ++i) {
        l = v[i] < l ? v[i] : l;
        h = v[i] > h ? v[i] : h;
    }
    lo = l;
    hi = h;
}

// max |x| over count values (a multiple of 8) as fmaxf from -FLT_MAX gives it: a max over the
// magnitude bits as integers (the same order for non-NaN floats), fmaxf when a NaN is among them.
float blockAbsmax(const float* x, std::uint32_t count)
{
    Uv m[2] = {};
    std::uint32_t i = 0;
    for (; i + 2 * kWidth <= count; i += 2 * kWidth) {
        for (std::size_t p = 0; p < 2; ++p) {
            const Uv a = bitsOf(loadF(x + i + p * kWidth)) & 0x7fffffffu;
            m[p] = a > m[p] ? a : m[p];
        }
    }
    std::uint32_t top = 0;
    for (std::size_t p = 0; p < 2; ++p)
        for (std::size_t k = 0; k < kWidth; ++k)
            top = m[p][k] > top ? m[p][k] : top;
    for (; i < count; ++i) {
        std::uint32_t a;
        std::memcpy(&a, x + i, sizeof a);
        a &= 0x7fffffffu;
        top = a > top ? a : top;
    }
    if (top <= 0x7f800000u) {
        float result;
        std::memcpy(&result, &top, sizeof result);
        return result;
    }
    float result = -__FLT_MAX__;
    for (std::uint32_t k = 0; k < count; ++k)
        result = std::fmax(result, std::fabs(x[k]));
    return result;
}

// The number of thresholds x is above (the trees' leaf: thresholds ascend, comparisons are strict,
// NaN counts 0).
QL_INLINE Iv nf4Codes(Fv x)
{
    Iv count {};
    for (float threshold : kNf4Threshold)
        count -= x > threshold; // a true lane is -1
    return count;
}

QL_INLINE Iv fp4Codes(Fv x)
{
    // FP4 magnitude bits by the number of kFp4Threshold values |x| is above.
    constexpr int kMagnitudeByRank[8] = {0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011};
    const Fv a = absF(x);
    Iv rank {};
    for (float threshold : kFp4Threshold)
        rank -= a > threshold;
    Iv codes {};
    for (int r = 1; r < 8; ++r)
        codes = rank == r ? Iv {} + kMagnitudeByRank[r] : codes;
    const Iv negative = x <= -0x1p-126f; // flush-to-zero, as quantizeFp4Value
    return codes | (negative & 0b1000);
}

// kWidth codes -> kWidth / 2 bytes, the first of each pair in the high nibble.
QL_INLINE void packCodes(Iv codes, std::uint8_t* out)
{
    for (std::size_t k = 0; k < kWidth; k += 2)
        out[k / 2] = static_cast<std::uint8_t>(codes[k] << 4 | codes[k + 1]);
}

template <int kType> void packBlock(const float* x, std::uint32_t count, float inverse, std::uint8_t* packed)
{
    std::uint32_t i = 0;
    for (; i + kWidth <= count; i += kWidth) {
        const Fv v = loadF(x + i) * inverse;
        packCodes(kType == 0 ? nf4Codes(v) : fp4Codes(v), packed + i / 2);
    }
    if (i < count) { // fewer than kWidth values left (a multiple of 8)
        float rest[kWidth] = {};
        std::memcpy(rest, x + i, (count - i) * sizeof(float));
        const Fv v = loadF(rest) * inverse;
        std::uint8_t bytes[kWidth / 2];
        packCodes(kType == 0 ? nf4Codes(v) : fp4Codes(v), bytes);
        std::memcpy(packed + i / 2, bytes, (count - i) / 2);
    }
}

void quantize4bit(int type, const float* in, std::size_t blocks, std::uint32_t blocksize, std::uint8_t* packed,
                  float* absmax)
{
    for (std::size_t b = 0; b < blocks; ++b) {
        const float* x = in + b * blocksize;
        absmax[b] = blockAbsmax(x, blocksize);
        const float inverse = 1.0f / absmax[b];
        if (type == 0)
            packBlock<0>(x, blocksize, inverse, packed + b * blocksize / 2);
        else
            packBlock<1>(x, blocksize, inverse, packed + b * blocksize / 2);
    }
}

void dequantize4bit(const float* scaledCodes, const std::uint8_t* packed, std::size_t bytes, float* out)
{
    std::size_t i = 0;
#if QUANTLENS_KERNEL_LEVEL >= 2
    // A variable permute of the 16-entry table (vpermps): 16 values per step.
    F16v table;
    std::memcpy(&table, scaledCodes, sizeof table);
    for (; i + 8 <= bytes; i += 8) {
        using Byte8 = std::uint8_t __attribute__((vector_size(8)));
        Byte8 b;
        std::memcpy(&b, packed + i, sizeof b);
        const I8v wide = __builtin_convertvector(b, I8v);
        const I8v high = wide >> 4;
        const I8v low = wide & 0x0f;
        const I16v index = __builtin_shufflevector(high, low, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        const F16v values = __builtin_shuffle(table, index);
        std::memcpy(out + 2 * i, &values, sizeof values);
    }
#endif
    for (; i < bytes; ++i) {
        out[2 * i] = scaledCodes[packed[i] >> 4];
        out[2 * i + 1] = scaledCodes[packed[i] & 0x0f];
    }
}

// table[index] lane by lane: one gather instruction where the set has one.
QL_INLINE Fv gather(const float* table, Iv index)
{
    // The masked forms with a zero source: GCC 12 warns that the plain ones read an undefined register.
#if QUANTLENS_KERNEL_LEVEL >= 2
    return Fv(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), __mmask16(0xffff), __m512i(index), table, 4));
#elif QUANTLENS_KERNEL_LEVEL >= 1
    return Fv(_mm256_mask_i32gather_ps(_mm256_setzero_ps(), table, __m256i(index),
                                       _mm256_castsi256_ps(_mm256_set1_epi32(-1)), 4));
#else
    Fv v;
    for (std::size_t k = 0; k < kWidth; ++k)
        v[k] = table[index[k]];
    return v;
#endif
}

// dQuantize<0>'s search on a register of values, without branches: the same comparisons on the same
// pivots as its binary search, so the same index; after the search code[pivot] is the last value
// compared with, and its neighbours the last pivots passed on each side (pivot +- 1, or the ends).
QL_INLINE Iv dynamic8Codes(const float* code, Fv x)
{
    Iv pivot = Iv {} + 127;
    for (int step = 64; step > 0; step >>= 1)
        pivot += x > gather(code, pivot) ? Iv {} + step : Iv {} - step;
    // pivot is in [0, 254]: its upper neighbour always exists, the lower one is code[0] at 0.
    const Fv value = gather(code, pivot);
    const Iv below = pivot > 0 ? pivot - 1 : Iv {};
    const Fv upper = gather(code, pivot + 1);
    const Fv lower = gather(code, below);
    const Iv up = x > (upper + value) * 0.5f ? pivot + 1 : pivot;
    const Iv down = x < (lower + value) * 0.5f ? below : pivot;
    return x > value ? up : down;
}

void quantizeDynamic8(const float* code, const float* x, std::size_t n, float inverse, std::uint8_t* out)
{
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) {
        const Iv c = dynamic8Codes(code, loadF(x + i) * inverse);
        for (std::size_t k = 0; k < kWidth; ++k)
            out[i + k] = static_cast<std::uint8_t>(c[k]);
    }
    if (i < n) {
        float rest[kWidth] = {};
        std::memcpy(rest, x + i, (n - i) * sizeof(float));
        const Iv c = dynamic8Codes(code, loadF(rest) * inverse);
        for (std::size_t k = 0; i + k < n; ++k)
            out[i + k] = static_cast<std::uint8_t>(c[k]);
    }
}

void dequantizeDynamic8(const float* code, const std::uint8_t* codes, std::size_t n, float absmax, float* out)
{
    std::size_t i = 0;
#if QUANTLENS_KERNEL_LEVEL >= 1
    for (; i + kWidth <= n; i += kWidth) {
        Iv index;
        for (std::size_t k = 0; k < kWidth; ++k)
            index[k] = codes[i + k];
        storeF(out + i, gather(code, index) * absmax);
    }
#endif
    for (; i < n; ++i)
        out[i] = code[codes[i]] * absmax;
}

// The longest group the k-quant searches take (Q4_K/Q5_K's 32), and ggml's GROUP_MAX_EPS.
constexpr int kMaxGroup = 32;
constexpr float kGroupMaxEps = 1e-15f;

// Levels L[0, n) of this register's groups into LT (element i of group k at [i * 16 + k]), as T;
// lanes in `zero` get level 0.
template <typename T> QL_INLINE void storeLevels(const Iv* L, int n, Iv zero, T* LT)
{
    for (int i = 0; i < n; ++i) {
        const Iv l = zero ? Iv {} : L[i];
        for (std::size_t k = 0; k < kWidth; ++k)
            LT[i * int(kLanes) + int(k)] = static_cast<T>(l[k]);
    }
}

// make_qkx2_quants (ggml src/ggml-quants.c), lane k being group k: the scalar function's every
// operation, in its order, on 16 groups at once.
void qkx2QuantsPart(const float* xT, const float* wT, int n, int nmax, float rmin, float rdelta, int nstep, bool useMad,
                    std::uint8_t* LT, float* scalesOut, float* minsOut)
{
    Fv x[kMaxGroup] = {}, w[kMaxGroup] = {};
    Iv L[kMaxGroup], Laux[kMaxGroup];
    for (int i = 0; i < n; ++i) {
        x[i] = loadF(xT + i * kLanes);
        w[i] = loadF(wT + i * kLanes);
    }
    Fv min = x[0], max = x[0];
    Fv sumW = w[0];
    Fv sumX = sumW * x[0];
    for (int i = 1; i < n; ++i) {
        min = x[i] < min ? x[i] : min;
        max = x[i] > max ? x[i] : max;
        sumW += w[i];
        sumX += w[i] * x[i];
    }
    min = min > 0.0f ? Fv {} : min;
    const auto flat = max == min; // every level 0, scale 0
    const Fv flatMin = min;
    const Fv nmaxF = splat(float(nmax));
    Fv iscale = nmaxF / (max - min);
    Fv scale = 1.0f / iscale;
    Fv bestError {};
    const auto errorOf = [useMad](Fv diff) { return useMad ? absF(diff) : diff * diff; };
    for (int i = 0; i < n; ++i) {
        L[i] = clampInt(nearestInt(iscale * (x[i] - min)), 0, nmax);
        const Fv diff = scale * toFloat(L[i]) + min - x[i];
        bestError += w[i] * errorOf(diff);
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * float(is) + nmaxF) / (max - min);
        Fv sumL {}, sumL2 {}, sumXl {};
        for (int i = 0; i < n; ++i) {
            const Iv l = clampInt(nearestInt(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = l;
            const Fv lf = toFloat(l);
            sumL += w[i] * lf;
            sumL2 += w[i] * lf * lf;
            sumXl += w[i] * lf * x[i];
        }
        const Fv D = sumW * sumL2 - sumL * sumL;
        const auto solvable = D > 0.0f;
        Fv thisScale = (sumW * sumXl - sumX * sumL) / D;
        Fv thisMin = (sumL2 * sumX - sumL * sumXl) / D;
        const auto positive = thisMin > 0.0f;
        thisScale = positive ? sumXl / sumL2 : thisScale;
        thisMin = positive ? Fv {} : thisMin;
        Fv curError {};
        for (int i = 0; i < n; ++i) {
            const Fv diff = thisScale * toFloat(Laux[i]) + thisMin - x[i];
            curError += w[i] * errorOf(diff);
        }
        const auto better = solvable & (curError < bestError);
        for (int i = 0; i < n; ++i)
            L[i] = better ? Laux[i] : L[i];
        bestError = better ? curError : bestError;
        scale = better ? thisScale : scale;
        min = better ? thisMin : min;
    }
    scale = flat ? Fv {} : scale;
    min = flat ? flatMin : min;
    storeF(scalesOut, scale);
    storeF(minsOut, -min);
    storeLevels(L, n, flat, LT);
}

void qkx2Quants16(const float* xT, const float* wT, int n, int nmax, float rmin, float rdelta, int nstep, bool useMad,
                  std::uint8_t* LT, float* scales, float* mins)
{
    for (std::size_t p = 0; p < kParts; ++p)
        qkx2QuantsPart(xT + p * kWidth, wT + p * kWidth, n, nmax, rmin, rdelta, nstep, useMad, LT + p * kWidth,
                       scales + p * kWidth, mins + p * kWidth);
}

// The value of largest magnitude in each lane (the first of equal ones) and that magnitude, as
// make_qx_quants and make_q3_quants find them.
QL_INLINE void largestMagnitude(const Fv* x, int n, Fv& max, Fv& amax)
{
    for (int i = 0; i < n; ++i) {
        const Fv ax = absF(x[i]);
        const auto larger = ax > amax;
        amax = larger ? ax : amax;
        max = larger ? x[i] : max;
    }
}

// Levels l = clamp(nearest_int(iscale x), -nmax, nmax - 1), stored as l + offset, and the sums
// make_qx_quants (rmse_type 1) and make_q3_quants weigh them by: sum x^2 x l and sum x^2 l^2.
QL_INLINE void symmetricLevels(const Fv* x, int n, int nmax, Fv iscale, int offset, Iv* L, Fv& sumlx, Fv& suml2)
{
    sumlx = Fv {};
    suml2 = Fv {};
    for (int i = 0; i < n; ++i) {
        const Iv l = clampInt(nearestInt(iscale * x[i]), -nmax, nmax - 1);
        L[i] = l + offset;
        const Fv w = x[i] * x[i];
        const Fv lf = toFloat(l);
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
}

// make_qx_quants with rmse_type 1 and no quant weights (ggml src/ggml-quants.c), lane k being group k.
void qxQuantsPart(const float* xT, int n, int nmax, std::int8_t* LT, float* scalesOut)
{
    Fv x[kMaxGroup] = {};
    Iv L[kMaxGroup];
    for (int i = 0; i < n; ++i)
        x[i] = loadF(xT + i * kLanes);
    Fv max {}, amax {};
    largestMagnitude(x, n, max, amax);
    const auto tiny = amax < kGroupMaxEps;
    const Fv nmaxF = splat(float(nmax));
    Fv iscale = splat(float(-nmax)) / max;
    Fv sumlx, suml2;
    symmetricLevels(x, n, nmax, iscale, nmax, L, sumlx, suml2);
    Fv scale = suml2 != 0.0f ? sumlx / suml2 : Fv {};
    Fv best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0)
            continue;
        iscale = -(nmaxF + 0.1f * float(is)) / max;
        Iv candidate[kMaxGroup];
        symmetricLevels(x, n, nmax, iscale, nmax, candidate, sumlx, suml2);
        const auto better = (suml2 > 0.0f) & (sumlx * sumlx > best * suml2);
        for (int i = 0; i < n; ++i)
            L[i] = better ? candidate[i] : L[i];
        scale = better ? sumlx / suml2 : scale;
        best = better ? scale * sumlx : best;
    }
    scale = tiny ? Fv {} : scale;
    storeF(scalesOut, scale);
    storeLevels(L, n, tiny, LT);
}

void qxQuants16(const float* xT, int n, int nmax, std::int8_t* LT, float* scales)
{
    for (std::size_t p = 0; p < kParts; ++p)
        qxQuantsPart(xT + p * kWidth, n, nmax, LT + p * kWidth, scales + p * kWidth);
}

// make_q3_quants with do_rmse (ggml src/ggml-quants.c), lane k being group k. Its refinement
// changes one level at a time, each change feeding the next element's sums, and stops a group
// after the first pass that changes nothing: here a lane stops taking changes from that pass on.
void q3QuantsPart(const float* xT, int n, int nmax, std::int8_t* LT, float* scalesOut)
{
    Fv x[kMaxGroup] = {};
    Iv L[kMaxGroup];
    for (int i = 0; i < n; ++i)
        x[i] = loadF(xT + i * kLanes);
    Fv max {}, amax {};
    largestMagnitude(x, n, max, amax);
    const auto tiny = amax < kGroupMaxEps;
    const Fv iscale = splat(float(-nmax)) / max;
    Fv sumlx, suml2;
    symmetricLevels(x, n, nmax, iscale, 0, L, sumlx, suml2);
    Iv active = Iv {} - 1; // every lane refines until a pass changes nothing in it
    for (int itry = 0; itry < 5; ++itry) {
        Iv changed {};
        for (int i = 0; i < n; ++i) {
            const Fv w = x[i] * x[i];
            const Fv li = toFloat(L[i]);
            Fv slx = sumlx - w * x[i] * li;
            const auto positive = slx > 0.0f;
            Fv sl2 = suml2 - w * li * li;
            const Iv newL = clampInt(nearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
            const auto differs = newL != L[i];
            const Fv nf = toFloat(newL);
            slx += w * x[i] * nf;
            sl2 += w * nf * nf;
            const auto take = active & positive & differs & (sl2 > 0.0f) & (slx * slx * suml2 > sumlx * sumlx * sl2);
            L[i] = take ? newL : L[i];
            sumlx = take ? slx : sumlx;
            suml2 = take ? sl2 : suml2;
            changed |= take;
        }
        active &= changed;
        bool any = false;
        for (std::size_t k = 0; k < kWidth; ++k)
            any = any || active[k] != 0;
        if (!any)
            break;
    }
    Fv scale = suml2 > 0.0f ? sumlx / suml2 : Fv {};
    scale = tiny ? Fv {} : scale;
    storeF(scalesOut, scale);
    for (int i = 0; i < n; ++i)
        L[i] += nmax;
    storeLevels(L, n, tiny, LT);
}

void q3Quants16(const float* xT, int n, int nmax, std::int8_t* LT, float* scales)
{
    for (std::size_t p = 0; p < kParts; ++p)
        q3QuantsPart(xT + p * kWidth, n, nmax, LT + p * kWidth, scales + p * kWidth);
}

#undef QL_INLINE

} // namespace

Kernels table()
{
    Kernels k;
    k.errorSubBlock = errorSubBlock;
    k.valueBins = valueBins;
    k.minMax = minMax;
    k.quantize4bit = quantize4bit;
    k.dequantize4bit = dequantize4bit;
    k.quantizeDynamic8 = quantizeDynamic8;
    k.dequantizeDynamic8 = dequantizeDynamic8;
    k.qkx2Quants16 = qkx2Quants16;
    k.qxQuants16 = qxQuants16;
    k.q3Quants16 = q3Quants16;
    return k;
}

} // namespace quantlens::core::kernels::QUANTLENS_KERNEL_NAMESPACE
