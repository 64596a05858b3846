#include "core/quant/ggml_quantize.h"

#include "core/quant/ggml_blocks.h"
#include "core/quant/ggml_types.h"
#include "core/simd/kernels.h"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

// Ports of ggml-org/ggml src/ggml-quants.c (at d99724f2, the commit that made our fixtures) reference
// quantizers, the path ggml_quantize_chunk takes without an importance matrix. The arithmetic is
// kept as ggml writes it: float, not double; the same order of products and sums; nearest_int's
// magic-number rounding; casts that truncate where ggml's do; fp16 scales rounded to nearest even
// and read back before the final pass. Reordering any of it changes bytes.
namespace quantlens::core {

namespace {

using namespace ggml;

constexpr float kGroupMaxEps = 1e-15f; // GROUP_MAX_EPS

std::size_t checkedBlockCount(DType type, std::span<const float> in, std::span<std::byte> out)
{
    const GgmlTypeTraits& traits = ggmlTraits(type);
    if (!traits.canQuantize)
        throw UnsupportedError(strCat("quantization to ggml type ", traits.name, " is not supported"));
    if (in.size() % traits.blockElements != 0)
        throw Error(strCat(traits.name, ": ", in.size(), " input values are not a whole number of blocks of ",
                           traits.blockElements));
    const std::size_t blockCount = in.size() / traits.blockElements;
    if (out.size() != blockCount * traits.blockBytes)
        throw Error(strCat(traits.name, ": ", in.size(), " values need ", blockCount * traits.blockBytes,
                           " bytes of blocks, got ", out.size()));
    return blockCount;
}

template <typename Block> void storeBlock(std::span<std::byte> out, std::size_t index, const Block& block)
{
    std::memcpy(out.data() + index * sizeof(Block), &block, sizeof(Block));
}

// ggml-org/ggml src/ggml-quants.c nearest_int: round to nearest (ties to even) through the float
// adder, valid for |fval| <= 4194303.
inline int nearestInt(float fval)
{
    const float val = fval + 12582912.f;
    const int i = std::bit_cast<int>(val);
    return (i & 0x007fffff) - 0x00400000;
}

// ggml-org/ggml src/ggml-quants.c get_scale_min_k4.
inline void getScaleMinK4(int j, const std::uint8_t* q, std::uint8_t& d, std::uint8_t& m)
{
    if (j < 4) {
        d = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        d = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

// ggml-org/ggml src/ggml-quants.c make_qx_quants with qw == NULL (the only way the reference
// quantizers call it).
float makeQxQuants(int n, int nmax, const float* x, std::int8_t* L, int rmseType)
{
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i)
            L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    if (rmseType == 0) {
        for (int i = 0; i < n; ++i) {
            const int l = nearestInt(iscale * x[i]);
            L[i] = static_cast<std::int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    bool returnEarly = false;
    if (rmseType < 0) {
        rmseType = -rmseType;
        returnEarly = true;
    }
    auto weight = [rmseType](float v) -> float {
        return rmseType == 1 ? v * v : rmseType == 2 ? 1 : rmseType == 3 ? std::fabs(v) : std::sqrt(std::fabs(v));
    };
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearestInt(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = static_cast<std::int8_t>(l + nmax);
        const float w = weight(x[i]);
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (returnEarly)
        return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0)
            continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[i]);
            l = std::max(-nmax, std::min(nmax - 1, l));
            const float w = weight(x[i]);
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                const int l = nearestInt(iscale * x[i]);
                L[i] = static_cast<std::int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// ggml-org/ggml src/ggml-quants.c make_q3_quants.
float makeQ3Quants(int n, int nmax, const float* x, std::int8_t* L, bool doRmse)
{
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i)
            L[i] = 0;
        return 0.f;
    }
    const float iscale = -nmax / max;
    if (doRmse) {
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[i]);
            l = std::max(-nmax, std::min(nmax - 1, l));
            L[i] = static_cast<std::int8_t>(l);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int itry = 0; itry < 5; ++itry) {
            int nChanged = 0;
            for (int i = 0; i < n; ++i) {
                const float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0) {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int newL = nearestInt(x[i] * sl2 / slx);
                    newL = std::max(-nmax, std::min(nmax - 1, newL));
                    if (newL != L[i]) {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[i] = static_cast<std::int8_t>(newL);
                            sumlx = slx;
                            suml2 = sl2;
                            ++nChanged;
                        }
                    }
                }
            }
            if (!nChanged)
                break;
        }
        for (int i = 0; i < n; ++i)
            L[i] = static_cast<std::int8_t>(L[i] + nmax);
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }
    for (int i = 0; i < n; ++i) {
        int l = nearestInt(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = static_cast<std::int8_t>(l + nmax);
    }
    return 1 / iscale;
}

