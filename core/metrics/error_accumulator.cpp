#include "core/metrics/error_accumulator.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace quantlens::core {

namespace {

constexpr std::size_t kLanes = 8;

// Independent partial sums in kLanes lanes, so that the additions do not wait on each other and
// the compiler can keep them in vector registers.
struct LaneSums {
    std::array<float, kLanes> squaredError {};
    std::array<float, kLanes> absError {};
    std::array<float, kLanes> squaredOriginal {};
    std::array<float, kLanes> squaredReconstructed {};
    std::array<float, kLanes> product {};
    std::array<float, kLanes> maxAbsError {};
    // x*0 + q*0 is 0 for finite pairs and NaN as soon as one value is inf or NaN: a cheap test
    // that sends the rare sub-block holding one to the careful path.
    std::array<float, kLanes> poison {};
};

double total(const std::array<float, kLanes>& lanes)
{
    double sum = 0.0;
    for (float v : lanes)
        sum += double(v);
    return sum;
}

} // namespace

void ErrorAccumulator::add(std::span<const float> original, std::span<const float> reconstructed)
{
    if (original.size() != reconstructed.size())
        throw Error(strCat("error statistics need pairs: ", original.size(), " original values but ",
                           reconstructed.size(), " reconstructed"));
    for (std::size_t start = 0; start < original.size(); start += kSubBlock) {
        const std::size_t n = std::min(kSubBlock, original.size() - start);
        const float* x = original.data() + start;
        const float* q = reconstructed.data() + start;
        LaneSums s;
        const std::size_t whole = n - n % kLanes;
        for (std::size_t i = 0; i < whole; i += kLanes) {
            for (std::size_t j = 0; j < kLanes; ++j) {
                const float e = q[i + j] - x[i + j];
                const float a = std::fabs(e);
                s.squaredError[j] += e * e;
                s.absError[j] += a;
                s.squaredOriginal[j] += x[i + j] * x[i + j];
                s.squaredReconstructed[j] += q[i + j] * q[i + j];
                s.product[j] += x[i + j] * q[i + j];
                s.maxAbsError[j] = a > s.maxAbsError[j] ? a : s.maxAbsError[j];
                s.poison[j] += x[i + j] * 0.0f + q[i + j] * 0.0f;
            }
        }
        for (std::size_t i = whole; i < n; ++i) {
            const float e = q[i] - x[i];
            const float a = std::fabs(e);
            s.squaredError[0] += e * e;
            s.absError[0] += a;
            s.squaredOriginal[0] += x[i] * x[i];
            s.squaredReconstructed[0] += q[i] * q[i];
            s.product[0] += x[i] * q[i];
            s.maxAbsError[0] = a > s.maxAbsError[0] ? a : s.maxAbsError[0];
            s.poison[0] += x[i] * 0.0f + q[i] * 0.0f;
        }
        const double poison = total(s.poison);
        // Float partial sums of squares can overflow for huge finite values: redo those carefully too.
        const double squares = total(s.squaredError) + total(s.squaredOriginal) + total(s.squaredReconstructed);
        if (poison != 0.0 || !std::isfinite(poison) || !std::isfinite(squares)) {
            addSlow({x, n}, {q, n});
            continue;
        }
        for (std::size_t i = 0; i < n; ++i)
            m_errorHistogram.add(std::fabs(q[i] - x[i]));
        m_count += n;
        m_sumSquaredError += total(s.squaredError);
        m_sumAbsError += total(s.absError);
        m_sumSquaredOriginal += total(s.squaredOriginal);
        m_sumSquaredReconstructed += total(s.squaredReconstructed);
        m_sumProduct += total(s.product);
        m_maxAbsError = std::max(m_maxAbsError, double(*std::max_element(s.maxAbsError.begin(), s.maxAbsError.end())));
    }
}

// One pair at a time in double: for sub-blocks with non-finite values or float overflow.
void ErrorAccumulator::addSlow(std::span<const float> original, std::span<const float> reconstructed)
{
    for (std::size_t i = 0; i < original.size(); ++i) {
        const double x = original[i];
        const double q = reconstructed[i];
        if (!std::isfinite(x)) {
            ++m_nonFiniteInputs;
            continue;
        }
        if (!std::isfinite(q)) {
            ++m_nonFiniteOutputs;
            continue;
        }
        const double e = q - x;
        const double a = std::fabs(e);
        ++m_count;
        m_sumSquaredError += e * e;
        m_sumAbsError += a;
        m_sumSquaredOriginal += x * x;
        m_sumSquaredReconstructed += q * q;
        m_sumProduct += x * q;
        m_maxAbsError = std::max(m_maxAbsError, a);
        m_errorHistogram.add(float(a));
    }
}

void ErrorAccumulator::merge(const ErrorAccumulator& other)
{
    m_count += other.m_count;
    m_nonFiniteInputs += other.m_nonFiniteInputs;
    m_nonFiniteOutputs += other.m_nonFiniteOutputs;
    m_sumSquaredError += other.m_sumSquaredError;
    m_sumAbsError += other.m_sumAbsError;
    m_sumSquaredOriginal += other.m_sumSquaredOriginal;
    m_sumSquaredReconstructed += other.m_sumSquaredReconstructed;
    m_sumProduct += other.m_sumProduct;
    m_maxAbsError = std::max(m_maxAbsError, other.m_maxAbsError);
    m_errorHistogram.merge(other.m_errorHistogram);
}

ErrorStats ErrorAccumulator::stats() const
{
    constexpr double kInfinity = std::numeric_limits<double>::infinity();
    ErrorStats s;
    s.count = m_count;
    s.nonFiniteInputs = m_nonFiniteInputs;
    s.nonFiniteOutputs = m_nonFiniteOutputs;
    if (m_count == 0)
        return s;
    const double n = double(m_count);
    s.mse = m_sumSquaredError / n;
    s.rmse = std::sqrt(s.mse);
    s.maxAbsError = m_maxAbsError;
    s.meanAbsError = m_sumAbsError / n;
    if (m_sumSquaredOriginal > 0.0)
        s.relError = std::sqrt(m_sumSquaredError / m_sumSquaredOriginal);
    else
        s.relError = m_sumSquaredError > 0.0 ? kInfinity : 0.0;
    if (m_sumSquaredError > 0.0)
        s.sqnrDb
            = m_sumSquaredOriginal > 0.0 ? 10.0 * std::log10(m_sumSquaredOriginal / m_sumSquaredError) : -kInfinity;
    else
        s.sqnrDb = kInfinity;
    const double norms = std::sqrt(m_sumSquaredOriginal) * std::sqrt(m_sumSquaredReconstructed);
    if (norms > 0.0)
        s.cosine = m_sumProduct / norms;
    else
        s.cosine = (m_sumSquaredOriginal == 0.0 && m_sumSquaredReconstructed == 0.0) ? 1.0 : 0.0;
    s.p50AbsError = m_errorHistogram.quantile(0.50);
    s.p95AbsError = m_errorHistogram.quantile(0.95);
    s.p99AbsError = m_errorHistogram.quantile(0.99);
    return s;
}

} // namespace quantlens::core
