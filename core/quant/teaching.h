#pragma once

#include <cstdint>
#include <span>
#include <vector>

// The k-bit schemes of introductory courses and the plain integer grids, with a scale per tensor,
// per channel (row) or per block. Definitions: ../shared/reference/quantization-formats.md §1.
//
//   Course       2^k levels evenly spaced without zero: +-j / 2^(k-1), j = 1..2^(k-1) (3 bits:
//                -1, -0.75, ..., -0.25, 0.25, ..., 1), times the group absmax.
//   Symmetric    2^k levels -1 + 2i / (2^k - 1), i = 0..2^k-1 (contains +-1, no exact zero for
//                even counts), times the group absmax.
//   IntegerZero  round(x / s), s = absmax / (2^(k-1) - 1), clamped to +-(2^(k-1) - 1): "absmax"
//                int8/int4 (2^k - 1 levels, zero exact).
//   ZeroPoint    asymmetric: s = (max - min) / (2^k - 1) over a range widened to contain 0,
//                z = round(-min / s), q = clamp(round(x / s) + z, 0, 2^k - 1), x' = (q - z) * s.
//
// Ties round away from zero (std::round), as courses do by hand. A group whose values are all 0
// has scale 0 and dequantizes to 0.
namespace quantlens::core {

enum class TeachingGrid : std::uint8_t { Course, Symmetric, IntegerZero, ZeroPoint };
enum class Granularity : std::uint8_t { Tensor, Channel, Block };

struct TeachingOptions {
    TeachingGrid grid = TeachingGrid::Course;
    int bits = 3; // 2..8
    Granularity granularity = Granularity::Tensor;
    std::uint32_t blocksize = 64; // Granularity::Block
};

// Throws UsageError naming the value unless bits is in 2..8 and blocksize is at least 1.
void checkTeachingOptions(const TeachingOptions& options);

// The unit levels of a grid (before scaling), ascending; codes index this list. For ZeroPoint the
// levels are q / (2^k - 1), q = 0..2^k-1, on the [min, max] range of the group.
std::vector<float> teachingLevels(TeachingGrid grid, int bits);

// Elements sharing one scale: the whole tensor, a row of `rowLength`, or a block.
std::uint64_t teachingGroupSize(const TeachingOptions& options, std::uint64_t elements, std::uint64_t rowLength);

struct TeachingGroupScale {
    float scale = 0.0f; // absmax (Course, Symmetric), s (IntegerZero, ZeroPoint)
    std::uint8_t zeroPoint = 0; // ZeroPoint only
};

// The scale of a group with these extremes (min <= max; NaN ignored by the caller).
TeachingGroupScale teachingGroupScale(const TeachingOptions& options, float min, float max);

// One value: its code (index into teachingLevels) and its dequantized value.
std::uint8_t teachingCode(const TeachingOptions& options, const TeachingGroupScale& group, float x);
float teachingValue(const TeachingOptions& options, const TeachingGroupScale& group, std::uint8_t code);

struct TeachingTensor {
    TeachingOptions options;
    std::uint64_t groupSize = 0;
    std::vector<std::uint8_t> codes; // one per element
    std::vector<TeachingGroupScale> groups;
};

// The optimised path (groups over `threads` threads, 0: all cores) gives the reference's codes.
TeachingTensor quantizeTeaching(std::span<const float> in, std::uint64_t rowLength, const TeachingOptions& options,
                                unsigned threads = 1);
TeachingTensor quantizeTeachingReference(std::span<const float> in, std::uint64_t rowLength,
                                         const TeachingOptions& options);
void dequantizeTeaching(const TeachingTensor& tensor, std::span<float> out);

// Codes of k bits plus an fp32 scale (and an 8-bit zero point for ZeroPoint) per group.
double teachingBitsPerParameter(const TeachingOptions& options, std::uint64_t elements, std::uint64_t rowLength);

} // namespace quantlens::core
