#include "core/quant/llm_int8.h"

#include "core/quant/block_parallel.h"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cmath>

namespace quantlens::core {

namespace {

void checkShape(std::span<const float> in, std::uint64_t cols)
{
    if (cols == 0 || in.size() % cols != 0)
        throw UsageError(
            strCat("LLM.int8 needs whole rows: ", in.size(), " values are not a multiple of ", cols, " columns"));
}

// rint (nearest, ties to even) clamped to +-127; NaN (an inf in the row) gives 0.
std::int8_t quantizeInt8(float scaled)
{
    const float q = std::nearbyint(scaled);
    return static_cast<std::int8_t>(std::isnan(q) ? 0.0f : std::clamp(q, -127.0f, 127.0f));
}

// The shape, the outlier columns and zeroed outputs shared by both paths.
LlmInt8Tensor setUp(std::span<const float> in, std::uint64_t cols, float threshold, std::span<const float> columnMax)
{
    checkShape(in, cols);
    if (columnMax.size() != cols)
        throw UsageError(strCat("LLM.int8: ", columnMax.size(), " column maxima for ", cols, " columns"));
    LlmInt8Tensor t;
    t.rows = in.size() / cols;
    t.cols = cols;
    t.threshold = threshold;
    t.outlierColumn.assign(cols, 0);
    for (std::uint64_t c = 0; c < cols; ++c) {
        t.outlierColumn[c] = threshold > 0.0f && columnMax[c] >= threshold;
        t.outlierColumns += t.outlierColumn[c];
    }
    t.codes.assign(in.size(), 0);
    t.rowAbsmax.assign(t.rows, 0.0f);
    return t;
}

} // namespace

std::vector<float> columnAbsmax(std::span<const float> in, std::uint64_t cols)
{
    checkShape(in, cols);
    std::vector<float> result(cols, 0.0f);
    for (std::uint64_t i = 0; i < in.size(); ++i)
        result[i % cols] = std::fmax(result[i % cols], std::fabs(in[i]));
    return result;
}

LlmInt8Tensor quantizeLlmInt8(std::span<const float> in, std::uint64_t cols, float threshold, unsigned threads)
{
    const std::vector<float> columnMax = columnAbsmax(in, cols);
    return quantizeLlmInt8Rows(in, cols, threshold, columnMax, threads);
}

LlmInt8Tensor quantizeLlmInt8Rows(std::span<const float> in, std::uint64_t cols, float threshold,
                                  std::span<const float> columnMax, unsigned threads)
{
    LlmInt8Tensor t = setUp(in, cols, threshold, columnMax);
    // The outlier values of row r start at r * outlierColumns, so rows can run in any order.
    t.outliers.assign(t.rows * t.outlierColumns, 0);
    std::vector<std::uint64_t> outlierValues(t.rows, 0);
    forEachBlockRange(t.rows, threads, [&](std::uint64_t firstRow, std::uint64_t endRow) {
        for (std::uint64_t r = firstRow; r < endRow; ++r) {
            const float* row = in.data() + r * cols;
            std::uint16_t* outliers = t.outliers.data() + r * t.outlierColumns;
            float absmax = 0.0f;
            for (std::uint64_t c = 0; c < cols; ++c) {
                if (t.outlierColumn[c]) {
                    *outliers++ = floatToFp16(row[c]);
                    outlierValues[r] += threshold > 0.0f && std::fabs(row[c]) >= threshold;
                } else {
                    absmax = std::fmax(absmax, std::fabs(row[c]));
                }
            }
            t.rowAbsmax[r] = absmax;
            const float scale = absmax == 0.0f ? 0.0f : 127.0f / absmax;
            for (std::uint64_t c = 0; c < cols; ++c)
                if (!t.outlierColumn[c])
                    t.codes[r * cols + c] = quantizeInt8(row[c] * scale);
        }
    });
    for (std::uint64_t n : outlierValues)
        t.outlierValues += n;
    return t;
}

LlmInt8Tensor quantizeLlmInt8RowsReference(std::span<const float> in, std::uint64_t cols, float threshold,
                                           std::span<const float> columnMax)
{
    LlmInt8Tensor t = setUp(in, cols, threshold, columnMax);
    t.outliers.reserve(t.rows * t.outlierColumns);
    for (std::uint64_t r = 0; r < t.rows; ++r) {
        const float* row = in.data() + r * cols;
        float absmax = 0.0f;
        for (std::uint64_t c = 0; c < cols; ++c) {
            if (t.outlierColumn[c]) {
                t.outliers.push_back(floatToFp16(row[c]));
                t.outlierValues += threshold > 0.0f && std::fabs(row[c]) >= threshold;
            } else {
                absmax = std::fmax(absmax, std::fabs(row[c]));
            }
        }
        t.rowAbsmax[r] = absmax;
        const float scale = absmax == 0.0f ? 0.0f : 127.0f / absmax;
        for (std::uint64_t c = 0; c < cols; ++c) {
            if (t.outlierColumn[c])
                continue;
            t.codes[r * cols + c] = quantizeInt8(row[c] * scale);
        }
    }
    return t;
}

void dequantizeLlmInt8(const LlmInt8Tensor& t, std::span<float> out)
{
    if (out.size() != t.rows * t.cols)
        throw UsageError(strCat("LLM.int8 dequantization of ", t.rows * t.cols, " values into ", out.size()));
    constexpr float kInverse127 = 1.0f / 127.0f;
    std::size_t outlier = 0;
    for (std::uint64_t r = 0; r < t.rows; ++r) {
        for (std::uint64_t c = 0; c < t.cols; ++c) {
            const std::uint64_t i = r * t.cols + c;
            if (t.outlierColumn[c])
                out[i] = fp16ToFloat(t.outliers[outlier++]);
            else
                out[i] = static_cast<float>(t.codes[i]) * t.rowAbsmax[r] * kInverse127;
        }
    }
}

double LlmInt8Tensor::bitsPerParameter() const
{
    const double n = static_cast<double>(rows * cols);
    if (n == 0)
        return 0.0;
    return (n * 8 + static_cast<double>(rows) * 32 + static_cast<double>(rows * outlierColumns) * 16
            + static_cast<double>(cols) * 1)
        / n;
}

} // namespace quantlens::core
