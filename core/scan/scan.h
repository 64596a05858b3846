#pragma once

#include "core/metrics/error_accumulator.h"
#include "core/metrics/value_histogram.h"
#include "core/model/model.h"
#include "core/quant/calibration.h"
#include "core/quant/quant_policy.h"
#include "core/scan/scan_scheme.h"
#include "core/util/progress.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quantlens::core {

// One tensor under one scheme: what the inspect table and the GUI's tensor table show.
struct TensorScanResult {
    std::size_t tensorIndex = 0; // in Model::tensors()
    std::string name;
    int layer = -1;
    TensorRole role = TensorRole::Other;
    DType dtype = DType::Unknown;
    std::vector<std::uint64_t> shape;
    std::uint64_t elements = 0;
    std::uint64_t originalBytes = 0;
    std::string scheme; // the scheme asked for
    // What the policy (ScanOptions::selection) stored the tensor as: `scheme`, a fallback type
    // ("q5_0" for a q4_k tensor whose rows are not whole blocks), or empty: kept as stored, and then
    // measured as exact (zero error) at its stored size, as the file the tool writes keeps it.
    std::string storedAs;
    std::string policyNote; // why storedAs is not `scheme` (PlannedTensor::note); empty when it is
    bool kept() const { return storedAs.empty() && skipped.empty(); }
    double bitsPerParameter = 0.0;
    std::uint64_t quantizedBytes = 0;
    ErrorStats error;
    // sum_ij (columns[j] + rows[i]) (W_ij - Q(W)_ij)^2 under ScanOptions::errorWeights; NaN when the
    // tensor has none (or was not measured).
    double weightedError = std::numeric_limits<double>::quiet_NaN();
    // With ScanOptions::calibration for this tensor: ||(W - Q(W)) X||^2 / ||W X||^2 over the
    // calibration inputs X, as tr(D H D^T) / tr(W H W^T) with the layer's Hessian H: the error GPTQ and
    // AWQ minimise, and what reaches the layer's output. NaN otherwise.
    double activationError = std::numeric_limits<double>::quiet_NaN();
    ValueHistogram weightHistogram; // over [min, max] of the finite weights
    // |error| counts in MagnitudeHistogram bins [errorHistogramFirstBin, + size): the non-empty span.
    std::size_t errorHistogramFirstBin = 0;
    std::vector<std::uint64_t> errorHistogram;
    // Non-empty: why this tensor was not measured under this scheme (it cannot be decoded, or the
    // scheme cannot store its shape); then the error metrics are NaN ("not measured") and the
    // sizes zero, and the summaries leave it out.
    std::string skipped;
};

// Per scheme, over a set of tensors (one layer, or the whole model): sums, hence element-weighted.
struct ScanSummary {
    std::string scheme;
    std::string device = "CPU"; // where the scheme measured: ScanScheme::device()
    int layer = -1; // for layer summaries; -1: tensors outside the transformer blocks
    // Every measured tensor, quantized or kept as stored: the same set for every scheme, so sizes
    // and errors compare like with like (the file each tool would write).
    std::uint64_t tensors = 0;
    std::uint64_t tensorsQuantized = 0; // of `tensors`, those the policy quantized
    std::uint64_t tensorsFallback = 0; // of those, stored in another type than the scheme (llama.cpp's fallback)
    std::uint64_t parameters = 0;
    std::uint64_t parametersQuantized = 0;
    std::uint64_t originalBytes = 0; // the base: the tensors as stored
    std::uint64_t quantizedBytes = 0; // kept tensors at their stored size
    double bitsPerParameter = 0.0; // quantizedBytes * 8 / parameters: over the whole selection
    ErrorStats error;
    // sum of tr(D H D^T) / sum of tr(W H W^T) over the tensors with calibration; NaN when none had.
    double activationError = std::numeric_limits<double>::quiet_NaN();
};

struct ScanProgress {
    Progress progress; // tensors done / total, bytes done / total, current tensor
    double seconds = 0.0;
    double bytesPerSecond = 0.0;
    double parametersPerSecond = 0.0;
    double secondsLeft = 0.0; // from the byte rate so far; 0 until known
};

// Weights of each element's squared error by its column (the input channel, the tensor's last
// dimension) and its row; either may be empty.
struct ErrorWeights {
    std::vector<double> columns;
    std::vector<double> rows;
};

