#include "ui/jobs/lab_analysis.h"

#include "core/quant/quant_policy.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"
#include "core/util/units.h"

#include <QObject>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace quantlens::ui {

namespace {

std::vector<float> syntheticValues(SyntheticKind kind, std::uint64_t count)
{
    std::mt19937 rng(1234);
    std::vector<float> values(count);
    switch (kind) {
    case SyntheticKind::Normal: {
        std::normal_distribution<float> normal(0.0f, 0.02f);
        for (float& v : values)
            v = normal(rng);
        break;
    }
    case SyntheticKind::HeavyTailed: {
        std::student_t_distribution<float> t(3.0f);
        for (float& v : values)
            v = 0.02f * t(rng);
        break;
    }
    case SyntheticKind::Outliers: {
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::uniform_real_distribution<float> coin(0.0f, 1.0f);
        for (float& v : values)
            v = normal(rng) * (coin(rng) < 0.01f ? 50.0f : 1.0f);
        break;
    }
    }
    return values;
}

QString syntheticName(SyntheticKind kind)
{
    switch (kind) {
    case SyntheticKind::HeavyTailed:
        return QObject::tr("synthetic: heavy-tailed (0.02 · Student t, 3 dof)");
    case SyntheticKind::Outliers:
        return QObject::tr("synthetic: normal(0, 0.02) with 1% of values ×50");
    case SyntheticKind::Normal:
        break;
    }
    return QObject::tr("synthetic: normal(0, 0.02)");
}

} // namespace

LabAnalysis analyse(const LabRequest& request)
{
    LabAnalysis out;
    const core::TensorInfo* tensor = nullptr; // the model's tensor, when the values are one
    if (request.model) {
        const auto& tensors = request.model->tensors();
        if (request.tensorIndex < 0 || std::size_t(request.tensorIndex) >= tensors.size())
            throw UsageError("no such tensor");
        const core::TensorInfo& t = tensors[std::size_t(request.tensorIndex)];
        tensor = &t;
        std::string why;
        if (!request.model->canDequantize(std::size_t(request.tensorIndex), &why))
            throw UnsupportedError(t.name + ": " + why);
        const std::uint64_t total = t.elementCount();
        std::uint64_t n = std::min(total, request.maxElements);
        const std::uint64_t align
            = std::max<std::uint64_t>(1, request.model->blockAlignment(std::size_t(request.tensorIndex)));
        const bool matrix = t.shape.size() >= 2 && t.rowLength() > 0;
        if (n < total) {
            // Whole rows (and whole stored blocks), at least one: per-row schemes and ggml's formats
            // see the tensor's real rows, not one long row of its first values.
            const std::uint64_t unit = matrix ? std::lcm(align, t.rowLength()) : align;
            n = std::min(total, std::max(unit, n / unit * unit));
        }
        out.values.resize(n);
        request.model->readFloat(std::size_t(request.tensorIndex), 0, out.values);
        const std::uint64_t row = t.rowLength();
        out.shape
            = (matrix && n % row == 0) ? std::vector<std::uint64_t> {n / row, row} : std::vector<std::uint64_t> {n};
        out.source = n < total
            ? QObject::tr("%1 (first %2 of %3 values)")
                  .arg(QString::fromStdString(t.name), QString::fromStdString(core::formatThousands(n)),
                       QString::fromStdString(core::formatThousands(total)))
            : QString::fromStdString(t.name);
    } else {
        out.values = syntheticValues(request.synthetic, request.syntheticCount);
        out.shape = {request.syntheticCount};
        out.source = syntheticName(request.synthetic);
    }

    float lo = 0;
    float hi = 0;
    for (float v : out.values) {
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    if (!(hi > lo))
        hi = lo + 1;
    out.weightHistogram = core::ValueHistogram(lo, hi, std::size_t(request.histogramBins));
    out.weightHistogram.add(out.values);

    core::SchemeOptions options;
    if (request.blockSize > 0) // 0: the scheme's own (64 for NF4/FP4, 4096 for 8-bit dynamic)
        options.blocksize = std::uint32_t(request.blockSize);
    options.doubleQuant = request.doubleQuant;
    for (const QString& id : request.schemes) {
        auto scheme = core::makeScheme(id.toStdString(), options);
        LabSchemeResult r;
        r.scheme = id;
        r.requested = id;
        if (tensor) { // the policy every command shares, on the whole tensor's shape
            const core::PlannedTensor plan = core::planTensor(core::TensorSelection::AsTool, id.toStdString(), *tensor,
                                                              scheme->cannotStore(tensor->shape));
            if (plan.type.empty()) {
                r.policy = QObject::tr("As its tool applies %1, this tensor is %2. Measured here anyway, for teaching.")
                               .arg(id, QString::fromStdString(plan.note));
            } else if (plan.type != id.toStdString()) {
                r.policy = QObject::tr("%1 cannot store this tensor; llama.cpp stores it as %2, measured here.")
                               .arg(id, QString::fromStdString(plan.note));
                scheme = core::makeScheme(plan.type);
                r.scheme = QString::fromStdString(plan.type);
            }
        }
        if (scheme->needsCalibration()) { // GPTQ: the layer's inputs, which one tensor does not give
            r.unavailable = QObject::tr("%1 needs calibration inputs (the layer's inputs from running the "
                                        "model); measure it in the Model Inspector or Model Quality")
                                .arg(r.scheme);
            out.schemes.push_back(std::move(r));
            continue;
        }
        if (const std::string why = scheme->cannotStore(out.shape); !why.empty()) {
            r.unavailable = QString::fromStdString(why);
            out.schemes.push_back(std::move(r));
            continue;
        }
        r.bitsPerParameter = scheme->bitsPerParameter(out.shape);
        core::SchemeStatistics statistics;
        core::RoundTripContext context {out.shape, 0, nullptr};
        if (scheme->needsTensorStatistics()) {
            statistics = scheme->chunkStatistics(out.values, out.shape);
            context.statistics = &statistics;
        }
        r.dequantized.resize(out.values.size());
        scheme->roundTrip(out.values, r.dequantized, context);
        core::ErrorAccumulator accumulator;
        accumulator.add(out.values, r.dequantized);
        r.error = accumulator.stats();
        const double range = std::max(r.error.maxAbsError, 1e-30);
        r.errorHistogram = core::ValueHistogram(-range, range, std::size_t(request.histogramBins));
        std::vector<float> errors(out.values.size());
        for (std::size_t i = 0; i < errors.size(); ++i)
            errors[i] = r.dequantized[i] - out.values[i];
        r.errorHistogram.add(errors);
        out.schemes.push_back(std::move(r));
    }
    return out;
}

} // namespace quantlens::ui
