#pragma once

#include "core/planner/planner.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>

// The planner settings `plan` and `report` share: everything about a plan except which model it is
// for (`plan` takes --model/--params, `report` --preset/--params beside its model file).
namespace quantlens::cli {

struct PlanSettings {
    std::string method = "full";
    std::string precision = "bf16";
    std::string weights;
    bool doubleQuant = false;
    int blockSize = 64;
    std::string optimizer = "adamw";
    std::int64_t seq = 2048;
    std::int64_t batch = 1;
    bool gradCheckpointing = false;
    int loraRank = 16;
    double loraAlpha = 32;
    std::string loraTargets = "q,k,v,o";
    std::string attention = "sdpa";
    std::string gpu;
    int gpus = 1;
    int zero = 0;
    std::optional<double> cudaContextMiB; // absent: the planner's default
    std::optional<double> allocatorFraction;
    bool freeOutputs = false;
    double loraDropout = 0.05;
    std::string adamw = "foreach";
    bool expandableSegments = false;
    int kvCacheBits = 16;
    bool tensorParallel = false;
    std::optional<std::uint64_t> weightBytes; // the advisor's mix, a file's size
};

// Registers --method ... --allocator-fraction (and --weight-bytes unless the command finds them
// itself) on `sub`.
void addPlanSettings(CLI::App& sub, PlanSettings& settings, bool weightBytesOption = true);

// The plan for `model` under these settings. UsageError naming the option for a bad value.
core::PlanInput toPlanInput(const PlanSettings& settings, core::ModelSpec model);

} // namespace quantlens::cli
