#include "core/planner/catalogue.h"

#include "core/planner/embedded_catalogue.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

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

std::size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string joinNames(const std::vector<std::string>& names)
{
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
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
    const std::string key = normalise(query);
    std::vector<std::pair<std::size_t, std::string>> scored;
    for (const auto& c : candidates) {
        const std::string n = normalise(c);
        // A candidate containing the query (or the reverse) is as close as can be: "4090" -> rtx-4090.
        const bool contains = !key.empty() && (n.find(key) != std::string::npos || key.find(n) != std::string::npos);
        scored.emplace_back(contains ? 0 : editDistance(key, n), c);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (std::size_t i = 0; i < scored.size() && i < count; ++i)
        out.push_back(scored[i].second);
    return out;
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
    throw UsageError(strCat("unknown model preset '", name, "'; closest: ", joinNames(closestNames(name, ids)),
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
    throw UsageError(strCat("unknown GPU '", name, "'; closest: ", joinNames(closestNames(name, ids))));
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
