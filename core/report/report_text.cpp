#include "core/report/report_text.h"

#include "core/util/str_cat.h"

#include <cmath>
#include <cstdio>

namespace quantlens::core {

std::string planSetupText(const PlanInput& in)
{
    // As `plan` prints it: inference has no optimizer or checkpointing, and ZeRO shows whenever it is
    // on (on one GPU it still drops the optimizer step's temporaries).
    const bool training = in.method != TrainingMethod::Inference;
    std::string out = strCat(toString(in.method), ", ", toString(in.precision), ", ",
                             training ? strCat(toString(in.optimizer), ", ") : std::string(), "seq ", in.seqLen,
                             " x batch ", in.microBatch, ", ", toString(in.attention));
    if (in.weights)
        out += strCat(", ", toString(*in.weights), " weights");
    if (training && in.gradientCheckpointing)
        out += ", checkpointing";
    if (in.method == TrainingMethod::Lora || in.method == TrainingMethod::Qlora) {
        out += strCat(", LoRA r", in.loraRank, " on ", loraTargetsToString(in.loraTargets));
        if (in.loraDropout <= 0)
            out += " without dropout";
    }
    if (training && in.optimizer == OptimizerKind::AdamW && in.adamw != AdamWImplementation::Foreach)
        out += strCat(", ", toString(in.adamw), " AdamW");
    if (training && !in.keepOutputs)
        out += ", outputs freed before backward";
    if (!training && in.kvCacheBits < 16)
        out += strCat(", ", in.kvCacheBits, "-bit KV cache");
    if (in.expandableSegments)
        out += ", expandable segments";
    if (!training && in.gpus > 1)
        out += strCat(", ", in.gpus, " GPUs ", in.tensorParallel ? "tensor parallel" : "each holding the model");
    else if (in.gpus > 1 || in.zeroStage > 0)
        out += strCat(", ", in.gpus, in.gpus > 1 ? " GPUs" : " GPU", " ZeRO-", in.zeroStage);
    return out;
}

std::string formatMetric(double value)
{
    if (std::isinf(value))
        return value > 0 ? "inf" : "-inf";
    if (std::isnan(value))
        return "n/a"; // not measured: no finite value
    char buffer[32];
    // Four significant digits, but whole numbers from 10,000 up: 21096, not 2.11e+04.
    std::snprintf(buffer, sizeof buffer, std::fabs(value) >= 1e4 && std::fabs(value) < 1e15 ? "%.0f" : "%.4g", value);
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

std::string wrapCommandLine(const std::string& line, std::size_t width)
{
    std::vector<std::string> words;
    std::string word;
    bool quoted = false; // inside '...'
    bool escaped = false; // after a backslash outside quotes ('\'' is how a quote is written)
    for (char c : line) {
        if (escaped)
            escaped = false;
        else if (!quoted && c == '\\')
            escaped = true;
        else if (c == '\'')
            quoted = !quoted;
        else if (c == ' ' && !quoted) {
            if (!word.empty())
                words.push_back(std::move(word));
            word.clear();
            continue;
        }
        word += c;
    }
    if (!word.empty())
        words.push_back(std::move(word));
    // An option stays on the line of its value: "--gpu rtx-4090" is one unit.
    std::vector<std::string> units;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (words[i].starts_with("-") && i + 1 < words.size() && !words[i + 1].starts_with("-")) {
            units.push_back(words[i] + " " + words[i + 1]);
            ++i;
        } else {
            units.push_back(words[i]);
        }
    }
    words = std::move(units);
    const std::string indent = "    ";
    std::string out;
    std::size_t column = 0;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const bool first = i == 0;
        // +2 leaves room for the " \\" that ends a line.
        if (!first && column + 1 + words[i].size() + 2 > width && column > indent.size()) {
            out += " \\\n" + indent;
            column = indent.size();
        } else if (!first) {
            out += ' ';
            ++column;
        }
        out += words[i];
        column += words[i].size();
    }
    return out;
}

} // namespace quantlens::core
