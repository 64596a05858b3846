#include "core/quant/gptq.h"

#include "core/quant/calibration.h"
#include "core/quant/group_int.h"

#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace quantlens::core {

namespace {

using ColMatrix = Eigen::MatrixXf;
using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// quant.py's Quantizer.find_params(x, weight=True) with perchannel: per row of `block`, the range
// [min(x, 0), max(x, 0)] and gptqGroupParameters.
void findParams(const Eigen::Ref<const ColMatrix>& block, int bits, std::vector<IntGroupParameters>& params)
{
    for (Eigen::Index r = 0; r < block.rows(); ++r) {
        float xmin = 0.0f, xmax = 0.0f;
        for (Eigen::Index c = 0; c < block.cols(); ++c) {
            xmin = std::min(xmin, block(r, c));
            xmax = std::max(xmax, block(r, c));
        }
        params[std::size_t(r)] = gptqGroupParameters(xmin, xmax, bits);
    }
}

} // namespace

GptqFactor gptqFactor(const Eigen::MatrixXf& hessian, const GptqOptions& o)
{
    if (hessian.rows() != hessian.cols())
        throw UsageError(strCat("gptq: a ", hessian.rows(), " x ", hessian.cols(), " Hessian"));
    const Eigen::Index n = hessian.rows();
    GptqFactor f;
    Eigen::MatrixXf H = hessian;
    f.dead.assign(std::size_t(n), 0);
    // Dead inputs: never active in the calibration data.
    for (Eigen::Index j = 0; j < n; ++j) {
        if (H(j, j) == 0.0f) {
            H(j, j) = 1.0f;
            f.dead[std::size_t(j)] = 1;
        }
    }
    f.perm.resize(std::size_t(n));
    std::iota(f.perm.begin(), f.perm.end(), Eigen::Index(0));
    if (o.actOrder) {
        std::stable_sort(f.perm.begin(), f.perm.end(),
                         [&H](Eigen::Index a, Eigen::Index b) { return H(a, a) > H(b, b); });
        Eigen::MatrixXf Hp(n, n);
        for (Eigen::Index k = 0; k < n; ++k)
            for (Eigen::Index m = 0; m < n; ++m)
                Hp(m, k) = H(f.perm[std::size_t(m)], f.perm[std::size_t(k)]);
        H = std::move(Hp);
    }
    if (n == 0)
        return f;
    H.diagonal().array() += float(o.damp * double(H.diagonal().mean()));
    // The upper Cholesky factor U of H^-1 (H^-1 = U^T U), which the reference gets as
    // cholesky(cholesky_inverse(cholesky(H)), upper). The same factor for a third of the work: with J
    // the reversal of the channels, J H J = K K^T (K lower) gives H = (J K J)(J K J)^T with J K J upper,
    // so H^-1 = U^T U with U = (J K J)^-1 = J K^-1 J, upper with a positive diagonal: the Cholesky factor.
    const Eigen::MatrixXf reversed = H.reverse();
    const Eigen::LLT<Eigen::MatrixXf> factor(reversed);
    if (factor.info() != Eigen::Success)
        throw UsageError("gptq: the dampened Hessian is not positive definite");
    Eigen::MatrixXf kInverse = Eigen::MatrixXf::Identity(n, n);
    factor.matrixL().solveInPlace(kInverse);
    f.U = kInverse.reverse().triangularView<Eigen::Upper>();
    return f;
}

GptqStats gptqQuantize(std::span<const float> w, std::uint64_t rows, std::uint64_t cols, const Eigen::MatrixXf& hessian,
                       const GptqOptions& o, std::span<float> out)
{
    if (std::uint64_t(hessian.rows()) != cols || std::uint64_t(hessian.cols()) != cols)
        throw UsageError(
            strCat("gptq: a ", hessian.rows(), " x ", hessian.cols(), " Hessian for ", cols, " input channels"));
    return gptqQuantize(w, rows, cols, gptqFactor(hessian, o), o, out);
}

