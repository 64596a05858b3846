#include "core/planner/catalogue.h"

#include "core/planner/embedded_catalogue.h"
#include "core/util/closest_names.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace quantlens::core {

namespace {

using Json = nlohmann::json;

std::vector<ModelSpec> parsePresets()
{
    std::vector<ModelSpec> presets;
    for (const auto& file : embeddedModelPresets())
        presets.push_back(modelSpecFromConfig(Json::parse(file.text), file.name));
    return presets;
}

std::vector<GpuSpec> parseGpus()
{
    const Json root = Json::parse(embeddedGpuCatalogue());
    std::vector<GpuSpec> gpus;
    for (const auto& row : root.at("gpus")) {
        GpuSpec gpu;
        gpu.id = row.at("id").get<std::string>();
        gpu.name = row.at("name").get<std::string>();
        gpu.memoryBytesSold = row.at("memory_bytes_sold").get<std::uint64_t>();
        gpu.memoryBytesUsable = row.at("memory_bytes_usable").get<std::uint64_t>();
        gpu.memoryType = row.value("memory_type", "");
        gpu.bandwidthGBs = row.value("bandwidth_gbs", 0.0);
        gpu.computeCapability = row.value("compute_capability", "");
        gpu.bf16 = row.value("bf16", false);
        gpu.fp8 = row.value("fp8", false);
        gpu.vendor = row.value("vendor", "");
        gpu.note = row.value("note", "");
        gpus.push_back(std::move(gpu));
    }
    return gpus;
}

// "NVIDIA GeForce RTX 4090" and "rtx-4090" both become "rtx4090".
std::string normalise(const std::string& name)
{
    std::string lower;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '.')
            lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const char* noise : {"nvidia", "geforce"}) {
        const std::string word = noise;
        for (auto at = lower.find(word); at != std::string::npos; at = lower.find(word))
            lower.erase(at, word.size());
    }
    return lower;
}

} // namespace

const std::vector<ModelSpec>& modelPresets()
{
    static const std::vector<ModelSpec> presets = parsePresets();
    return presets;
}

const std::vector<GpuSpec>& gpuCatalogue()
{
    static const std::vector<GpuSpec> gpus = parseGpus();
    return gpus;
}

std::vector<std::string> closestNames(const std::string& query, const std::vector<std::string>& candidates,
                                      std::size_t count)
{
    return closestNames(query, candidates, count, normalise);
}

const ModelSpec& findModelPreset(const std::string& name)
{
    const std::string key = normalise(name);
    std::vector<std::string> ids;
    for (const auto& preset : modelPresets()) {
        if (normalise(preset.name) == key || normalise(preset.displayName) == key)
            return preset;
        ids.push_back(preset.name);
    }
    throw UsageError(strCat("unknown model preset '", name, "'; closest: ", joinList(closestNames(name, ids), ", "),
                            " (or give a path to a config.json)"));
}

const GpuSpec& findGpu(const std::string& name)
{
    const std::string key = normalise(name);
    std::vector<std::string> ids;
    for (const auto& gpu : gpuCatalogue()) {
        if (normalise(gpu.id) == key || normalise(gpu.name) == key)
            return gpu;
        ids.push_back(gpu.id);
    }
    throw UsageError(strCat("unknown GPU '", name, "'; closest: ", joinList(closestNames(name, ids), ", ")));
}

ModelSpec resolveModel(const std::string& presetOrConfigPath)
{
    const std::string key = normalise(presetOrConfigPath);
    for (const auto& preset : modelPresets()) {
        if (normalise(preset.name) == key || normalise(preset.displayName) == key)
            return preset;
    }
    std::error_code ec;
    if (std::filesystem::is_regular_file(presetOrConfigPath, ec))
        return modelSpecFromConfigFile(presetOrConfigPath);
    return findModelPreset(presetOrConfigPath); // throws, listing the closest presets
}

} // namespace quantlens::core