// ggml-org/ggml src/ggml-quants.c make_qkx2_quants: asymmetric (scale, min) search over nstep+1
// candidate scales, weighted squared (or absolute, use_mad) error.
float makeQkx2Quants(int n, int nmax, const float* x, const float* weights, std::uint8_t* L, float* theMin,
                     std::uint8_t* Laux, float rmin, float rdelta, int nstep, bool useMad)
{
    float min = x[0];
    float max = x[0];
    float sumW = weights[0];
    float sumX = sumW * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        const float w = weights[i];
        sumW += w;
        sumX += w * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i)
            L[i] = 0;
        *theMin = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float bestError = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearestInt(iscale * (x[i] - min));
        L[i] = static_cast<std::uint8_t>(std::max(0, std::min(nmax, l)));
        float diff = scale * L[i] + min - x[i];
        diff = useMad ? std::fabs(diff) : diff * diff;
        const float w = weights[i];
        bestError += w * diff;
    }
    if (nstep < 1) {
        *theMin = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sumL = 0, sumL2 = 0, sumXl = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * (x[i] - min));
            l = std::max(0, std::min(nmax, l));
            Laux[i] = static_cast<std::uint8_t>(l);
            const float w = weights[i];
            sumL += w * l;
            sumL2 += w * l * l;
            sumXl += w * l * x[i];
        }
        const float D = sumW * sumL2 - sumL * sumL;
        if (D > 0) {
            float thisScale = (sumW * sumXl - sumX * sumL) / D;
            float thisMin = (sumL2 * sumX - sumL * sumXl) / D;
            if (thisMin > 0) {
                thisMin = 0;
                thisScale = sumXl / sumL2;
            }
            float curError = 0;
            for (int i = 0; i < n; ++i) {
                float diff = thisScale * Laux[i] + thisMin - x[i];
                diff = useMad ? std::fabs(diff) : diff * diff;
                const float w = weights[i];
                curError += w * diff;
            }
            if (curError < bestError) {
                for (int i = 0; i < n; ++i)
                    L[i] = Laux[i];
                bestError = curError;
                scale = thisScale;
                min = thisMin;
            }
        }
    }
    *theMin = -min;
    return scale;
}

// Q4_K and Q5_K's weights of a group of 32: ggml's av_x + |x|.
void kWeights(const float* x, float* weights)
{
    float sumX2 = 0;
    for (int l = 0; l < 32; ++l)
        sumX2 += x[l] * x[l];
    const float avX = std::sqrt(sumX2 / 32);
    for (int l = 0; l < 32; ++l)
        weights[l] = avX + std::fabs(x[l]);
}

// Q2_K's weights of a group of 16: |x|.
void absWeights(const float* x, float* weights)
{
    for (int l = 0; l < 16; ++l)
        weights[l] = std::fabs(x[l]);
}

// make_qkx2_quants on `groups` (<= 16) consecutive groups of n values at x, all at once on the
// kernels (core/simd/kernels.h): the same operations in the same order as the scalar function
// for each group, so the same bytes. Unused lanes hold zeros (a flat group, no work of note).
template <typename WeightsOf>
void qkx2Groups(const float* x, int groups, int n, int nmax, float rmin, float rdelta, int nstep, bool useMad,
                WeightsOf weightsOf, std::uint8_t* L, float* scales, float* mins)
{
    constexpr int kLanes = int(kernels::kLanes);
    alignas(64) float xT[32 * kLanes] = {};
    alignas(64) float wT[32 * kLanes] = {};
    alignas(64) std::uint8_t LT[32 * kLanes];
    alignas(64) float laneScales[kLanes], laneMins[kLanes];
    float weights[32];
    for (int g = 0; g < groups; ++g) {
        weightsOf(x + g * n, weights);
        for (int i = 0; i < n; ++i) {
            xT[i * kLanes + g] = x[g * n + i];
            wT[i * kLanes + g] = weights[i];
        }
    }
    kernels::kernels().qkx2Quants16(xT, wT, n, nmax, rmin, rdelta, nstep, useMad, LT, laneScales, laneMins);
    for (int g = 0; g < groups; ++g) {
        scales[g] = laneScales[g];
        mins[g] = laneMins[g];
        for (int i = 0; i < n; ++i)
            L[g * n + i] = LT[i * kLanes + g];
    }
}

