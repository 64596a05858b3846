#pragma once

#include <cstdint>

// ggml's block layouts, declared once, as ggml-org/ggml src/ggml-common.h declares them (QK_K = 256
// super-blocks for the k-quants). Plain structs with fixed-width fields so g++ and nvcc lay them out
// alike; fp16 scales are kept as their raw bits (core/util/float16.h converts them). Readers copy a
// block out of the file bytes with memcpy, since mapped data need not be aligned for uint16_t.
namespace quantlens::core::ggml {

inline constexpr int kQk4_0 = 32;
inline constexpr int kQk4_1 = 32;
inline constexpr int kQk5_0 = 32;
inline constexpr int kQk5_1 = 32;
inline constexpr int kQk8_0 = 32;
inline constexpr int kQkK = 256; // QK_K
inline constexpr int kKScaleSize = 12; // K_SCALE_SIZE: 8 six-bit scales + 8 six-bit mins

// 4.5 bits per weight: fp16 scale, 32 four-bit values (first half in the low nibbles).
struct BlockQ4_0 {
    std::uint16_t d;
    std::uint8_t qs[kQk4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// 5.0 bits per weight: fp16 scale and minimum, 32 four-bit values.
struct BlockQ4_1 {
    std::uint16_t d;
    std::uint16_t m;
    std::uint8_t qs[kQk4_1 / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// 5.5 bits per weight: fp16 scale, the 32 fifth bits, 32 low nibbles.
struct BlockQ5_0 {
    std::uint16_t d;
    std::uint8_t qh[4];
    std::uint8_t qs[kQk5_0 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// 6.0 bits per weight: fp16 scale and minimum, the 32 fifth bits, 32 low nibbles.
struct BlockQ5_1 {
    std::uint16_t d;
    std::uint16_t m;
    std::uint8_t qh[4];
    std::uint8_t qs[kQk5_1 / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// 8.5 bits per weight: fp16 scale, 32 signed bytes.
struct BlockQ8_0 {
    std::uint16_t d;
    std::int8_t qs[kQk8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// 2.625 bits per weight: 16 groups of 16 with 4-bit scale and 4-bit min each, fp16 super-block
// scale and min, 2-bit values.
struct BlockQ2K {
    std::uint8_t scales[kQkK / 16];
    std::uint8_t qs[kQkK / 4];
    std::uint16_t d;
    std::uint16_t dmin;
};
static_assert(sizeof(BlockQ2K) == 84);

// 3.4375 bits per weight: high bits apart (hmask), 2 low bits in qs, 16 six-bit scales packed in 12
// bytes, fp16 super-block scale.
struct BlockQ3K {
    std::uint8_t hmask[kQkK / 8];
    std::uint8_t qs[kQkK / 4];
    std::uint8_t scales[12];
    std::uint16_t d;
};
static_assert(sizeof(BlockQ3K) == 110);

// 4.5 bits per weight: 8 groups of 32 with 6-bit scale and min, fp16 super-block scale and min.
struct BlockQ4K {
    std::uint16_t d;
    std::uint16_t dmin;
    std::uint8_t scales[kKScaleSize];
    std::uint8_t qs[kQkK / 2];
};
static_assert(sizeof(BlockQ4K) == 144);

// 5.5 bits per weight: as Q4_K plus one high bit per weight in qh.
struct BlockQ5K {
    std::uint16_t d;
    std::uint16_t dmin;
    std::uint8_t scales[kKScaleSize];
    std::uint8_t qh[kQkK / 8];
    std::uint8_t qs[kQkK / 2];
};
static_assert(sizeof(BlockQ5K) == 176);

// 6.5625 bits per weight: low 4 bits in ql, high 2 bits in qh, 16 signed 8-bit scales, fp16 scale.
struct BlockQ6K {
    std::uint8_t ql[kQkK / 2];
    std::uint8_t qh[kQkK / 4];
    std::int8_t scales[kQkK / 16];
    std::uint16_t d;
};
static_assert(sizeof(BlockQ6K) == 210);

// 9.125 bits per weight: float scale, signed bytes, and the sums of each 16 (for dot products).
struct BlockQ8K {
    float d;
    std::int8_t qs[kQkK];
    std::int16_t bsums[kQkK / 16];
};
static_assert(sizeof(BlockQ8K) == 292);

} // namespace quantlens::core::ggml
