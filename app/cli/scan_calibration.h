#pragma once

#include "core/model/model.h"
#include "core/quant/calibration.h"
#include "core/scan/scan_scheme.h"
#include "core/util/progress.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quantlens::cli {

// Calibration inputs for a scan (inspect, report): when asked for (`calibrate`, or a token-id
// `file`) or when a scheme needs them (GPTQ). 16 sequences of up to 256 tokens sampled from the model
// with core::kCalibrationSeed, or the file's; each layer's inputs from the original model, since the
// scan measures each tensor on its own. Empty when not wanted, or when only a scheme wanted them and
// the model cannot be run (a note on stderr says why; those schemes then keep every tensor).
std::optional<core::CalibrationData>
scanCalibration(const core::Model& model, const std::vector<std::shared_ptr<const core::ScanScheme>>& schemes,
                bool calibrate, const std::string& file, unsigned threads, core::ProgressSink& sink);

} // namespace quantlens::cli