// A symmetric search (make_qx_quants with rmse_type 1, or make_q3_quants with do_rmse) on `groups`
// (<= 16) consecutive groups of n values, as above: `search` is the kernel's function.
using SymmetricSearch = void (*)(const float* xT, int n, int nmax, std::int8_t* LT, float* scales);
void symmetricGroups(SymmetricSearch search, const float* x, int groups, int n, int nmax, std::int8_t* L, float* scales)
{
    constexpr int kLanes = int(kernels::kLanes);
    alignas(64) float xT[32 * kLanes] = {};
    alignas(64) std::int8_t LT[32 * kLanes];
    alignas(64) float laneScales[kLanes];
    for (int g = 0; g < groups; ++g)
        for (int i = 0; i < n; ++i)
            xT[i * kLanes + g] = x[g * n + i];
    search(xT, n, nmax, LT, laneScales);
    for (int g = 0; g < groups; ++g) {
        scales[g] = laneScales[g];
        for (int i = 0; i < n; ++i)
            L[g * n + i] = LT[i * kLanes + g];
    }
}

// The scale search of Q4_K and Q5_K for the 8 groups of one super-block, group by group as
// quantize_row_q4_K_ref / quantize_row_q5_K_ref do it.
template <int kNmax>
void searchKGroups(const float* x, std::uint8_t* L, float* scales, float* mins, float rmin, int nstep)
{
    std::uint8_t Laux[32];
    float weights[32];
    for (int j = 0; j < kQkK / 32; ++j) {
        kWeights(x + 32 * j, weights);
        scales[j]
            = makeQkx2Quants(32, kNmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    }
}

// Q4_K and Q5_K share everything but the bit width and the search range: ggml-org/ggml
// src/ggml-quants.c quantize_row_q4_K_ref / quantize_row_q5_K_ref after the search, up to the
// packing of L.
template <int kNmax>
void finishKSuperBlock(const float* x, std::uint8_t* L, const float* scales, const float* mins, std::uint16_t& dOut,
                       std::uint16_t& dminOut, std::uint8_t* packedScales)
{
    float maxScale = 0;
    float maxMin = 0;
    for (int j = 0; j < kQkK / 32; ++j) {
        if (scales[j] > maxScale)
            maxScale = scales[j];
        if (mins[j] > maxMin)
            maxMin = mins[j];
    }
    const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
    const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
    std::memset(packedScales, 0, kKScaleSize);
    for (int j = 0; j < kQkK / 32; ++j) {
        // ggml stores nearest_int's int into a uint8_t before clamping; keep that truncation.
        auto ls = static_cast<std::uint8_t>(nearestInt(invScale * scales[j]));
        auto lm = static_cast<std::uint8_t>(nearestInt(invMin * mins[j]));
        ls = std::min<std::uint8_t>(63, ls);
        lm = std::min<std::uint8_t>(63, lm);
        if (j < 4) {
            packedScales[j] = ls;
            packedScales[j + 4] = lm;
        } else {
            packedScales[j + 4] = static_cast<std::uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
            packedScales[j - 4] = static_cast<std::uint8_t>(packedScales[j - 4] | ((ls >> 4) << 6));
            packedScales[j - 0] = static_cast<std::uint8_t>(packedScales[j - 0] | ((lm >> 4) << 6));
        }
    }
    dOut = floatToFp16(maxScale / 63.f);
    dminOut = floatToFp16(maxMin / 63.f);
    for (int j = 0; j < kQkK / 32; ++j) {
        std::uint8_t sc, m;
        getScaleMinK4(j, packedScales, sc, m);
        const float d = fp16ToFloat(dOut) * sc;
        if (!d)
            continue;
        const float dm = fp16ToFloat(dminOut) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = nearestInt((x[32 * j + ii] + dm) / d);
            l = std::max(0, std::min(kNmax, l));
            L[32 * j + ii] = static_cast<std::uint8_t>(l);
        }
    }
}

