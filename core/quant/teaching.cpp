#include "core/quant/teaching.h"

#include "core/quant/block_parallel.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cmath>

namespace quantlens::core {

namespace {

// round() clamped into [lo, hi]; NaN (an infinite input over a finite scale) goes to lo.
int roundClamped(float v, int lo, int hi)
{
    if (!(v == v))
        return lo;
    const float r = std::round(v);
    if (r <= static_cast<float>(lo))
        return lo;
    if (r >= static_cast<float>(hi))
        return hi;
    return static_cast<int>(r);
}

void groupExtremes(std::span<const float> values, float& min, float& max)
{
    min = 0.0f;
    max = 0.0f;
    for (float x : values) {
        if (std::isnan(x))
            continue;
        min = std::min(min, x);
        max = std::max(max, x);
    }
}

} // namespace

void checkTeachingOptions(const TeachingOptions& options)
{
    if (options.bits < 2 || options.bits > 8)
        throw UsageError(strCat("teaching scheme with ", options.bits, " bits: use 2 to 8 bits"));
    if (options.granularity == Granularity::Block && options.blocksize == 0)
        throw UsageError("teaching scheme blocksize 0: use a positive blocksize");
}

std::vector<float> teachingLevels(TeachingGrid grid, int bits)
{
    std::vector<float> levels;
    const int count = 1 << bits;
    const int half = count / 2;
    const int qmax = half - 1;
    switch (grid) {
    case TeachingGrid::Course:
        for (int j = half; j >= 1; --j)
            levels.push_back(-static_cast<float>(j) / static_cast<float>(half));
        for (int j = 1; j <= half; ++j)
            levels.push_back(static_cast<float>(j) / static_cast<float>(half));
        break;
    case TeachingGrid::Symmetric:
        for (int i = 0; i < count; ++i)
            levels.push_back(-1.0f + 2.0f * static_cast<float>(i) / static_cast<float>(count - 1));
        break;
    case TeachingGrid::IntegerZero:
        for (int q = -qmax; q <= qmax; ++q)
            levels.push_back(static_cast<float>(q) / static_cast<float>(qmax));
        break;
    case TeachingGrid::ZeroPoint:
        for (int q = 0; q < count; ++q)
            levels.push_back(static_cast<float>(q) / static_cast<float>(count - 1));
        break;
    }
    return levels;
}

std::uint64_t teachingGroupSize(const TeachingOptions& options, std::uint64_t elements, std::uint64_t rowLength)
{
    switch (options.granularity) {
    case Granularity::Tensor:
        return std::max<std::uint64_t>(elements, 1);
    case Granularity::Channel:
        return std::max<std::uint64_t>(rowLength, 1);
    case Granularity::Block:
        return options.blocksize;
    }
    return 1;
}

TeachingGroupScale teachingGroupScale(const TeachingOptions& options, float min, float max)
{
    const int count = 1 << options.bits;
    TeachingGroupScale g;
    const float absmax = std::max(std::fabs(min), std::fabs(max));
    switch (options.grid) {
    case TeachingGrid::Course:
    case TeachingGrid::Symmetric:
        g.scale = absmax;
        break;
    case TeachingGrid::IntegerZero:
        g.scale = absmax / static_cast<float>(count / 2 - 1);
        break;
    case TeachingGrid::ZeroPoint: {
        const float lo = std::min(min, 0.0f);
        const float hi = std::max(max, 0.0f);
        g.scale = (hi - lo) / static_cast<float>(count - 1);
        if (g.scale > 0.0f)
            g.zeroPoint = static_cast<std::uint8_t>(roundClamped(-lo / g.scale, 0, count - 1));
        break;
    }
    }
    return g;
}

std::uint8_t teachingCode(const TeachingOptions& options, const TeachingGroupScale& group, float x)
{
    const int count = 1 << options.bits;
    const int half = count / 2;
    if (group.scale == 0.0f) // an all-zero group: the code of 0
        x = 0.0f;
    switch (options.grid) {
    case TeachingGrid::Course: {
        const float u = group.scale == 0.0f ? 0.0f : x / group.scale;
        if (u >= 0.0f || std::isnan(u))
            return static_cast<std::uint8_t>(half - 1 + roundClamped(u * static_cast<float>(half), 1, half));
        return static_cast<std::uint8_t>(half - roundClamped(-u * static_cast<float>(half), 1, half));
    }
    case TeachingGrid::Symmetric: {
        const float u = group.scale == 0.0f ? 0.0f : x / group.scale;
        return static_cast<std::uint8_t>(roundClamped((u + 1.0f) * static_cast<float>(count - 1) / 2.0f, 0, count - 1));
    }
    case TeachingGrid::IntegerZero: {
        const int qmax = half - 1;
        const float v = group.scale == 0.0f ? 0.0f : x / group.scale;
        return static_cast<std::uint8_t>(roundClamped(v, -qmax, qmax) + qmax);
    }
    case TeachingGrid::ZeroPoint: {
        if (group.scale == 0.0f)
            return group.zeroPoint;
        const float v = std::round(x / group.scale) + static_cast<float>(group.zeroPoint);
        return static_cast<std::uint8_t>(roundClamped(v, 0, count - 1));
    }
    }
    return 0;
}

float teachingValue(const TeachingOptions& options, const TeachingGroupScale& group, std::uint8_t code)
{
    const int count = 1 << options.bits;
    const int half = count / 2;
    switch (options.grid) {
    case TeachingGrid::Course: {
        const int j = code < half ? -(half - code) : code - half + 1;
        return static_cast<float>(j) / static_cast<float>(half) * group.scale;
    }
    case TeachingGrid::Symmetric:
        return (-1.0f + 2.0f * static_cast<float>(code) / static_cast<float>(count - 1)) * group.scale;
    case TeachingGrid::IntegerZero:
        return static_cast<float>(code - (half - 1)) * group.scale;
    case TeachingGrid::ZeroPoint:
        return static_cast<float>(static_cast<int>(code) - static_cast<int>(group.zeroPoint)) * group.scale;
    }
    return 0.0f;
}

TeachingTensor quantizeTeachingReference(std::span<const float> in, std::uint64_t rowLength,
                                         const TeachingOptions& options)
{
    checkTeachingOptions(options);
    TeachingTensor t;
    t.options = options;
    t.groupSize = teachingGroupSize(options, in.size(), rowLength);
    t.codes.resize(in.size());
    for (std::uint64_t begin = 0; begin < in.size(); begin += t.groupSize) {
        const auto group = in.subspan(begin, std::min<std::uint64_t>(t.groupSize, in.size() - begin));
        float min, max;
        groupExtremes(group, min, max);
        const TeachingGroupScale g = teachingGroupScale(options, min, max);
        t.groups.push_back(g);
        for (std::size_t i = 0; i < group.size(); ++i)
            t.codes[begin + i] = teachingCode(options, g, group[i]);
    }
    return t;
}

TeachingTensor quantizeTeaching(std::span<const float> in, std::uint64_t rowLength, const TeachingOptions& options,
                                unsigned threads)
{
    checkTeachingOptions(options);
    TeachingTensor t;
    t.options = options;
    t.groupSize = teachingGroupSize(options, in.size(), rowLength);
    t.codes.resize(in.size());
    t.groups.resize((in.size() + t.groupSize - 1) / t.groupSize);
    forEachBlockRange(t.groups.size(), threads, [&](std::uint64_t first, std::uint64_t end) {
        for (std::uint64_t g = first; g < end; ++g) {
            const std::uint64_t begin = g * t.groupSize;
            const auto group = in.subspan(begin, std::min<std::uint64_t>(t.groupSize, in.size() - begin));
            float min, max;
            groupExtremes(group, min, max);
            t.groups[g] = teachingGroupScale(options, min, max);
            for (std::size_t i = 0; i < group.size(); ++i)
                t.codes[begin + i] = teachingCode(options, t.groups[g], group[i]);
        }
    });
    return t;
}

void dequantizeTeaching(const TeachingTensor& tensor, std::span<float> out)
{
    if (out.size() != tensor.codes.size())
        throw UsageError(
            strCat("teaching dequantization of ", tensor.codes.size(), " codes into ", out.size(), " values"));
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = teachingValue(tensor.options, tensor.groups[i / tensor.groupSize], tensor.codes[i]);
}

double teachingBitsPerParameter(const TeachingOptions& options, std::uint64_t elements, std::uint64_t rowLength)
{
    if (elements == 0)
        return 0.0;
    const std::uint64_t groupSize = teachingGroupSize(options, elements, rowLength);
    const std::uint64_t groups = (elements + groupSize - 1) / groupSize;
    const std::uint64_t perGroup = options.grid == TeachingGrid::ZeroPoint ? 40 : 32;
    return (static_cast<double>(elements) * options.bits + static_cast<double>(groups * perGroup))
        / static_cast<double>(elements);
}

} // namespace quantlens::core
