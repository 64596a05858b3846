#include "core/model/model.h"

#include "core/io/gguf_model.h"
#include "core/io/safetensors_model.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

namespace quantlens::core {

std::uint64_t Model::totalParameters() const
{
    std::uint64_t total = 0;
    for (const auto& t : tensors())
        total += t.elementCount();
    return total;
}

std::uint64_t Model::totalBytes() const
{
    std::uint64_t total = 0;
    for (const auto& t : tensors())
        total += t.byteSize;
    return total;
}

std::ptrdiff_t Model::find(const std::string& name) const
{
    const auto& list = tensors();
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (list[i].name == name)
            return static_cast<std::ptrdiff_t>(i);
    }
    return -1;
}

namespace {

bool startsWithGgufMagic(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::array<char, 4> magic {};
    return in.read(magic.data(), magic.size()) && std::memcmp(magic.data(), "GGUF", 4) == 0;
}

} // namespace

std::unique_ptr<Model> openModel(const std::filesystem::path& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        // A Hugging Face folder: the index if there is one, else the single file.
        for (const char* name : {"model.safetensors.index.json", "model.safetensors"}) {
            if (std::filesystem::is_regular_file(path / name))
                return openModel(path / name);
        }
        std::vector<std::filesystem::path> candidates;
        for (const auto& entry : std::filesystem::directory_iterator(path)) {
            const auto ext = entry.path().extension();
            if (entry.is_regular_file() && (ext == ".gguf" || ext == ".safetensors"))
                candidates.push_back(entry.path());
            else if (entry.is_regular_file() && entry.path().filename().string().ends_with(".safetensors.index.json"))
                return openSafetensorsIndex(entry.path());
        }
        if (candidates.size() == 1)
            return openModel(candidates.front());
        if (candidates.empty()) // nothing to open, as a missing file: a failure, not a usage error
            throw IoError(path.string(), "holds no model file (.safetensors, .gguf or model.safetensors.index.json)");
        throw UsageError(strCat(path.string(), ": folder holds ", candidates.size(),
                                " model files and no model.safetensors.index.json; name the file to open"));
    }
    if (!std::filesystem::exists(path, ec))
        throw IoError(path.string(), "no such file or folder");
    const std::string name = path.filename().string();
    if (name == "config.json") {
        // A Hugging Face config: the weights beside it.
        const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
        try {
            return openModel(folder);
        } catch (const IoError&) {
            throw IoError(path.string(), "describes a model, but its folder holds no weights (.safetensors, .gguf)");
        }
    }
    if (name.ends_with(".json"))
        return openSafetensorsIndex(path);
    if (path.extension() == ".gguf" || startsWithGgufMagic(path))
        return openGgufFile(path);
    if (path.extension() == ".safetensors")
        return openSafetensorsFile(path);
    // Another name: a safetensors file by another name opens; anything else is said to be no model.
    try {
        return openSafetensorsFile(path);
    } catch (const FormatError& e) {
        // The sentence starts with what is wrong; the reader's reason follows.
        throw FormatError(ErrorLocation {},
                          strCat(path.string(),
                                 " is not a model file (expected .safetensors, .gguf, "
                                 "model.safetensors.index.json or config.json); read "
                                 "as safetensors, ",
                                 e.what()));
    }
}

std::string storedQuantizationNote(const Model& model)
{
    std::map<std::string, std::uint64_t> byType;
    std::uint64_t tensors = 0, parameters = 0, bytes = 0;
    for (const auto& t : model.tensors()) {
        if (isPlainDtype(t.dtype) && t.dtype != DType::F8_E4M3 && t.dtype != DType::F8_E5M2)
            continue; // F64/F32/F16/BF16, and integer tensors that are not weights
        ++byType[std::string(dtypeName(t.dtype))];
        ++tensors;
        parameters += t.elementCount();
        bytes += t.byteSize;
    }
    if (tensors == 0)
        return {};
    std::vector<std::pair<std::uint64_t, std::string>> order;
    for (const auto& [type, count] : byType)
        order.emplace_back(count, type);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string types;
    for (const auto& [count, type] : order)
        types += strCat(types.empty() ? "" : ", ", type, " x ", count);
    const double share = model.totalParameters() ? 100.0 * double(parameters) / double(model.totalParameters()) : 0.0;
    char numbers[64];
    std::snprintf(numbers, sizeof numbers, "%.1f%% of the parameters) in ", share);
    char bits[32];
    std::snprintf(bits, sizeof bits, "%.2f", parameters ? double(bytes) * 8.0 / double(parameters) : 0.0);
    return strCat("This model is stored quantized: ", tensors, " of ", model.tensors().size(), " tensors (", numbers,
                  types, ", ", bits,
                  " bits per weight. Errors are measured against these stored values, dequantized: "
                  "what quantizing them again adds, not the error against the original weights.");
}

} // namespace quantlens::core