struct ScanOptions {
    std::vector<std::shared_ptr<const ScanScheme>> schemes;
    // Which tensors each scheme quantizes: as its tool does (default), or every tensor it can store.
    TensorSelection selection = TensorSelection::AsTool;
    std::string filter; // ECMAScript regex searched in tensor names, ignoring case; empty: every tensor
    // Only tensors of these roles, comma-separated (roleName: "attn_q", "attn_q,mlp_gate"); empty:
    // every role.
    std::string role;
    // When set, only these tensors (indices into the model's tensors), as well as the above: what a
    // view shows, whatever its own filter syntax.
    std::optional<std::vector<std::size_t>> tensorIndices;
    unsigned threads = 0; // 0: one per hardware thread
    // Elements read and quantized at a time per thread (rounded up to every alignment). Memory
    // held by the scan is about threads * chunk * (4 + 4 * schemes) bytes, whatever the model size.
    std::uint64_t chunkElements = std::uint64_t(1) << 16;
    std::size_t weightHistogramBins = 64;
    // Tensor index -> error weights: those tensors also get TensorScanResult::weightedError (the
    // activation-weighted error of core/eval's ActivationStatistics). They round-trip on the CPU.
    const std::map<std::size_t, ErrorWeights>* errorWeights = nullptr;
    // Calibration inputs (core/eval's collectCalibration): every tensor with a Hessian there gets
    // TensorScanResult::activationError under every scheme, and calibrated schemes (GPTQ) can run on
    // it; a calibrated scheme keeps a tensor without one as stored, saying why.
    const CalibrationData* calibration = nullptr;
    // Called as each tensor finishes, once per scheme, from a worker thread (one call at a time).
    std::function<void(const TensorScanResult&)> onTensor;
    // Called at most every 50 ms and when a tensor finishes, one call at a time.
    std::function<void(const ScanProgress&)> onProgress;
    // When cancelled: return what was measured (the tensors that finished, summaries over them,
    // ScanResult::cancelled set) instead of throwing CancelledError.
    bool partialOnCancel = false;
};

struct ScanResult {
    TensorSelection selection = TensorSelection::AsTool;
    // ScanOptions::calibration's tokens and mode ("16 sequences ... seed 1234; the original model's
    // inputs to each layer"); empty without calibration.
    std::string calibration;
    std::vector<TensorScanResult> tensors; // tensor order, then scheme order
    std::vector<ScanSummary> layers; // scheme order, then layer (-1 first)
    std::vector<ScanSummary> models; // one per scheme: the whole selection
    std::uint64_t parameters = 0; // elements read (each once, whatever the number of schemes)
    std::uint64_t bytes = 0; // stored bytes of the tensors scanned
    double seconds = 0.0;
    unsigned threads = 0;
    std::uint64_t chunkElements = 0;
    std::uint64_t workingBytes = 0; // buffers and accumulators the scan allocated
    // The selection (ScanOptions::filter, and the roles as parsed, comma-separated) when it left
    // tensors out, for reports to state; empty when every tensor was scanned.
    std::string filter;
    std::string role;
    // Cancelled with ScanOptions::partialOnCancel: `tensors` and the summaries cover the tensors that
    // finished (tensorsMeasured of tensorsSelected) and `seconds` runs to the cancellation.
    bool cancelled = false;
    std::uint64_t tensorsSelected = 0;
    std::uint64_t tensorsMeasured = 0;
};

// Quantize -> dequantize -> measure every tensor of `model` whose name matches the filter, under
// every scheme as ScanOptions::selection applies it (planTensor: kept tensors measure as exact,
// fallback types replace the scheme where it cannot store a tensor), reading each chunk once for
// all schemes, on a thread pool. Tensors that cannot be decoded are listed with `skipped` set. Throws UsageError
// for a bad filter, a filter or role that no tensor matches, or no scheme, CancelledError when `sink` is cancelled
// (checked before every chunk), and whatever the reader throws. `sink` also receives the plain Progress of each report.
ScanResult scanModel(const Model& model, const ScanOptions& options, ProgressSink& sink);

// "36 of 47 tensors quantized (204,800 of 260,032 parameters)", and ", 5 in a fallback type" when
// some are: what every output states beside a summary's size.
std::string coverageText(const ScanSummary& summary);
// Why tensors of `scheme` were stored in another type or kept, counted: "5 tensors: q5_0 (llama.cpp's
// fallback: ...)", most frequent first.
std::vector<std::string> policyNotes(const ScanResult& result, const std::string& scheme);

} // namespace quantlens::core
