#include "command.h"

#include "core/model/model.h"
#include "core/util/units.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

namespace quantlens::cli {

namespace {

struct InfoOptions {
    std::string path;
    bool json = false;
    bool allTensors = false;
};

std::string shapeText(const std::vector<std::uint64_t>& shape)
{
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

struct Totals {
    std::uint64_t parameters = 0;
    std::uint64_t bytes = 0;
    std::uint64_t tensors = 0;
};

void printInfoJson(const core::Model& model, const std::map<std::string, Totals>& byRole,
                   const std::map<std::string, Totals>& byDtype)
{
    using nlohmann::json;
    const auto& a = model.architecture();
    json out;
    out["format"] = model.format();
    out["path"] = model.path().string();
    out["architecture"] = {{"name", a.name},
                           {"hidden_size", a.hiddenSize},
                           {"intermediate_size", a.intermediateSize},
                           {"layers", a.layers},
                           {"attention_heads", a.attentionHeads},
                           {"kv_heads", a.kvHeads},
                           {"head_dim", a.headDim},
                           {"vocab_size", a.vocabSize},
                           {"context_length", a.contextLength},
                           {"experts", a.experts},
                           {"experts_per_token", a.expertsPerToken},
                           {"tied_embeddings", a.tiedEmbeddings}};
    out["parameters"] = model.totalParameters();
    out["bytes"] = model.totalBytes();
    for (const auto& [name, t] : byRole)
        out["parameters_by_role"][name] = t.parameters;
    for (const auto& [name, t] : byDtype)
        out["parameters_by_dtype"][name] = t.parameters;
    out["files"] = json::array();
    for (const auto& f : model.files())
        out["files"].push_back({{"path", f.string()}, {"bytes", std::filesystem::file_size(f)}});
    out["metadata"] = model.metadata();
    out["tensors"] = json::array();
    for (const auto& t : model.tensors()) {
        out["tensors"].push_back({{"name", t.name},
                                  {"shape", t.shape},
                                  {"dtype", std::string(core::dtypeName(t.dtype))},
                                  {"bytes", t.byteSize},
                                  {"layer", t.layer},
                                  {"expert", t.expert},
                                  {"role", std::string(core::roleName(t.role))},
                                  {"file", t.file}});
    }
    std::cout << out.dump(2) << "\n";
}

void printTotals(const char* title, const std::map<std::string, Totals>& totals, std::uint64_t all)
{
    std::cout << "\n" << title << "\n";
    for (const auto& [name, t] : totals) {
        std::printf("  %-14s %16s  %6.2f%%  %12s  %6llu %s\n", name.c_str(),
                    core::formatThousands(t.parameters).c_str(), all ? 100.0 * double(t.parameters) / double(all) : 0.0,
                    core::formatBinaryBytes(double(t.bytes)).c_str(), static_cast<unsigned long long>(t.tensors),
                    t.tensors == 1 ? "tensor" : "tensors");
    }
    std::fflush(stdout);
}

void runInfo(const InfoOptions& options)
{
    const auto model = core::openModel(options.path);
    std::map<std::string, Totals> byRole, byDtype;
    for (const auto& t : model->tensors()) {
        for (auto* totals :
             {&byRole[std::string(core::roleName(t.role))], &byDtype[std::string(core::dtypeName(t.dtype))]}) {
            totals->parameters += t.elementCount();
            totals->bytes += t.byteSize;
            ++totals->tensors;
        }
    }
    if (options.json) {
        printInfoJson(*model, byRole, byDtype);
        return;
    }
    const auto& a = model->architecture();
    std::cout << "File:         " << model->path().string() << "\n"
              << "Format:       " << model->format() << "\n"
              << "Architecture: " << (a.name.empty() ? "unknown" : a.name) << "\n";
    if (a.layers) {
        // Sizes the tensors alone cannot give (heads, context) stay out rather than print as 0.
        std::string line = std::to_string(a.layers) + " layers, hidden " + std::to_string(a.hiddenSize) + ", MLP "
            + std::to_string(a.intermediateSize);
        if (a.attentionHeads)
            line += ", " + std::to_string(a.attentionHeads) + " heads (" + std::to_string(a.kvHeads) + " KV, dim "
                + std::to_string(a.headDim) + ")";
        line += ", vocabulary " + std::to_string(a.vocabSize);
        if (a.contextLength)
            line += ", context " + std::to_string(a.contextLength);
        if (a.experts)
            line += ", experts " + std::to_string(a.experts) + " (" + std::to_string(a.expertsPerToken) + " per token)";
        if (a.tiedEmbeddings)
            line += ", tied embeddings";
        std::cout << "              " << line << "\n";
    }
    std::cout << "Parameters:   " << core::formatThousands(model->totalParameters()) << " ("
              << core::formatCount(double(model->totalParameters())) << "), "
              << core::formatBinaryBytes(double(model->totalBytes())) << " of tensor data\n";
    std::cout << "\nFiles\n";
    for (const auto& f : model->files())
        std::cout << "  " << f.filename().string() << "  "
                  << core::formatBinaryBytes(double(std::filesystem::file_size(f))) << "\n";
    printTotals("Parameters by role", byRole, model->totalParameters());
    printTotals("Parameters by dtype", byDtype, model->totalParameters());
    if (!model->metadata().empty()) {
        std::cout << "\nMetadata\n";
        for (const auto& [key, value] : model->metadata())
            std::cout << "  " << key << " = " << (value.size() > 120 ? value.substr(0, 117) + "..." : value) << "\n";
    }
    const auto& tensors = model->tensors();
    constexpr std::size_t kShownByDefault = 60;
    const auto shown = options.allTensors ? tensors.size() : std::min(tensors.size(), kShownByDefault);
    std::cout << "\nTensors (" << tensors.size() << ")\n";
    std::printf("  %-52s %-18s %-8s %12s %5s %s\n", "name", "shape", "dtype", "bytes", "layer", "role");
    for (std::size_t i = 0; i < shown; ++i) {
        const auto& t = tensors[i];
        std::printf("  %-52s %-18s %-8s %12s %5s %s\n", t.name.c_str(), shapeText(t.shape).c_str(),
                    std::string(core::dtypeName(t.dtype)).c_str(), core::formatThousands(t.byteSize).c_str(),
                    t.layer < 0 ? "-" : std::to_string(t.layer).c_str(), std::string(core::roleName(t.role)).c_str());
    }
    if (shown < tensors.size())
        std::printf("  ... %zu more (--all-tensors lists them)\n", tensors.size() - shown);
    std::fflush(stdout);
}

} // namespace

void setupInfoCommand(CLI::App& app)
{
    auto options = std::make_shared<InfoOptions>();
    auto* sub = app.add_subcommand("info",
                                   "Describe a model file: format, architecture, parameters by role and "
                                   "dtype, metadata, tensors");
    sub->add_option("FILE", options->path,
                    "A .safetensors file, a model.safetensors.index.json, a folder holding either, or a .gguf file")
        ->required();
    sub->add_flag("--json", options->json, "Machine-readable output");
    sub->add_flag("--all-tensors", options->allTensors, "List every tensor, not only the first 60");
    sub->callback([options] { runInfo(*options); });
}

} // namespace quantlens::cli
