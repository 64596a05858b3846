#pragma once

#include "core/metrics/magnitude_histogram.h"

#include <cstdint>
#include <span>

namespace quantlens::core {

// The error of one tensor (or of a layer, or a whole model) under one scheme, as numbers.
// The error is reconstructed - original. Non-finite values never enter the sums: a pair whose
// original is inf/NaN counts in nonFiniteInputs, a pair whose original is finite but whose
// reconstruction is not counts in nonFiniteOutputs, and both are reported beside the metrics.
// With no finite pair at all (count == 0: an empty tensor, or every reconstruction non-finite)
// every metric is NaN, "not measured", and never a perfect-looking 0 error or cosine 1.
struct ErrorStats {
    std::uint64_t count = 0; // finite pairs measured
    std::uint64_t nonFiniteInputs = 0;
    std::uint64_t nonFiniteOutputs = 0;
    double mse = 0.0;
    double rmse = 0.0;
    double maxAbsError = 0.0;
    double meanAbsError = 0.0;
    double relError = 0.0; // ||W - Q(W)||_F / ||W||_F; 0 when both are 0, +inf when only W is 0
    double sqnrDb = 0.0; // 10 log10(sum W^2 / sum (W - Q(W))^2); +inf when the error is exactly 0
    double cosine = 1.0; // <W, Q(W)> / (|W| |Q(W)|); 1 when both are 0, 0 when only one is
    // Percentiles of |error| from MagnitudeHistogram: within 6.25% relative of the exact value, and
    // never above maxAbsError.
    double p50AbsError = 0.0;
    double p95AbsError = 0.0;
    double p99AbsError = 0.0;

    std::uint64_t nonFinite() const { return nonFiniteInputs + nonFiniteOutputs; }
};

// The sums every metric derives from, however they were reduced (on the CPU by ErrorAccumulator,
// on a GPU by gpu::measureError4bit).
struct ErrorSums {
    std::uint64_t count = 0;
    std::uint64_t nonFiniteInputs = 0;
    std::uint64_t nonFiniteOutputs = 0;
    double sumSquaredError = 0.0;
    double sumAbsError = 0.0;
    double sumSquaredOriginal = 0.0;
    double sumSquaredReconstructed = 0.0;
    double sumProduct = 0.0;
    double maxAbsError = 0.0;
};

// The metrics of ErrorStats from the sums, with the |error| percentiles from `errors`.
ErrorStats errorStatsFromSums(const ErrorSums& sums, const MagnitudeHistogram& errors);

// Streams pairs (original, reconstructed) in any chunking and any order and merges with others:
// per-thread, per-chunk accumulators add up to the accumulator of the whole tensor, and tensors
// add up to layers and the model, weighted by element count since the sums themselves are merged.
// Sums are kept in double; each call adds float partial sums of at most kSubBlock elements.
class ErrorAccumulator {
public:
    static constexpr std::size_t kSubBlock = 256;

    // Throws quantlens::Error when the spans differ in length.
    void add(std::span<const float> original, std::span<const float> reconstructed);
    void merge(const ErrorAccumulator& other);
    // Adds sums and |error| counts reduced elsewhere (the GPU's, gpu/error_metrics.h), as merge does.
    void addSums(const ErrorSums& sums, const MagnitudeHistogram& errors);
    ErrorSums sums() const;
    ErrorStats stats() const;

    std::uint64_t count() const { return m_count; }
    const MagnitudeHistogram& errorHistogram() const { return m_errorHistogram; }

private:
    void addSlow(std::span<const float> original, std::span<const float> reconstructed);

    std::uint64_t m_count = 0;
    std::uint64_t m_nonFiniteInputs = 0;
    std::uint64_t m_nonFiniteOutputs = 0;
    double m_sumSquaredError = 0.0;
    double m_sumAbsError = 0.0;
    double m_sumSquaredOriginal = 0.0;
    double m_sumSquaredReconstructed = 0.0;
    double m_sumProduct = 0.0;
    double m_maxAbsError = 0.0;
    MagnitudeHistogram m_errorHistogram;
};

} // namespace quantlens::core
