#pragma once

#include "core/planner/planner.h"

#include <cstdint>
#include <string>
#include <vector>

// Plain-text pieces that the Markdown and HTML writers word the same way. The results are not
// escaped: callers escape what came from a model file.
namespace quantlens::core {

// "QLoRA (qlora), bf16, paged-adamw-8bit, seq 2048 x batch 1, sdpa, checkpointing, LoRA r16 on q,k,v,o"
std::string planSetupText(const PlanInput& input);
// Four significant digits, "inf" for infinity: 0.0123, 1.235e-05, 23.45.
std::string formatMetric(double value);
// Percent with one decimal: "42.1%".
std::string formatPercent(double fraction);
// "4096 x 4096"
std::string shapeText(const std::vector<std::uint64_t>& shape);
// Digits grouped by three: "6,738,415,616".
std::string groupDigits(std::uint64_t value);
// Parameters in the largest fitting unit: "260.2 K", "6.74 B".
std::string formatParameters(std::uint64_t value);
// A shell command line (words quoted with '...' where needed) broken at word boundaries into lines
// of at most `width` characters where the words allow, each but the last ending in " \" and the
// rest indented: still one command when pasted, and never cut inside a word (a PDF page would
// otherwise break "--grad-checkpointing" at its hyphen).
std::string wrapCommandLine(const std::string& line, std::size_t width);

} // namespace quantlens::core