// The searches of up to two super-blocks at x (the 16 lanes of the kernels hold two Q4_K/Q5_K
// super-blocks of 8 groups), scalar or on the kernels.
template <int kNmax>
void searchKSuperBlocks(bool fast, const float* x, std::size_t superBlocks, std::uint8_t* L, float* scales, float* mins,
                        float rmin, int nstep)
{
    if (fast) {
        qkx2Groups(x, int(superBlocks) * (kQkK / 32), 32, kNmax, rmin, 0.1f, nstep, false, kWeights, L, scales, mins);
        return;
    }
    for (std::size_t b = 0; b < superBlocks; ++b)
        searchKGroups<kNmax>(x + b * kQkK, L + b * kQkK, scales + b * (kQkK / 32), mins + b * (kQkK / 32), rmin, nstep);
}

} // namespace

// ggml-org/ggml src/ggml-quants.c quantize_row_q4_0_ref: scale from the signed value of largest
// magnitude (d = max / -8), so that value maps to -8 exactly.
void quantizeRowQ4_0Ref(std::span<const float> in, std::span<std::byte> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q4_0, in, out);
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQk4_0;
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < kQk4_0; ++j) {
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        BlockQ4_0 y {};
        y.d = floatToFp16(d);
        for (int j = 0; j < kQk4_0 / 2; ++j) {
            const float x0 = x[j] * id;
            const float x1 = x[kQk4_0 / 2 + j] * id;
            // (int8_t)(x + 8.5f): truncation toward zero of a value in [0.5, 16.5].
            const int xi0 = std::min(15, static_cast<int>(x0 + 8.5f));
            const int xi1 = std::min(15, static_cast<int>(x1 + 8.5f));
            y.qs[j] = static_cast<std::uint8_t>(xi0 | (xi1 << 4));
        }
        storeBlock(out, i, y);
    }
}

// ggml-org/ggml src/ggml-quants.c quantize_row_q4_1_ref.
void quantizeRowQ4_1Ref(std::span<const float> in, std::span<std::byte> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q4_1, in, out);
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQk4_1;
        float min = FLT_MAX;
        float max = -FLT_MAX;
        for (int j = 0; j < kQk4_1; ++j) {
            if (x[j] < min)
                min = x[j];
            if (x[j] > max)
                max = x[j];
        }
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        BlockQ4_1 y {};
        y.d = floatToFp16(d);
        y.m = floatToFp16(min);
        for (int j = 0; j < kQk4_1 / 2; ++j) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[kQk4_1 / 2 + j] - min) * id;
            const int xi0 = std::min(15, static_cast<int>(x0 + 0.5f));
            const int xi1 = std::min(15, static_cast<int>(x1 + 0.5f));
            y.qs[j] = static_cast<std::uint8_t>(xi0 | (xi1 << 4));
        }
        storeBlock(out, i, y);
    }
}

// ggml-org/ggml src/ggml-quants.c quantize_row_q5_0_ref.
void quantizeRowQ5_0Ref(std::span<const float> in, std::span<std::byte> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q5_0, in, out);
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQk5_0;
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < kQk5_0; ++j) {
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        BlockQ5_0 y {};
        y.d = floatToFp16(d);
        std::uint32_t qh = 0;
        for (int j = 0; j < kQk5_0 / 2; ++j) {
            const float x0 = x[j] * id;
            const float x1 = x[kQk5_0 / 2 + j] * id;
            const auto xi0 = static_cast<std::uint32_t>(std::min(31, static_cast<int>(x0 + 16.5f)));
            const auto xi1 = static_cast<std::uint32_t>(std::min(31, static_cast<int>(x1 + 16.5f)));
            y.qs[j] = static_cast<std::uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + kQk5_0 / 2);
        }
        std::memcpy(y.qh, &qh, sizeof(qh));
        storeBlock(out, i, y);
    }
}

