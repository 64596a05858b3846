#include "core/quant/awq.h"

#include "core/quant/calibration.h"

#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantlens::core {

namespace {

void checkRows(std::span<const float> in, std::span<float> out, std::uint64_t cols, int bits)
{
    if (in.size() != out.size() || cols == 0 || in.size() % cols != 0 || bits < 2 || bits > 8)
        throw UsageError(strCat("awq: ", in.size(), " values are not whole rows of ", cols, " (", bits, " bits)"));
}

// One group of pseudo_quantize_tensor.
void quantizeGroup(std::span<const float> in, std::span<float> out, float maxInt)
{
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (const float v : in) {
        if (!std::isfinite(v))
            continue;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    if (lo > hi) { // nothing finite: the values pass as they are
        std::copy(in.begin(), in.end(), out.begin());
        return;
    }
    const float scale = fp16ToFloat(floatToFp16(std::max(hi - lo, 1e-5f) / maxInt));
    const float zero = std::clamp(-std::nearbyint(lo / scale), 0.0f, maxInt);
    for (std::size_t i = 0; i < in.size(); ++i)
        out[i] = std::isnan(in[i]) ? in[i]
                                   : (std::clamp(std::nearbyint(in[i] / scale) + zero, 0.0f, maxInt) - zero) * scale;
}

} // namespace

std::uint64_t awqGroupsPerRow(std::uint64_t cols, std::uint64_t groupSize)
{
    return groupSize == 0 || groupSize >= cols ? 1 : (cols + groupSize - 1) / groupSize;
}

void awqQuantize(std::span<const float> in, std::span<float> out, std::uint64_t cols, int bits, std::uint64_t groupSize)
{
    checkRows(in, out, cols, bits);
    const std::uint64_t group = groupSize == 0 ? cols : groupSize;
    const float maxInt = float((1 << bits) - 1);
    for (std::uint64_t row = 0; row < in.size(); row += cols) {
        for (std::uint64_t g = 0; g < cols; g += group) {
            const std::uint64_t n = std::min(group, cols - g);
            quantizeGroup(in.subspan(row + g, n), out.subspan(row + g, n), maxInt);
        }
    }
}

Eigen::VectorXf awqScales(const Eigen::VectorXf& meanAbs, double alpha)
{
    Eigen::VectorXf s(meanAbs.size());
    for (Eigen::Index i = 0; i < s.size(); ++i)
        s[i] = std::max(std::pow(meanAbs[i], float(alpha)), 1e-4f);
    if (s.size() == 0)
        return s;
    return s / std::sqrt(s.maxCoeff() * s.minCoeff());
}

void awqRoundTrip(std::span<const float> in, std::span<float> out, std::uint64_t firstRow, std::uint64_t cols,
                  const AwqTransform& t, const AwqOptions& options)
{
    checkRows(in, out, cols, options.bits);
    const std::uint64_t rows = in.size() / cols;
    const std::uint64_t groups = awqGroupsPerRow(cols, options.groupSize);
    const std::uint64_t group = groups == 1 ? cols : options.groupSize;
    if (t.inputScale.size() && std::uint64_t(t.inputScale.size()) != cols)
        throw UsageError(strCat("awq: input scales for ", t.inputScale.size(), " channels, rows of ", cols));
    if (t.outputScale.size() && std::uint64_t(t.outputScale.size()) < firstRow + rows)
        throw UsageError(strCat("awq: output scales for ", t.outputScale.size(), " rows, row ", firstRow + rows));
    if (!t.clip.empty() && t.clip.size() < (firstRow + rows) * groups)
        throw UsageError(strCat("awq: clipping for ", t.clip.size() / groups, " rows, row ", firstRow + rows));
    std::vector<float> scaled(cols), quantized(cols);
    for (std::uint64_t r = 0; r < rows; ++r) {
        const std::uint64_t row = firstRow + r;
        const float o = t.outputScale.size() ? t.outputScale[Eigen::Index(row)] : 1.0f;
        for (std::uint64_t j = 0; j < cols; ++j)
            scaled[j] = in[r * cols + j] * (t.inputScale.size() ? t.inputScale[Eigen::Index(j)] : 1.0f) / o;
        if (!t.clip.empty()) {
            for (std::uint64_t j = 0; j < cols; ++j) {
                const float c = t.clip[row * groups + j / group];
                scaled[j] = std::clamp(scaled[j], -c, c);
            }
        }
        awqQuantize(scaled, quantized, cols, options.bits, options.groupSize);
        for (std::uint64_t j = 0; j < cols; ++j)
            out[r * cols + j] = quantized[j] * o / (t.inputScale.size() ? t.inputScale[Eigen::Index(j)] : 1.0f);
    }
}

std::vector<float> awqClipSearch(std::span<const float> w, std::uint64_t rows, std::uint64_t cols,
                                 const Eigen::MatrixXf& hessian, const AwqOptions& options)
{
    if (w.size() != rows * cols || std::uint64_t(hessian.rows()) != cols || std::uint64_t(hessian.cols()) != cols)
        throw UsageError(strCat("awq clip: a weight of ", rows, " x ", cols, " with a Hessian of ", hessian.rows(),
                                " x ", hessian.cols()));
    const std::uint64_t groups = awqGroupsPerRow(cols, options.groupSize);
    const std::uint64_t group = groups == 1 ? cols : options.groupSize;
    const int steps = int(options.maxShrink * options.clipGrid);
    const float maxInt = float((1 << options.bits) - 1);
    std::vector<float> best(rows * groups);
    std::vector<float> clamped(group), quantized(group);
    Eigen::VectorXf d = Eigen::VectorXf::Zero(Eigen::Index(group));
    for (std::uint64_t g = 0; g < groups; ++g) {
        const std::uint64_t begin = g * group, n = std::min(group, cols - begin);
        const Eigen::MatrixXf h
            = hessian.block(Eigen::Index(begin), Eigen::Index(begin), Eigen::Index(n), Eigen::Index(n));
        for (std::uint64_t r = 0; r < rows; ++r) {
            const std::span<const float> values = w.subspan(r * cols + begin, n);
            float absMax = 0.0f;
            for (const float v : values)
                absMax = std::max(absMax, std::fabs(v));
            float bestMax = absMax;
            double bestError = std::numeric_limits<double>::infinity();
            for (int i = 0; i < steps; ++i) {
                const float maxVal = absMax * float(1.0 - double(i) / options.clipGrid);
                for (std::uint64_t k = 0; k < n; ++k)
                    clamped[k] = std::clamp(values[k], -maxVal, maxVal);
                quantizeGroup(std::span<const float>(clamped).first(n), std::span<float>(quantized).first(n), maxInt);
                for (std::uint64_t k = 0; k < n; ++k)
                    d[Eigen::Index(k)] = quantized[k] - values[k];
                const auto dn = d.head(Eigen::Index(n));
                const double error = double(dn.dot(h * dn));
                if (error < bestError) {
                    bestError = error;
                    bestMax = maxVal;
                }
            }
            best[r * groups + g] = bestMax;
        }
    }
    return best;
}

std::pair<double, Eigen::VectorXf> awqSearchScales(const Eigen::VectorXf& meanAbs, const AwqOptions& options,
                                                   const std::function<double(const Eigen::VectorXf&)>& loss,
                                                   const std::string& group)
{
    double best = std::numeric_limits<double>::infinity(), bestAlpha = -1.0;
    Eigen::VectorXf bestScales;
    for (int i = 0; i < options.grid; ++i) {
        const double alpha = double(i) / options.grid;
        Eigen::VectorXf s = awqScales(meanAbs, alpha);
        const double l = loss(s);
        if (l < best) {
            best = l;
            bestAlpha = alpha;
            bestScales = std::move(s);
        }
    }
    if (bestAlpha < 0.0)
        throw UsageError(
            strCat("AWQ's scale search for ", group, " found no finite loss (non-finite weights or inputs)"));
    return {bestAlpha, bestScales};
}

double awqLinearLoss(std::span<const float> w, std::uint64_t rows, std::uint64_t cols, const Eigen::MatrixXf& hessian,
                     const Eigen::VectorXf& s, const AwqOptions& options)
{
    if (w.size() != rows * cols || std::uint64_t(hessian.rows()) != cols || std::uint64_t(s.size()) != cols)
        throw UsageError(strCat("awq: a weight of ", rows, " x ", cols, " with a Hessian of ", hessian.rows(), " and ",
                                s.size(), " scales"));
    AwqTransform t;
    t.inputScale = s;
    std::vector<float> q(w.size());
    awqRoundTrip(w, q, 0, cols, t, AwqOptions {options.bits, options.groupSize, options.grid, false});
    return hessianQuadratic(w, q, hessian);
}

} // namespace quantlens::core