GptqStats gptqQuantize(std::span<const float> w, std::uint64_t rows, std::uint64_t cols, const GptqFactor& f,
                       const GptqOptions& o, std::span<float> out, GptqCodes* codes)
{
    if (w.size() != rows * cols || out.size() != w.size())
        throw UsageError(strCat("gptq: ", w.size(), " weights for a ", rows, " x ", cols, " matrix"));
    if (f.perm.size() != cols || std::uint64_t(f.U.rows()) != cols)
        throw UsageError(strCat("gptq: a factor of ", f.perm.size(), " input channels for ", cols));
    if (o.bits < 2 || o.bits > 8)
        throw UsageError(strCat("gptq: ", o.bits, " bits (2 to 8)"));
    GptqStats stats;
    if (rows == 0 || cols == 0)
        return stats;
    const auto n = Eigen::Index(cols);
    const ColMatrix original = Eigen::Map<const RowMatrixF>(w.data(), Eigen::Index(rows), n);
    const Eigen::Index R = original.rows();
    std::vector<IntGroupParameters> params(static_cast<std::size_t>(R));
    if (codes) {
        if (o.actOrder)
            throw UsageError("gptq: the codes of an act-order quantization are not written");
        codes->rows = rows;
        codes->cols = cols;
        codes->groups = o.groupSize == 0 ? 1 : (cols + o.groupSize - 1) / o.groupSize;
        codes->codes.assign(rows * cols, 0);
        codes->scales.assign(codes->groups * rows, 0.0f);
        codes->zeros.assign(codes->groups * rows, 0.0f);
    }
    const auto keepParameters = [&](std::uint64_t group) {
        if (!codes)
            return;
        for (Eigen::Index r = 0; r < R; ++r) {
            codes->scales[group * rows + std::uint64_t(r)] = params[std::size_t(r)].scale;
            codes->zeros[group * rows + std::uint64_t(r)] = params[std::size_t(r)].zero;
        }
    };
    if (o.groupSize == 0) { // per channel: from the weights as given, before dead inputs are zeroed
        findParams(original, o.bits, params);
        keepParameters(0);
    }
    // The dead inputs zeroed, the columns in quantization order.
    ColMatrix W(R, n);
    for (Eigen::Index k = 0; k < n; ++k) {
        const Eigen::Index j = f.perm[std::size_t(k)];
        if (f.dead[std::size_t(j)])
            W.col(k).setZero();
        else
            W.col(k) = original.col(j);
    }
    const Eigen::MatrixXf& U = f.U;
    ColMatrix Q(R, n);
    const auto block = Eigen::Index(std::max<std::uint64_t>(1, o.blockSize));
    for (Eigen::Index i1 = 0; i1 < n; i1 += block) {
        const Eigen::Index count = std::min(block, n - i1);
        ColMatrix W1 = W.middleCols(i1, count);
        ColMatrix Err1(R, count);
        for (Eigen::Index i = 0; i < count; ++i) {
            const Eigen::Index j = i1 + i;
            // The group's parameters from the weights as the lazy updates left them (the reference
            // reads W, not the block's working copy).
            if (o.groupSize != 0 && std::uint64_t(j) % o.groupSize == 0) {
                findParams(W.middleCols(j, std::min(Eigen::Index(o.groupSize), n - j)), o.bits, params);
                keepParameters(std::uint64_t(j) / o.groupSize);
            }
            const float d = U(j, j);
            for (Eigen::Index r = 0; r < R; ++r) {
                const float x = W1(r, i);
                const IntGroupParameters& p = params[std::size_t(r)];
                const float q = p.code(x);
                if (codes)
                    codes->codes[std::uint64_t(r) * cols + std::uint64_t(j)] = std::uint8_t(q);
                const float dq = p.scale * (q - p.zero);
                Q(r, j) = fp16ToFloat(floatToFp16(p.scale)) * (q - p.zero);
                const float e = (x - dq) / d;
                Err1(r, i) = e;
                stats.loss += double(x - dq) * double(x - dq) / (double(d) * d) / 2.0;
            }
            if (i + 1 < count)
                W1.rightCols(count - i - 1).noalias() -= Err1.col(i) * U.row(j).segment(j + 1, count - i - 1);
        }
        if (i1 + count < n)
            W.rightCols(n - i1 - count).noalias() -= Err1 * U.block(i1, i1 + count, count, n - i1 - count);
    }

    Eigen::Map<RowMatrixF> result(out.data(), R, n);
    for (Eigen::Index k = 0; k < n; ++k)
        result.col(f.perm[std::size_t(k)]) = Q.col(k);
    return stats;
}

std::shared_ptr<const GptqFactor> Calibration::gptqFactor(const GptqOptions& options) const
{
    const std::lock_guard lock(m_mutex);
    auto& factor = m_factors[{options.actOrder, options.damp}];
    if (!factor)
        factor = std::make_shared<const GptqFactor>(core::gptqFactor(hessian, options));
    return factor;
}

} // namespace quantlens::core