// ggml-org/ggml src/ggml-quants.c quantize_row_q5_1_ref.
void quantizeRowQ5_1Ref(std::span<const float> in, std::span<std::byte> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q5_1, in, out);
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQk5_1;
        float min = FLT_MAX;
        float max = -FLT_MAX;
        for (int j = 0; j < kQk5_1; ++j) {
            if (x[j] < min)
                min = x[j];
            if (x[j] > max)
                max = x[j];
        }
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        BlockQ5_1 y {};
        y.d = floatToFp16(d);
        y.m = floatToFp16(min);
        std::uint32_t qh = 0;
        for (int j = 0; j < kQk5_1 / 2; ++j) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[kQk5_1 / 2 + j] - min) * id;
            // ggml casts straight to uint8_t here, with no MIN(31, ...).
            const auto xi0 = static_cast<std::uint32_t>(static_cast<std::uint8_t>(static_cast<int>(x0 + 0.5f)));
            const auto xi1 = static_cast<std::uint32_t>(static_cast<std::uint8_t>(static_cast<int>(x1 + 0.5f)));
            y.qs[j] = static_cast<std::uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + kQk5_1 / 2);
        }
        std::memcpy(y.qh, &qh, sizeof(qh));
        storeBlock(out, i, y);
    }
}

// ggml-org/ggml src/ggml-quants.c quantize_row_q8_0_ref: roundf, i.e. ties away from zero.
void quantizeRowQ8_0Ref(std::span<const float> in, std::span<std::byte> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q8_0, in, out);
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQk8_0;
        float amax = 0.0f;
        for (int j = 0; j < kQk8_0; ++j)
            amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        BlockQ8_0 y {};
        y.d = floatToFp16(d);
        for (int j = 0; j < kQk8_0; ++j)
            y.qs[j] = static_cast<std::int8_t>(std::round(x[j] * id));
        storeBlock(out, i, y);
    }
}

namespace {

// Q2_K: `fast` searches the 16 groups of a super-block at once on the kernels, with the same bytes.
void quantizeRowQ2K(std::span<const float> in, std::span<std::byte> out, bool fast)
{
    const std::size_t nb = checkedBlockCount(DType::Q2_K, in, out);
    std::uint8_t L[kQkK];
    std::uint8_t Laux[16];
    float weights[16];
    float mins[kQkK / 16];
    float scales[kQkK / 16];
    const float q4scale = 15.f;
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQkK;
        BlockQ2K y {};
        float maxScale = 0;
        float maxMin = 0;
        if (fast) {
            qkx2Groups(x, kQkK / 16, 16, 3, -0.5f, 0.1f, 15, true, absWeights, L, scales, mins);
        } else {
            for (int j = 0; j < kQkK / 16; ++j) {
                absWeights(x + 16 * j, weights);
                scales[j]
                    = makeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
            }
        }
        for (int j = 0; j < kQkK / 16; ++j) {
            if (scales[j] > maxScale)
                maxScale = scales[j];
            if (mins[j] > maxMin)
                maxMin = mins[j];
        }
        if (maxScale > 0) {
            const float iscale = q4scale / maxScale;
            for (int j = 0; j < kQkK / 16; ++j)
                y.scales[j] = static_cast<std::uint8_t>(nearestInt(iscale * scales[j]));
            y.d = floatToFp16(maxScale / q4scale);
        } else {
            y.d = floatToFp16(0.f);
        }
        if (maxMin > 0) {
            const float iscale = q4scale / maxMin;
            for (int j = 0; j < kQkK / 16; ++j)
                y.scales[j] = static_cast<std::uint8_t>(y.scales[j] | (nearestInt(iscale * mins[j]) << 4));
            y.dmin = floatToFp16(maxMin / q4scale);
        } else {
            y.dmin = floatToFp16(0.f);
        }
        for (int j = 0; j < kQkK / 16; ++j) {
            const float d = fp16ToFloat(y.d) * (y.scales[j] & 0xF);
            if (!d)
                continue;
            const float dm = fp16ToFloat(y.dmin) * (y.scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt((x[16 * j + ii] + dm) / d);
                l = std::max(0, std::min(3, l));
                L[16 * j + ii] = static_cast<std::uint8_t>(l);
            }
        }
        for (int j = 0; j < kQkK; j += 128) {
            for (int l = 0; l < 32; ++l)
                y.qs[j / 4 + l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4)
                                                            | (L[j + l + 96] << 6));
        }
        storeBlock(out, i, y);
    }
}

} // namespace

