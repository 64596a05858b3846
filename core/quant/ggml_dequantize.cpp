#include "core/quant/ggml_dequantize.h"

#include "core/quant/ggml_blocks.h"
#include "core/quant/ggml_types.h"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <array>
#include <cstring>
#include <vector>

// Two paths over the same formats. The reference functions (namespace `reference`) are line-by-line
// ports of ggml-org/ggml src/ggml-quants.c dequantize_row_*. The public dequantizeRow* functions
// take the faster of two: GCC already vectorises most reference loops as well as a rewrite does
// (ggml_bench, same run), so only F16 (a 64Ki-entry table instead of the branchy bit conversion),
// Q4_0 and Q6_K (unpacking split from the scaling into fixed 16/32-wide loops) have their own
// optimised code. Those keep the reference's float operations in the same order, so the bits are
// the same; ggml_dequantize_test.cpp checks every type's public path against the reference.
namespace quantlens::core {

namespace {

using namespace ggml;

std::size_t checkedBlockCount(DType type, std::span<const std::byte> blocks, std::span<float> out)
{
    const GgmlTypeTraits& traits = ggmlTraits(type);
    if (!traits.canDequantize)
        throw UnsupportedError(strCat("dequantization of ggml type ", traits.name, " is not supported"));
    if (out.size() % traits.blockElements != 0)
        throw Error(strCat(traits.name, ": ", out.size(), " output values are not a whole number of blocks of ",
                           traits.blockElements));
    const std::size_t blockCount = out.size() / traits.blockElements;
    if (blocks.size() != blockCount * traits.blockBytes)
        throw Error(strCat(traits.name, ": ", out.size(), " values need ", blockCount * traits.blockBytes,
                           " bytes of blocks, got ", blocks.size()));
    return blockCount;
}

template <typename Block> Block loadBlock(std::span<const std::byte> blocks, std::size_t index)
{
    Block block;
    std::memcpy(&block, blocks.data() + index * sizeof(Block), sizeof(Block));
    return block;
}

std::uint16_t loadU16(std::span<const std::byte> bytes, std::size_t index)
{
    std::uint16_t v;
    std::memcpy(&v, bytes.data() + 2 * index, 2);
    return v;
}

// ggml-org/ggml src/ggml-quants.c get_scale_min_k4: 8 six-bit scales and mins packed in 12 bytes.
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

// The 16 six-bit Q3_K scales (ggml dequantize_row_q3_K's kmask shuffle, written per scale).
inline std::array<std::int8_t, 16> unpackQ3KScales(const std::uint8_t* s)
{
    std::array<std::int8_t, 16> scales {};
    for (int j = 0; j < 16; ++j) {
        const int low = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
        const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        scales[static_cast<std::size_t>(j)] = static_cast<std::int8_t>(low | (high << 4));
    }
    return scales;
}

const std::array<float, 65536>& fp16Table()
{
    static const std::array<float, 65536> table = [] {
        std::array<float, 65536> t {};
        for (std::uint32_t h = 0; h < 65536; ++h)
            t[h] = fp16ToFloat(static_cast<std::uint16_t>(h));
        return t;
    }();
    return table;
}

} // namespace

namespace reference {

namespace {

// ggml-org/ggml src/ggml-quants.c dequantize_row_q4_0.
void rowQ4_0(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ4_0>(blocks, i);
        const float d = fp16ToFloat(x.d);
        for (int j = 0; j < kQk4_0 / 2; ++j) {
            const int x0 = (x.qs[j] & 0x0F) - 8;
            const int x1 = (x.qs[j] >> 4) - 8;
            y[i * kQk4_0 + j] = x0 * d;
            y[i * kQk4_0 + j + kQk4_0 / 2] = x1 * d;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q4_1.
void rowQ4_1(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ4_1>(blocks, i);
        const float d = fp16ToFloat(x.d);
        const float m = fp16ToFloat(x.m);
        for (int j = 0; j < kQk4_1 / 2; ++j) {
            const int x0 = x.qs[j] & 0x0F;
            const int x1 = x.qs[j] >> 4;
            y[i * kQk4_1 + j] = x0 * d + m;
            y[i * kQk4_1 + j + kQk4_1 / 2] = x1 * d + m;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q5_0.
void rowQ5_0(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ5_0>(blocks, i);
        const float d = fp16ToFloat(x.d);
        std::uint32_t qh;
        std::memcpy(&qh, x.qh, sizeof(qh));
        for (int j = 0; j < kQk5_0 / 2; ++j) {
            const std::uint8_t xh0 = static_cast<std::uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
            const std::uint8_t xh1 = static_cast<std::uint8_t>((qh >> (j + 12)) & 0x10);
            const std::int32_t x0 = ((x.qs[j] & 0x0F) | xh0) - 16;
            const std::int32_t x1 = ((x.qs[j] >> 4) | xh1) - 16;
            y[i * kQk5_0 + j] = static_cast<float>(x0) * d;
            y[i * kQk5_0 + j + kQk5_0 / 2] = static_cast<float>(x1) * d;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q5_1.
void rowQ5_1(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ5_1>(blocks, i);
        const float d = fp16ToFloat(x.d);
        const float m = fp16ToFloat(x.m);
        std::uint32_t qh;
        std::memcpy(&qh, x.qh, sizeof(qh));
        for (int j = 0; j < kQk5_1 / 2; ++j) {
            const std::uint8_t xh0 = static_cast<std::uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
            const std::uint8_t xh1 = static_cast<std::uint8_t>((qh >> (j + 12)) & 0x10);
            const int x0 = (x.qs[j] & 0x0F) | xh0;
            const int x1 = (x.qs[j] >> 4) | xh1;
            y[i * kQk5_1 + j] = x0 * d + m;
            y[i * kQk5_1 + j + kQk5_1 / 2] = x1 * d + m;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q8_0.
void rowQ8_0(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ8_0>(blocks, i);
        const float d = fp16ToFloat(x.d);
        for (int j = 0; j < kQk8_0; ++j)
            y[i * kQk8_0 + j] = x.qs[j] * d;
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q2_K.
void rowQ2K(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ2K>(blocks, i);
        const float d = fp16ToFloat(x.d);
        const float min = fp16ToFloat(x.dmin);
        const std::uint8_t* q = x.qs;
        int is = 0;
        for (int n = 0; n < kQkK; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                std::uint8_t sc = x.scales[is++];
                float dl = d * (sc & 0xF);
                float ml = min * (sc >> 4);
                for (int l = 0; l < 16; ++l)
                    *y++ = dl * static_cast<std::int8_t>((q[l] >> shift) & 3) - ml;
                sc = x.scales[is++];
                dl = d * (sc & 0xF);
                ml = min * (sc >> 4);
                for (int l = 0; l < 16; ++l)
                    *y++ = dl * static_cast<std::int8_t>((q[l + 16] >> shift) & 3) - ml;
                shift += 2;
            }
            q += 32;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q3_K.
void rowQ3K(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ3K>(blocks, i);
        const float dAll = fp16ToFloat(x.d);
        const std::uint8_t* q = x.qs;
        const std::uint8_t* hm = x.hmask;
        std::uint8_t m = 1;
        const auto scales = unpackQ3KScales(x.scales);
        int is = 0;
        for (int n = 0; n < kQkK; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                float dl = dAll * (scales[static_cast<std::size_t>(is++)] - 32);
                for (int l = 0; l < 16; ++l)
                    *y++ = dl * (static_cast<std::int8_t>((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
                dl = dAll * (scales[static_cast<std::size_t>(is++)] - 32);
                for (int l = 0; l < 16; ++l)
                    *y++ = dl * (static_cast<std::int8_t>((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                shift += 2;
                m = static_cast<std::uint8_t>(m << 1);
            }
            q += 32;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q4_K.
void rowQ4K(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ4K>(blocks, i);
        const std::uint8_t* q = x.qs;
        const float d = fp16ToFloat(x.d);
        const float min = fp16ToFloat(x.dmin);
        int is = 0;
        std::uint8_t sc, m;
        for (int j = 0; j < kQkK; j += 64) {
            getScaleMinK4(is + 0, x.scales, sc, m);
            const float d1 = d * sc;
            const float m1 = min * m;
            getScaleMinK4(is + 1, x.scales, sc, m);
            const float d2 = d * sc;
            const float m2 = min * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * (q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q5_K.
void rowQ5K(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ5K>(blocks, i);
        const std::uint8_t* ql = x.qs;
        const std::uint8_t* qh = x.qh;
        const float d = fp16ToFloat(x.d);
        const float min = fp16ToFloat(x.dmin);
        int is = 0;
        std::uint8_t sc, m;
        std::uint8_t u1 = 1, u2 = 2;
        for (int j = 0; j < kQkK; j += 64) {
            getScaleMinK4(is + 0, x.scales, sc, m);
            const float d1 = d * sc;
            const float m1 = min * m;
            getScaleMinK4(is + 1, x.scales, sc, m);
            const float d2 = d * sc;
            const float m2 = min * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            ql += 32;
            is += 2;
            u1 = static_cast<std::uint8_t>(u1 << 2);
            u2 = static_cast<std::uint8_t>(u2 << 2);
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q6_K.
void rowQ6K(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ6K>(blocks, i);
        const float d = fp16ToFloat(x.d);
        const std::uint8_t* ql = x.ql;
        const std::uint8_t* qh = x.qh;
        const std::int8_t* sc = x.scales;
        for (int n = 0; n < kQkK; n += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const auto q1 = static_cast<std::int8_t>(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                const auto q2 = static_cast<std::int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                const auto q3 = static_cast<std::int8_t>(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                const auto q4 = static_cast<std::int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

// ggml-org/ggml src/ggml-quants.c dequantize_row_q8_K.
void rowQ8K(std::span<const std::byte> blocks, float* y, std::size_t nb)
{
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ8K>(blocks, i);
        for (int j = 0; j < kQkK; ++j)
            *y++ = x.d * x.qs[j];
    }
}

void rowF32(std::span<const std::byte> blocks, float* y, std::size_t n)
{
    std::memcpy(y, blocks.data(), n * sizeof(float));
}

// ggml-org/ggml src/ggml.c ggml_fp16_to_fp32_row.
void rowF16(std::span<const std::byte> blocks, float* y, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i)
        y[i] = fp16ToFloat(loadU16(blocks, i));
}

// ggml-org/ggml src/ggml.c ggml_bf16_to_fp32_row.
void rowBf16(std::span<const std::byte> blocks, float* y, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i)
        y[i] = bf16ToFloat(loadU16(blocks, i));
}

} // namespace

} // namespace reference

void dequantizeGgmlReference(DType type, std::span<const std::byte> blocks, std::span<float> out)
{
    const std::size_t nb = checkedBlockCount(type, blocks, out);
    float* y = out.data();
    switch (type) {
    case DType::F32:
        reference::rowF32(blocks, y, nb);
        return;
    case DType::F16:
        reference::rowF16(blocks, y, nb);
        return;
    case DType::BF16:
        reference::rowBf16(blocks, y, nb);
        return;
    case DType::Q4_0:
        reference::rowQ4_0(blocks, y, nb);
        return;
    case DType::Q4_1:
        reference::rowQ4_1(blocks, y, nb);
        return;
    case DType::Q5_0:
        reference::rowQ5_0(blocks, y, nb);
        return;
    case DType::Q5_1:
        reference::rowQ5_1(blocks, y, nb);
        return;
    case DType::Q8_0:
        reference::rowQ8_0(blocks, y, nb);
        return;
    case DType::Q2_K:
        reference::rowQ2K(blocks, y, nb);
        return;
    case DType::Q3_K:
        reference::rowQ3K(blocks, y, nb);
        return;
    case DType::Q4_K:
        reference::rowQ4K(blocks, y, nb);
        return;
    case DType::Q5_K:
        reference::rowQ5K(blocks, y, nb);
        return;
    case DType::Q6_K:
        reference::rowQ6K(blocks, y, nb);
        return;
    case DType::Q8_K:
        reference::rowQ8K(blocks, y, nb);
        return;
    default:
        break;
    }
    throw UnsupportedError(strCat("dequantization of ", dtypeName(type), " is not supported"));
}

// The optimised path. Each keeps the reference's float expression (the same products and sums in
// the same order) so results stay bit-identical; only the data movement changes.

void dequantizeRowF32(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowF32(blocks, out.data(), checkedBlockCount(DType::F32, blocks, out));
}

void dequantizeRowF16(std::span<const std::byte> blocks, std::span<float> out)
{
    const std::size_t n = checkedBlockCount(DType::F16, blocks, out);
    const auto& table = fp16Table();
    const auto* src = reinterpret_cast<const unsigned char*>(blocks.data());
    for (std::size_t i = 0; i < n; ++i)
        out[i] = table[static_cast<std::size_t>(src[2 * i] | (src[2 * i + 1] << 8))];
}

void dequantizeRowBf16(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowBf16(blocks, out.data(), checkedBlockCount(DType::BF16, blocks, out));
}

void dequantizeRowQ4_0(std::span<const std::byte> blocks, std::span<float> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q4_0, blocks, out);
    const auto& table = fp16Table();
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ4_0>(blocks, i);
        const float d = table[x.d];
        float* y = out.data() + i * kQk4_0;
        for (int j = 0; j < 16; ++j)
            y[j] = static_cast<float>((x.qs[j] & 0x0F) - 8) * d;
        for (int j = 0; j < 16; ++j)
            y[j + 16] = static_cast<float>((x.qs[j] >> 4) - 8) * d;
    }
}

void dequantizeRowQ4_1(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ4_1(blocks, out.data(), checkedBlockCount(DType::Q4_1, blocks, out));
}

void dequantizeRowQ5_0(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ5_0(blocks, out.data(), checkedBlockCount(DType::Q5_0, blocks, out));
}

void dequantizeRowQ5_1(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ5_1(blocks, out.data(), checkedBlockCount(DType::Q5_1, blocks, out));
}

void dequantizeRowQ8_0(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ8_0(blocks, out.data(), checkedBlockCount(DType::Q8_0, blocks, out));
}

void dequantizeRowQ2K(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ2K(blocks, out.data(), checkedBlockCount(DType::Q2_K, blocks, out));
}

void dequantizeRowQ3K(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ3K(blocks, out.data(), checkedBlockCount(DType::Q3_K, blocks, out));
}

void dequantizeRowQ4K(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ4K(blocks, out.data(), checkedBlockCount(DType::Q4_K, blocks, out));
}

void dequantizeRowQ5K(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ5K(blocks, out.data(), checkedBlockCount(DType::Q5_K, blocks, out));
}

void dequantizeRowQ6K(std::span<const std::byte> blocks, std::span<float> out)
{
    const std::size_t nb = checkedBlockCount(DType::Q6_K, blocks, out);
    const auto& table = fp16Table();
    for (std::size_t i = 0; i < nb; ++i) {
        const auto x = loadBlock<BlockQ6K>(blocks, i);
        const float d = table[x.d];
        float* y = out.data() + i * kQkK;
        for (int half = 0; half < 2; ++half) {
            const std::uint8_t* ql = x.ql + 64 * half;
            const std::uint8_t* qh = x.qh + 32 * half;
            const std::int8_t* sc = x.scales + 8 * half;
            float* yh = y + 128 * half;
            // Four quarter-rows of 32; within each the scale changes after 16 values.
            for (int quarter = 0; quarter < 4; ++quarter) {
                const std::uint8_t* qlq = ql + (quarter & 1) * 32;
                const int lowShift = (quarter >> 1) * 4;
                const int highShift = quarter * 2;
                for (int part = 0; part < 2; ++part) {
                    const float ds = d * sc[part + 2 * quarter];
                    for (int l = 16 * part; l < 16 * part + 16; ++l) {
                        const int q = (((qlq[l] >> lowShift) & 0xF) | (((qh[l] >> highShift) & 3) << 4)) - 32;
                        yh[32 * quarter + l] = ds * static_cast<float>(q);
                    }
                }
            }
        }
    }
}

void dequantizeRowQ8K(std::span<const std::byte> blocks, std::span<float> out)
{
    reference::rowQ8K(blocks, out.data(), checkedBlockCount(DType::Q8_K, blocks, out));
}

void dequantizeGgml(DType type, std::span<const std::byte> blocks, std::span<float> out)
{
    switch (type) {
    case DType::F32:
        dequantizeRowF32(blocks, out);
        return;
    case DType::F16:
        dequantizeRowF16(blocks, out);
        return;
    case DType::BF16:
        dequantizeRowBf16(blocks, out);
        return;
    case DType::Q4_0:
        dequantizeRowQ4_0(blocks, out);
        return;
    case DType::Q4_1:
        dequantizeRowQ4_1(blocks, out);
        return;
    case DType::Q5_0:
        dequantizeRowQ5_0(blocks, out);
        return;
    case DType::Q5_1:
        dequantizeRowQ5_1(blocks, out);
        return;
    case DType::Q8_0:
        dequantizeRowQ8_0(blocks, out);
        return;
    case DType::Q2_K:
        dequantizeRowQ2K(blocks, out);
        return;
    case DType::Q3_K:
        dequantizeRowQ3K(blocks, out);
        return;
    case DType::Q4_K:
        dequantizeRowQ4K(blocks, out);
        return;
    case DType::Q5_K:
        dequantizeRowQ5K(blocks, out);
        return;
    case DType::Q6_K:
        dequantizeRowQ6K(blocks, out);
        return;
    case DType::Q8_K:
        dequantizeRowQ8K(blocks, out);
        return;
    default:
        break;
    }
    checkedBlockCount(type, blocks, out);
    throw UnsupportedError(strCat("dequantization of ", dtypeName(type), " is not supported"));
}

} // namespace quantlens::core
