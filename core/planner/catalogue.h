#pragma once

#include "core/planner/model_spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace quantlens::core {

// One row of resources/gpus.json (facts from docs in gpus.md): memory as sold (vendor GB) and as
// usable (what nvidia-smi reports as total, in MiB), which is what the planner compares against.
struct GpuSpec {
    std::string id; // "h100-sxm", "rtx-4090"
    std::string name; // "NVIDIA H100 (SXM)"
    std::uint64_t memoryBytesSold = 0; // 80e9
    std::uint64_t memoryBytesUsable = 0; // 81559 MiB
    std::string memoryType;
    double bandwidthGBs = 0;
    std::string computeCapability; // "9.0", or "" for non-NVIDIA
    bool bf16 = false;
    bool fp8 = false;
    std::string vendor; // nvidia, amd, apple
    std::string note; // "unified memory: about 70% usable by the GPU", or ""
};

// Bundled presets and GPUs, embedded into quantlens_core at build time from resources/ so that
// the CLI, the GUI and the tests need no files at run time. Parsed once, on first use.
const std::vector<ModelSpec>& modelPresets();
const std::vector<GpuSpec>& gpuCatalogue();

// Lookup by id or display name, case-insensitive, ignoring spaces, dashes, underscores and
// "nvidia"/"geforce". On a miss: UsageError "unknown GPU 'X'; closest: a, b, c".
const ModelSpec& findModelPreset(const std::string& name);
const GpuSpec& findGpu(const std::string& name);

// The `count` catalogue names closest to `query` (edit distance on the normalised names).
std::vector<std::string> closestNames(const std::string& query, const std::vector<std::string>& candidates,
                                      std::size_t count = 3);

// --model accepts a preset id or a path to a config.json: presets first, then the file.
ModelSpec resolveModel(const std::string& presetOrConfigPath);

} // namespace quantlens::core