// ggml-org/ggml src/ggml-quants.c quantize_row_q2_K_ref.
void quantizeRowQ2KRef(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ2K(in, out, false);
}

void quantizeRowQ2K(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ2K(in, out, true);
}

namespace {

// Q3_K: `fast` searches the 16 groups of a super-block at once on the kernels, with the same bytes.
void quantizeRowQ3K(std::span<const float> in, std::span<std::byte> out, bool fast)
{
    const std::size_t nb = checkedBlockCount(DType::Q3_K, in, out);
    std::int8_t L[kQkK];
    float scales[kQkK / 16];
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQkK;
        BlockQ3K y {};
        float maxScale = 0;
        float amax = 0;
        if (fast)
            symmetricGroups(kernels::kernels().q3Quants16, x, kQkK / 16, 16, 4, L, scales);
        else
            for (int j = 0; j < kQkK / 16; ++j)
                scales[j] = makeQ3Quants(16, 4, x + 16 * j, L + 16 * j, true);
        for (int j = 0; j < kQkK / 16; ++j) {
            const float scale = std::fabs(scales[j]);
            if (scale > amax) {
                amax = scale;
                maxScale = scales[j];
            }
        }
        if (maxScale) {
            const float iscale = -32.f / maxScale;
            for (int j = 0; j < kQkK / 16; ++j) {
                // ggml keeps nearest_int's result in an int8_t before clamping.
                int l = static_cast<std::int8_t>(nearestInt(iscale * scales[j]));
                l = std::max(-32, std::min(31, l)) + 32;
                if (j < 8)
                    y.scales[j] = static_cast<std::uint8_t>(l & 0xF);
                else
                    y.scales[j - 8] = static_cast<std::uint8_t>(y.scales[j - 8] | ((l & 0xF) << 4));
                l >>= 4;
                y.scales[j % 4 + 8] = static_cast<std::uint8_t>(y.scales[j % 4 + 8] | (l << (2 * (j / 4))));
            }
            y.d = floatToFp16(1 / iscale);
        } else {
            y.d = floatToFp16(0.f);
        }
        for (int j = 0; j < kQkK / 16; ++j) {
            int sc = j < 8 ? y.scales[j] & 0xF : y.scales[j - 8] >> 4;
            sc = (sc | (((y.scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
            const float d = fp16ToFloat(y.d) * sc;
            if (!d)
                continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[16 * j + ii] / d);
                l = std::max(-4, std::min(3, l));
                L[16 * j + ii] = static_cast<std::int8_t>(l + 4);
            }
        }
        // The high bit of the first 32 values goes to bit 0 of hmask[0..31], the next 32 to bit 1, ...
        int m = 0;
        std::uint8_t hm = 1;
        for (int j = 0; j < kQkK; ++j) {
            if (L[j] > 3) {
                y.hmask[m] = static_cast<std::uint8_t>(y.hmask[m] | hm);
                L[j] = static_cast<std::int8_t>(L[j] - 4);
            }
            if (++m == kQkK / 8) {
                m = 0;
                hm = static_cast<std::uint8_t>(hm << 1);
            }
        }
        for (int j = 0; j < kQkK; j += 128) {
            for (int l = 0; l < 32; ++l)
                y.qs[j / 4 + l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4)
                                                            | (L[j + l + 96] << 6));
        }
        storeBlock(out, i, y);
    }
}

} // namespace

// ggml-org/ggml src/ggml-quants.c quantize_row_q3_K_ref.
void quantizeRowQ3KRef(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ3K(in, out, false);
}

void quantizeRowQ3K(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ3K(in, out, true);
}

