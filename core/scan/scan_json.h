#pragma once

#include "core/scan/scan.h"

#include <nlohmann/json.hpp>

namespace quantlens::core {

// The scan as JSON, the shape `quantlens-cli inspect --json` prints and reports embed:
// {"tensors": [{name, scheme, layer, role, dtype, shape, elements, rmse, max_abs_error, mse,
// sqnr_db, rel_error, cosine, mean_abs_error, p50/p95/p99_abs_error, non_finite_inputs,
// non_finite_outputs, bits_per_parameter, quantized_bytes, skipped?}], "layers": [...],
// "summary": [{scheme, parameters, bits_per_parameter, original_bytes, quantized_bytes, + the
// error fields}], "scan": {seconds, threads, parameters, bytes}}. JSON has no infinity: an
// infinite SQNR (no error at all) or relative error is written as null.
nlohmann::json errorStatsToJson(const ErrorStats& stats);
nlohmann::json scanResultToJson(const ScanResult& result);

} // namespace quantlens::core
