#pragma once

#include "core/metrics/error_accumulator.h"
#include "core/metrics/value_histogram.h"
#include "core/model/model.h"

#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace quantlens::ui {

// Where the Lab's values come from: a tensor of the open model, or a synthetic distribution.
enum class SyntheticKind { Normal, HeavyTailed, Outliers };

struct LabRequest {
    std::shared_ptr<const core::Model> model; // null: synthetic
    int tensorIndex = -1;
    SyntheticKind synthetic = SyntheticKind::Normal;
    std::uint64_t syntheticCount = 1 << 16;
    std::uint64_t maxElements = 1 << 22; // larger tensors are analysed on their first elements
    QStringList schemes; // one or two scheme ids (side by side)
    int blockSize = 0; // 0: each scheme's own
    bool doubleQuant = false;
    int histogramBins = 120;
};

struct LabSchemeResult {
    QString scheme; // the scheme measured: the one asked for, or the tool's fallback type for this tensor
    QString requested; // the scheme asked for
    // For a model's tensor: what the scheme's tool does with it when that is not simply quantizing it
    // with the scheme (core::planTensor): it keeps the tensor (measured anyway, for teaching), or
    // stores it in a fallback type (then measured in that type). Empty otherwise.
    QString policy;
    // Non-empty: why the scheme cannot store these values (ggml's formats need rows of whole
    // blocks); then nothing else is filled.
    QString unavailable;
    double bitsPerParameter = 0;
    std::vector<float> dequantized;
    core::ErrorStats error;
    core::ValueHistogram errorHistogram; // signed error, symmetric range
};

struct LabAnalysis {
    QString source; // "model.layers.0.mlp.down_proj.weight (first 4,194,304 of …)" or "synthetic: normal(0, 0.02)"
    std::vector<std::uint64_t> shape;
    std::vector<float> values;
    core::ValueHistogram weightHistogram;
    std::vector<LabSchemeResult> schemes;
};

// Reads (or generates) the values and runs every scheme on them. Runs on a worker thread; throws
// quantlens::Error on a bad tensor or scheme.
LabAnalysis analyse(const LabRequest& request);

} // namespace quantlens::ui