namespace {

// Q4_K: `fast` searches two super-blocks at a time on the kernels, with the same bytes.
void quantizeRowQ4K(std::span<const float> in, std::span<std::byte> out, bool fast)
{
    const std::size_t nb = checkedBlockCount(DType::Q4_K, in, out);
    std::uint8_t L[2 * kQkK];
    float scales[2 * kQkK / 32], mins[2 * kQkK / 32];
    for (std::size_t first = 0; first < nb; first += 2) {
        const std::size_t count = std::min<std::size_t>(2, nb - first);
        searchKSuperBlocks<15>(fast, in.data() + first * kQkK, count, L, scales, mins, -1.f, 20);
        for (std::size_t b = 0; b < count; ++b) {
            BlockQ4K y {};
            std::uint8_t* Lb = L + b * kQkK;
            finishKSuperBlock<15>(in.data() + (first + b) * kQkK, Lb, scales + b * 8, mins + b * 8, y.d, y.dmin,
                                  y.scales);
            std::uint8_t* q = y.qs;
            for (int j = 0; j < kQkK; j += 64) {
                for (int l = 0; l < 32; ++l)
                    q[l] = static_cast<std::uint8_t>(Lb[j + l] | (Lb[j + l + 32] << 4));
                q += 32;
            }
            storeBlock(out, first + b, y);
        }
    }
}

// Q5_K, as Q4_K.
void quantizeRowQ5K(std::span<const float> in, std::span<std::byte> out, bool fast)
{
    const std::size_t nb = checkedBlockCount(DType::Q5_K, in, out);
    std::uint8_t L[2 * kQkK];
    float scales[2 * kQkK / 32], mins[2 * kQkK / 32];
    for (std::size_t first = 0; first < nb; first += 2) {
        const std::size_t count = std::min<std::size_t>(2, nb - first);
        searchKSuperBlocks<31>(fast, in.data() + first * kQkK, count, L, scales, mins, -0.5f, 15);
        for (std::size_t b = 0; b < count; ++b) {
            BlockQ5K y {};
            std::uint8_t* Lb = L + b * kQkK;
            finishKSuperBlock<31>(in.data() + (first + b) * kQkK, Lb, scales + b * 8, mins + b * 8, y.d, y.dmin,
                                  y.scales);
            std::uint8_t* ql = y.qs;
            std::uint8_t m1 = 1, m2 = 2;
            for (int n = 0; n < kQkK; n += 64) {
                for (int j = 0; j < 32; ++j) {
                    int l1 = Lb[n + j];
                    if (l1 > 15) {
                        l1 -= 16;
                        y.qh[j] = static_cast<std::uint8_t>(y.qh[j] | m1);
                    }
                    int l2 = Lb[n + j + 32];
                    if (l2 > 15) {
                        l2 -= 16;
                        y.qh[j] = static_cast<std::uint8_t>(y.qh[j] | m2);
                    }
                    ql[j] = static_cast<std::uint8_t>(l1 | (l2 << 4));
                }
                m1 = static_cast<std::uint8_t>(m1 << 2);
                m2 = static_cast<std::uint8_t>(m2 << 2);
                ql += 32;
            }
            storeBlock(out, first + b, y);
        }
    }
}

} // namespace

// ggml-org/ggml src/ggml-quants.c quantize_row_q4_K_ref.
void quantizeRowQ4KRef(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ4K(in, out, false);
}

void quantizeRowQ4K(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ4K(in, out, true);
}

// ggml-org/ggml src/ggml-quants.c quantize_row_q5_K_ref.
void quantizeRowQ5KRef(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ5K(in, out, false);
}

void quantizeRowQ5K(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ5K(in, out, true);
}

