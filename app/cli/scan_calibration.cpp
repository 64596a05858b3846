#include "scan_calibration.h"

#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/eval/token_input.h"
#include "core/util/error.h"

#include <algorithm>
#include <iostream>

namespace quantlens::cli {

std::optional<core::CalibrationData>
scanCalibration(const core::Model& model, const std::vector<std::shared_ptr<const core::ScanScheme>>& schemes,
                bool calibrate, const std::string& file, unsigned threads, core::ProgressSink& sink)
{
    const bool needed
        = std::any_of(schemes.begin(), schemes.end(), [](const auto& s) { return s->needsCalibration(); });
    if (!calibrate && file.empty() && !needed)
        return std::nullopt;
    try {
        const auto config = core::llamaConfigFor(model);
        const core::TokenSet tokens = !file.empty() ? core::readTokenFile(file, config.vocab, config.context)
                                                    : core::sampleCalibrationTokens(model, config, threads, &sink);
        return core::collectCalibration(model, tokens, threads, &sink);
    } catch (const UsageError& e) {
        if (calibrate || !file.empty())
            throw;
        std::cerr << "note: no calibration inputs, so the calibrated schemes keep every tensor: " << e.what() << "\n";
        return std::nullopt;
    }
}

} // namespace quantlens::cli
