#include "core/report/report_text.h"

#include "core/util/str_cat.h"

#include <cmath>
#include <cstdio>

namespace quantlens::core {

std::string planSetupText(const PlanInput& in)
{
    std::string out = strCat(toString(in.method), ", ", toString(in.precision), ", ", toString(in.optimizer), ", seq ",
                             in.seqLen, " x batch ", in.microBatch, ", ", toString(in.attention));
    if (in.weights)
        out += strCat(", ", toString(*in.weights), " weights");
    if (in.gradientCheckpointing)
        out += ", checkpointing";
    if (in.method == TrainingMethod::Lora || in.method == TrainingMethod::Qlora)
        out += strCat(", LoRA r", in.loraRank, " on ", loraTargetsToString(in.loraTargets));
    if (in.gpus > 1)
        out += strCat(", ", in.gpus, " GPUs ZeRO-", in.zeroStage);
    return out;
}

std::string formatMetric(double value)
{
    if (std::isinf(value))
        return value > 0 ? "inf" : "-inf";
    if (std::isnan(value))
        return "nan";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
    return buffer;
}

std::string formatPercent(double fraction)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f%%", fraction * 100.0);
    return buffer;
}

std::string shapeText(const std::vector<std::uint64_t>& shape)
{
    if (shape.empty())
        return "scalar";
    std::string out;
    for (std::size_t i = 0; i < shape.size(); ++i)
        out += (i ? " x " : "") + std::to_string(shape[i]);
    return out;
}

std::string groupDigits(std::uint64_t value)
{
    const std::string digits = std::to_string(value);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

std::string formatParameters(std::uint64_t value)
{
    const double v = static_cast<double>(value);
    char buffer[32];
    if (v >= 1e9)
        std::snprintf(buffer, sizeof buffer, "%.2f B", v / 1e9);
    else if (v >= 1e6)
        std::snprintf(buffer, sizeof buffer, "%.2f M", v / 1e6);
    else if (v >= 1e3)
        std::snprintf(buffer, sizeof buffer, "%.1f K", v / 1e3);
    else
        std::snprintf(buffer, sizeof buffer, "%llu", static_cast<unsigned long long>(value));
    return buffer;
}

} // namespace quantlens::core