namespace {

// Q6_K: `fast` searches the 16 groups of a super-block at once on the kernels, with the same bytes.
void quantizeRowQ6K(std::span<const float> in, std::span<std::byte> out, bool fast)
{
    const std::size_t nb = checkedBlockCount(DType::Q6_K, in, out);
    std::int8_t L[kQkK];
    float scales[kQkK / 16];
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQkK;
        BlockQ6K y {};
        float maxScale = 0;
        float maxAbsScale = 0;
        if (fast)
            symmetricGroups(kernels::kernels().qxQuants16, x, kQkK / 16, 16, 32, L, scales);
        else
            for (int ib = 0; ib < kQkK / 16; ++ib)
                scales[ib] = makeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, 1);
        for (int ib = 0; ib < kQkK / 16; ++ib) {
            const float scale = scales[ib];
            const float absScale = std::fabs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }
        if (maxAbsScale < kGroupMaxEps) {
            y.d = floatToFp16(0.f);
            storeBlock(out, i, y);
            continue;
        }
        const float iscale = -128.f / maxScale;
        y.d = floatToFp16(1 / iscale);
        for (int ib = 0; ib < kQkK / 16; ++ib)
            y.scales[ib] = static_cast<std::int8_t>(std::min(127, nearestInt(iscale * scales[ib])));
        for (int j = 0; j < kQkK / 16; ++j) {
            const float d = fp16ToFloat(y.d) * y.scales[j];
            if (!d)
                continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[16 * j + ii] / d);
                l = std::max(-32, std::min(31, l));
                L[16 * j + ii] = static_cast<std::int8_t>(l + 32);
            }
        }
        std::uint8_t* ql = y.ql;
        std::uint8_t* qh = y.qh;
        for (int j = 0; j < kQkK; j += 128) {
            for (int l = 0; l < 32; ++l) {
                const int q1 = L[j + l + 0] & 0xF;
                const int q2 = L[j + l + 32] & 0xF;
                const int q3 = L[j + l + 64] & 0xF;
                const int q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = static_cast<std::uint8_t>(q1 | (q3 << 4));
                ql[l + 32] = static_cast<std::uint8_t>(q2 | (q4 << 4));
                qh[l] = static_cast<std::uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2)
                                                  | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
        storeBlock(out, i, y);
    }
}

} // namespace

// ggml-org/ggml src/ggml-quants.c quantize_row_q6_K_ref.
void quantizeRowQ6KRef(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ6K(in, out, false);
}

void quantizeRowQ6K(std::span<const float> in, std::span<std::byte> out)
{
    quantizeRowQ6K(in, out, true);
}

// ggml-org/ggml src/ggml-quants.c quantize_row_q8_K_ref (iscale -127/max, as ggml uses since IQ2_XXS).
void quantizeRowQ8KRef(std::span<const float> in, std::span<std::byte> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q8_K, in, out);
    for (std::size_t i = 0; i < nb; ++i) {
        const float* x = in.data() + i * kQkK;
        BlockQ8K y {};
        float max = 0;
        float amax = 0;
        for (int j = 0; j < kQkK; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (!amax) {
            storeBlock(out, i, y);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < kQkK; ++j)
            y.qs[j] = static_cast<std::int8_t>(std::min(127, nearestInt(iscale * x[j])));
        for (int j = 0; j < kQkK / 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii)
                sum += y.qs[j * 16 + ii];
            y.bsums[j] = static_cast<std::int16_t>(sum);
        }
        y.d = 1 / iscale;
        storeBlock(out, i, y);
    }
}

void quantizeGgml(DType type, std::span<const float> in, std::span<std::byte> out)
{
    switch (type) {
    case DType::F32:
        checkedBlockCount(type, in, out);
        std::memcpy(out.data(), in.data(), in.size() * sizeof(float));
        return;
    case DType::F16:
    case DType::BF16: {
        checkedBlockCount(type, in, out);
        for (std::size_t i = 0; i < in.size(); ++i) {
            const std::uint16_t h = type == DType::F16 ? floatToFp16(in[i]) : floatToBf16(in[i]);
            std::memcpy(out.data() + 2 * i, &h, 2);
        }
        return;
    }
    case DType::Q4_0:
        quantizeRowQ4_0Ref(in, out);
        return;
    case DType::Q4_1:
        quantizeRowQ4_1Ref(in, out);
        return;
    case DType::Q5_0:
        quantizeRowQ5_0Ref(in, out);
        return;
    case DType::Q5_1:
        quantizeRowQ5_1Ref(in, out);
        return;
    case DType::Q8_0:
        quantizeRowQ8_0Ref(in, out);
        return;
    case DType::Q2_K:
        quantizeRowQ2K(in, out);
        return;
    case DType::Q3_K:
        quantizeRowQ3K(in, out);
        return;
    case DType::Q4_K:
        quantizeRowQ4K(in, out);
        return;
    case DType::Q5_K:
        quantizeRowQ5K(in, out);
        return;
    case DType::Q6_K:
        quantizeRowQ6K(in, out);
        return;
    case DType::Q8_K:
        quantizeRowQ8KRef(in, out);
        return;
    default:
        break;
    }
    checkedBlockCount(type, in, out);
    throw UnsupportedError(strCat("quantization to ", dtypeName(type), " is not supported"));
}

} // namespace quantlens::core
