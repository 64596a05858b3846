#include "command.h"
#include "interrupt.h"
#include "progress_bar.h"

#include "core/advise/recipe.h"
#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/eval/token_input.h"
#include "core/io/hf_config.h"
#include "core/io/safetensors_writer.h"
#include "core/model/model.h"
#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_tables.h"
#include "core/quant/calibration.h"
#include "core/quant/gptq.h"
#include "core/quant/gptq_pack.h"
#include "core/quant/llm_int8.h"
#include "core/quant/quant_policy.h"
#include "core/quant/scheme.h"
#include "core/report/atomic_write.h"
#include "core/report/text_escape.h"
#include "core/util/error.h"
#include "core/util/file_text.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"
#include "core/util/units.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace quantlens::cli {

namespace {

struct QuantizeOptions {
    std::string file;
    std::string scheme = "nf4";
    std::uint32_t blocksize = 64;
    bool doubleQuant = false;
    std::string output;
    bool force = false;
    bool blocksizeGiven = false;
    std::string recipe; // a BitsAndBytesConfig (JSON): the type and llm_int8_skip_modules
    unsigned threads = 0;
    std::string calibration; // gptq: a token-id file instead of sampling
    std::uint64_t chunkElements = std::uint64_t(16) << 20; // values read and quantized at a time
};

// What transformers quantizes with bitsandbytes (core::isLinearProjectionWeight, the policy the scan
// and eval share), stored in a float type this command reads.
bool isLinearWeight(const core::TensorInfo& t)
{
    const bool floatType = t.dtype == core::DType::F32 || t.dtype == core::DType::F16 || t.dtype == core::DType::BF16;
    return floatType && core::isLinearProjectionWeight(t);
}

// torch's dtype names, as QuantState.as_dict writes str(dtype) without "torch.".
std::string torchDtypeName(core::DType type)
{
    switch (type) {
    case core::DType::F16:
        return "float16";
    case core::DType::BF16:
        return "bfloat16";
    default:
        return "float32";
    }
}

// A float as Python's repr writes it (json.dumps of a Python float): the shortest text that reads
// back to the same double, with ".0" on whole numbers.
std::string pythonFloat(double value)
{
    char buffer[40];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
        if (std::strtod(buffer, nullptr) == value)
            break;
    }
    std::string text = buffer;
    if (text.find_first_of(".en") == std::string::npos)
        text += ".0";
    return text;
}

// The `quant_state.bitsandbytes__nf4` tensor: QuantState.as_dict(packed=True) keeps the
// non-tensor fields as JSON text in a uint8 tensor (bitsandbytes/functional.py
// pack_dict_to_tensor, json.dumps with its default separators, keys in as_dict's order).
std::string quantStateJson(const std::string& type, std::uint32_t blocksize, core::DType dtype,
                           const std::vector<std::uint64_t>& shape, bool doubleQuant, float offset)
{
    std::string shapeText;
    for (std::size_t i = 0; i < shape.size(); ++i)
        shapeText += (i ? ", " : "") + std::to_string(shape[i]);
    std::string json = strCat("{\"quant_type\": \"", type, "\", \"blocksize\": ", blocksize, ", \"dtype\": \"",
                              torchDtypeName(dtype), "\", \"shape\": [", shapeText, "]");
    if (doubleQuant)
        json += strCat(", \"nested_blocksize\": ", core::kNestedBlocksize,
                       ", \"nested_dtype\": \"float32\", \"nested_offset\": ", pythonFloat(double(offset)));
    return json + "}";
}

template <typename T> std::span<const std::byte> bytesOf(const std::vector<T>& v)
{
    return std::as_bytes(std::span<const T>(v));
}

// Reads tensor `index` in pieces of at most `chunk` values that start at multiples of `alignment`
// (a 4-bit block, an int8 row), so that memory stays at one piece whatever the tensor's size.
template <typename Visit>
void forEachPiece(const core::Model& model, std::size_t index, std::uint64_t chunk, std::uint64_t alignment,
                  Visit&& visit)
{
    const std::uint64_t n = model.tensors()[index].elementCount();
    const std::uint64_t step = std::max(alignment, chunk / alignment * alignment);
    std::vector<float> values(static_cast<std::size_t>(std::min(n, step)));
    for (std::uint64_t first = 0; first < n; first += step) {
        const std::span<float> piece(values.data(), static_cast<std::size_t>(std::min(step, n - first)));
        model.readFloat(index, first, piece);
        visit(std::span<const float>(piece));
    }
}

struct Planned {
    std::size_t index = 0;
    bool quantize = false;
    std::string quantState; // JSON text
    float offset = 0.0f; // double quantization's offset, as quantState holds it
};

// "model.layers.0.mlp.up_proj.weight" -> "model.layers.0.mlp.up_proj.", where Linear8bitLt puts SCB.
std::string modulePrefix(const std::string& weightName)
{
    return weightName.substr(0, weightName.size() - std::string_view("weight").size());
}

// "model.layers.0.mlp.up_proj.weight" -> "model.layers.0.mlp.up_proj", as llm_int8_skip_modules names it.
std::string moduleName(const std::string& weightName)
{
    return weightName.substr(0, weightName.size() - std::string_view(".weight").size());
}

// What a checkpoint folder holds: the weights and the config written here, and the tokenizer's
// files copied from the model's folder.
constexpr const char* kWrittenFiles[] = {"model.safetensors", "config.json"};
constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                                           "special_tokens_map.json", "generation_config.json"};

// Where the checkpoint goes: a .safetensors file, or a folder that transformers loads
// (model.safetensors, config.json with the quantization_config, the tokenizer's files).
struct Destination {
    std::filesystem::path weights;
    std::filesystem::path folder; // empty: a lone file
    std::filesystem::path sourceFolder;
    // A folder's config.json: the model's own with the quantization_config, read and checked before
    // any weight is written; empty when the model has none.
    std::string config;
};

Destination destinationFor(const QuantizeOptions& options, const nlohmann::json& quantizationConfig)
{
    Destination d;
    const std::filesystem::path out(options.output);
    const std::filesystem::path source(options.file);
    d.sourceFolder = std::filesystem::is_directory(source) ? source : source.parent_path();
    if (out.extension() == ".safetensors") {
        d.weights = out;
        if (std::filesystem::exists(out) && !options.force)
            throw UsageError(options.output + " exists; pass --force to replace it");
        return d;
    }
    if (std::filesystem::exists(out) && !std::filesystem::is_directory(out))
        throw UsageError(strCat(options.output, " is a file, not a folder: name a .safetensors file or a folder"));
    d.folder = out;
    d.weights = out / "model.safetensors";
    if (std::filesystem::exists(out) && std::filesystem::exists(d.sourceFolder)
        && std::filesystem::equivalent(out, d.sourceFolder.empty() ? "." : d.sourceFolder))
        throw UsageError(strCat(options.output,
                                " is the model's own folder: write the checkpoint elsewhere, so that "
                                "its config.json and weights stay as they are"));
    for (const auto& names :
         {std::span<const char* const>(kWrittenFiles), std::span<const char* const>(kTokenizerFiles)})
        for (const char* name : names)
            if (std::filesystem::exists(out / name) && !options.force)
                throw UsageError(strCat((out / name).string(), " exists; pass --force to replace it"));
    if (const auto config = d.sourceFolder / "config.json"; std::filesystem::exists(config)) {
        nlohmann::json j = core::parseConfigJson(core::readFileText(config), config.string());
        j["quantization_config"] = quantizationConfig;
        d.config = j.dump(2) + "\n";
    }
    return d;
}

// config.json with the quantization_config, and the tokenizer's files, copied beside the weights.
void writeFolder(const Destination& d, const nlohmann::json& quantizationConfig)
{
    if (d.config.empty()) {
        std::cout << "No config.json beside the model: " << d.folder.string()
                  << " holds the weights only; transformers also needs the model's config.json with this "
                     "quantization_config:\n"
                  << quantizationConfig.dump() << "\n";
        return;
    }
    core::writeFileAtomically(d.folder / "config.json", d.config, true);
    std::vector<std::string> copied;
    for (const char* name : kTokenizerFiles) {
        if (!std::filesystem::exists(d.sourceFolder / name))
            continue;
        core::writeFileAtomically(d.folder / name, core::readFileText(d.sourceFolder / name), true);
        copied.push_back(name);
    }
    std::cout << "Wrote " << (d.folder / "config.json").string() << " (the model's, with quantization_config)"
              << (copied.empty() ? std::string() : ", and copied " + joinCommaList(copied)) << "\n";
}

// The model to quantize. GGUF keeps llama.cpp's tensor names and its own q/k row order: a checkpoint
// written from it would not load in transformers, which is what this command writes for.
std::unique_ptr<core::Model> openSafetensorsModel(const QuantizeOptions& options)
{
    auto model = core::openModel(options.file);
    if (model->format() == "gguf")
        throw UnsupportedError(strCat(options.file,
                                      ": quantize writes checkpoints for transformers from safetensors; a GGUF model "
                                      "has llama.cpp's tensor names and row order"));
    return model;
}

// A tensor the checkpoint holds as the model stores it.
void declareAsStored(const QuantizeOptions& options, const core::TensorInfo& t,
                     std::vector<core::SafetensorsWriter::TensorDeclaration>& declarations)
{
    if (!core::isPlainDtype(t.dtype))
        throw UnsupportedError(strCat(options.file, ": tensor '", t.name, "' is ", core::dtypeName(t.dtype),
                                      ", which a safetensors file cannot hold as it is"));
    declarations.push_back({t.name, t.dtype, t.shape});
}

// The GPTQ schemes for the export: gptq2..4 with what the checkpoint layout cannot hold refused too,
// so that the sequential calibration keeps those weights as stored, as the checkpoint does.
class GptqLayoutScheme final : public core::Scheme {
public:
    GptqLayoutScheme(std::shared_ptr<const core::Scheme> gptq, int bits, std::uint64_t group)
        : m_gptq(std::move(gptq))
        , m_bits(bits)
        , m_group(group)
    {
    }
    std::string id() const override { return m_gptq->id(); }
    std::string displayName() const override { return m_gptq->displayName(); }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return m_gptq->bitsPerParameter(shape);
    }
    std::string cannotStore(std::span<const std::uint64_t> shape) const override
    {
        if (auto why = m_gptq->cannotStore(shape); !why.empty())
            return why;
        return core::gptqLayoutCannotHold(shape[0], shape[1], m_bits, m_group);
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        return m_gptq->chunkAlignment(shape);
    }
    bool needsCalibration() const override { return true; }
    void roundTrip(std::span<const float> in, std::span<float> out,
                   const core::RoundTripContext& context) const override
    {
        m_gptq->roundTrip(in, out, context);
    }

private:
    std::shared_ptr<const core::Scheme> m_gptq;
    int m_bits;
    std::uint64_t m_group;
};

// "model.layers.3.self_attn.q_proj.weight" -> "self_attn.q_proj", as modules_in_block_to_quantize
// names a module inside a block; empty outside the blocks.
std::string moduleInBlock(const core::TensorInfo& t)
{
    if (t.layer < 0)
        return {};
    const std::string marker = strCat(".", t.layer, ".");
    const auto at = t.name.find(marker);
    if (at == std::string::npos)
        return {};
    return moduleName(t.name).substr(at + marker.size());
}

// quantize --scheme gptq2/3/4: GPTQ on calibration inputs (sequential, as its reference), written in
// AutoGPTQ's v1 layout (core/quant/gptq_pack.h) with the quantization_config transformers reads.
void runGptqQuantize(const QuantizeOptions& options)
{
    const int bits = options.scheme.back() - '0';
    if (options.doubleQuant)
        throw UsageError("--double-quant applies to nf4 and fp4, not " + options.scheme);
    const std::uint64_t group = options.blocksizeGiven ? options.blocksize : 128;
    if (options.blocksizeGiven && (group < 8 || group > 4096))
        throw UsageError(strCat("--blocksize for ", options.scheme, " is GPTQ's group size: 8 to 4096, not ", group));
    const auto model = openSafetensorsModel(options);
    const auto& tensors = model->tensors();

    // Which Linear weights the layout holds; the rest stay as stored, named in
    // modules_in_block_to_quantize (the same modules in every block, or the config cannot say it).
    std::vector<char> quantize(tensors.size(), 0);
    std::set<std::string> quantizedModules, keptModules;
    std::vector<std::string> keptNotes;
    std::uint64_t quantizedParameters = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        if (!isLinearWeight(t))
            continue;
        const std::string why = core::gptqLayoutCannotHold(t.shape[0], t.shape[1], bits, group);
        const std::string module = moduleInBlock(t);
        if (module.empty())
            throw UnsupportedError(
                strCat(options.file, ": ", t.name, " is a Linear weight outside the numbered blocks"));
        (why.empty() ? quantizedModules : keptModules).insert(module);
        if (why.empty()) {
            quantize[i] = 1;
            quantizedParameters += t.elementCount();
        } else if (t.layer == 0) {
            keptNotes.push_back(strCat(module, " (", why, ")"));
        }
    }
    for (const auto& module : keptModules)
        if (quantizedModules.contains(module))
            throw UnsupportedError(strCat(options.file, ": ", module,
                                          " fits GPTQ's layout in some blocks and not in others, which "
                                          "quantization_config cannot say"));
    if (quantizedModules.empty())
        throw UnsupportedError(strCat(options.file, ": no Linear weight fits GPTQ's layout at ", bits,
                                      " bits and group size ", group, ": ", joinList(keptNotes, "; "),
                                      "; a smaller --blocksize that divides the inputs may fit"));

    nlohmann::json config
        = {{"quant_method", "gptq"},  {"checkpoint_format", "gptq"}, {"bits", bits},           {"group_size", group},
           {"damp_percent", 0.01},    {"desc_act", false},           {"static_groups", false}, {"sym", false},
           {"true_sequential", false}};
    if (!keptModules.empty()) {
        nlohmann::json modules = nlohmann::json::array();
        for (const auto& m : quantizedModules)
            modules.push_back(m);
        config["modules_in_block_to_quantize"] = nlohmann::json::array({modules});
    }
    const Destination destination = destinationFor(options, config);

    // Calibration, sequential as GPTQ's reference runs it, over the weights the checkpoint quantizes.
    const core::LlamaConfig llama = core::llamaConfigFor(*model);
    const auto scheme = std::make_shared<GptqLayoutScheme>(core::makeScheme(options.scheme), bits, group);
    ProgressBar bar;
    core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
    InterruptCancels interrupt(sink);
    const core::TokenSet tokens = options.calibration.empty()
        ? core::sampleCalibrationTokens(*model, llama, options.threads, &sink)
        : core::readTokenFile(options.calibration, llama.vocab, llama.context);
    const core::CalibrationData calibration = core::collectCalibration(*model, tokens, options.threads, &sink, scheme);

    std::vector<core::SafetensorsWriter::TensorDeclaration> declarations;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        if (!quantize[i]) {
            declareAsStored(options, t, declarations);
            continue;
        }
        const std::uint64_t n = t.shape[0], k = t.shape[1], groups = k / group;
        const std::string prefix = modulePrefix(t.name);
        declarations.push_back({prefix + "qweight", core::DType::I32, {k * bits / 32, n}});
        declarations.push_back({prefix + "qzeros", core::DType::I32, {groups, n * bits / 32}});
        declarations.push_back({prefix + "scales", core::DType::F16, {groups, n}});
        declarations.push_back({prefix + "g_idx", core::DType::I32, {k}});
    }
    if (!destination.folder.empty())
        std::filesystem::create_directories(destination.folder);
    core::SafetensorsWriter writer(destination.weights, declarations, {{"format", "pt"}});
    core::GptqOptions gptq;
    gptq.bits = bits;
    gptq.groupSize = group;
    std::size_t quantizedTensors = 0;
    const auto toQuantize = std::uint64_t(std::count(quantize.begin(), quantize.end(), char(1)));
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (!quantize[i]) {
            writer.writeTensorData(model->rawBytes(i));
            continue;
        }
        sink.throwIfCancelled();
        const auto& t = tensors[i];
        core::Progress progress;
        progress.done = quantizedTensors;
        progress.total = toQuantize;
        progress.unit = "tensors";
        progress.current = strCat("GPTQ: ", t.name);
        sink.report(progress);
        const core::Calibration* c = calibration.find(i);
        if (!c)
            throw UsageError(strCat(t.name, ": the forward pass gave no calibration inputs"));
        std::vector<float> w(t.elementCount()), q(w.size());
        model->readFloat(i, 0, w);
        core::GptqCodes codes;
        core::gptqQuantize(w, t.shape[0], t.shape[1], *c->gptqFactor(gptq), gptq, q, &codes);
        core::GptqPacked packed;
        try {
            packed = core::packGptq(codes, bits, group);
        } catch (const UsageError& e) {
            throw UnsupportedError(strCat(t.name, ": ", e.what()));
        }
        writer.writeTensorData(bytesOf(packed.qweight));
        writer.writeTensorData(bytesOf(packed.qzeros));
        writer.writeTensorData(bytesOf(packed.scales));
        writer.writeTensorData(bytesOf(packed.gIdx));
        ++quantizedTensors;
    }
    writer.commit();
    bar.finish();

    const auto outputBytes = std::filesystem::file_size(destination.weights);
    std::cout << "Wrote " << destination.weights.string() << ": " << quantizedTensors << " linear weights ("
              << core::formatThousands(quantizedParameters) << " parameters) in " << options.scheme << ", group "
              << group << " (GPTQ's v1 layout: qweight, qzeros, scales, g_idx), " << (tensors.size() - quantizedTensors)
              << " tensors copied; " << core::formatBinaryBytes(double(model->totalBytes())) << " -> "
              << core::formatBinaryBytes(double(outputBytes)) << "\n";
    if (!keptNotes.empty())
        std::cout << "Kept as stored in every block (modules_in_block_to_quantize lists the others): "
                  << joinList(keptNotes, "; ") << "\n";
    std::cout << "Calibration: " << calibration.description() << "\n";
    if (!destination.folder.empty())
        writeFolder(destination, config);
    if (!destination.folder.empty() && std::filesystem::exists(destination.folder / "config.json"))
        std::cout << "Its output quality, simulated: quantlens-cli eval " << core::shellQuote(options.file)
                  << " --scheme " << options.scheme << (group != 128 ? strCat(" --blocksize ", group) : std::string())
                  << (keptModules.empty() ? std::string()
                                          : strCat(" (the simulation quantizes every Linear weight; this checkpoint "
                                                   "keeps ",
                                                   joinList(keptModules, ", "), ")"))
                  << "\n";
}

void runQuantize(QuantizeOptions options)
{
    if (options.scheme == "gptq2" || options.scheme == "gptq3" || options.scheme == "gptq4") {
        if (!options.recipe.empty())
            throw UsageError("--recipe is a BitsAndBytesConfig; GPTQ takes --scheme and --blocksize");
        runGptqQuantize(options);
        return;
    }
    if (!options.calibration.empty())
        throw UsageError("--calibration applies to the gptq schemes");
    core::BitsandbytesRecipe recipe;
    if (!options.recipe.empty()) {
        recipe = core::readBitsandbytesRecipe(options.recipe);
        options.scheme = recipe.scheme;
        options.doubleQuant = recipe.doubleQuant;
    } else {
        recipe.scheme = options.scheme;
        recipe.doubleQuant = options.doubleQuant;
        recipe.computeDtype = "float32"; // BitsAndBytesConfig's default
    }
    core::Bnb4BitOptions bnb;
    const bool int8 = options.scheme == "int8";
    if (options.scheme == "nf4")
        bnb.type = core::FourBitType::Nf4;
    else if (options.scheme == "fp4")
        bnb.type = core::FourBitType::Fp4;
    else if (!int8)
        throw UsageError("--scheme must be nf4, fp4, int8 (the formats bitsandbytes checkpoints store) or gptq2, "
                         "gptq3, gptq4 (GPTQ's), not '"
                         + options.scheme + "'");
    if (int8 && options.doubleQuant)
        throw UsageError("--double-quant applies to nf4 and fp4; LLM.int8 keeps one float32 absmax per row");
    if (int8 && options.blocksizeGiven)
        throw UsageError("--blocksize applies to nf4 and fp4; LLM.int8 keeps one float32 absmax per row");
    core::checkBnbBlocksize(options.blocksize);
    bnb.blocksize = options.blocksize;
    bnb.doubleQuant = options.doubleQuant;
    const Destination destination = destinationFor(options, core::quantizationConfig(recipe));

    const auto model = openSafetensorsModel(options);
    const auto& tensors = model->tensors();

    // Safetensors headers come first, so every tensor's size is settled before any data is
    // written; for double quantization that includes the offset in the JSON text, found here
    // from the block absmax (one read of the tensor, no quantization).
    std::vector<Planned> plan;
    std::vector<core::SafetensorsWriter::TensorDeclaration> declarations;
    std::uint64_t quantizedParameters = 0;
    std::size_t keptByRecipe = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        Planned p;
        p.index = i;
        p.quantize = isLinearWeight(t);
        if (p.quantize && skipsModule(recipe, moduleName(t.name))) {
            p.quantize = false; // llm_int8_skip_modules: the module stays as stored
            ++keptByRecipe;
        }
        if (!p.quantize) {
            declareAsStored(options, t, declarations);
            plan.push_back(std::move(p));
            continue;
        }
        const std::uint64_t n = t.elementCount();
        quantizedParameters += n;
        if (int8) { // Linear8bitLt._save_to_state_dict: weight (int8), SCB, weight_format 0 (row-major)
            declarations.push_back({t.name, core::DType::I8, t.shape});
            declarations.push_back({modulePrefix(t.name) + "SCB", core::DType::F32, {t.shape[0]}});
            declarations.push_back({modulePrefix(t.name) + "weight_format", core::DType::U8, {}});
            plan.push_back(std::move(p));
            continue;
        }
        const std::uint64_t blocks = (n + bnb.blocksize - 1) / bnb.blocksize;
        float offset = 0.0f;
        if (bnb.doubleQuant) {
            // The offset goes into the JSON header, so it is found before any data is written: the
            // block absmax of the whole tensor, a piece at a time.
            std::vector<float> absmax;
            absmax.reserve(static_cast<std::size_t>(blocks));
            core::Bnb4BitOptions single = bnb;
            single.doubleQuant = false;
            forEachPiece(*model, i, options.chunkElements, bnb.blocksize, [&](std::span<const float> piece) {
                const auto q = core::quantize4bit(piece, single, options.threads);
                absmax.insert(absmax.end(), q.absmax.begin(), q.absmax.end());
            });
            offset = core::doubleQuantOffset(absmax);
        }
        p.offset = offset;
        p.quantState = quantStateJson(options.scheme, bnb.blocksize, t.dtype, t.shape, bnb.doubleQuant, offset);
        declarations.push_back({t.name, core::DType::U8, {(n + 1) / 2, 1}});
        declarations.push_back({t.name + ".absmax", bnb.doubleQuant ? core::DType::U8 : core::DType::F32, {blocks}});
        declarations.push_back({t.name + ".quant_map", core::DType::F32, {16}});
        if (bnb.doubleQuant) {
            declarations.push_back({t.name + ".nested_absmax",
                                    core::DType::F32,
                                    {(blocks + core::kNestedBlocksize - 1) / core::kNestedBlocksize}});
            declarations.push_back({t.name + ".nested_quant_map", core::DType::F32, {256}});
        }
        declarations.push_back(
            {t.name + ".quant_state.bitsandbytes__" + options.scheme, core::DType::U8, {p.quantState.size()}});
        plan.push_back(std::move(p));
    }

    if (quantizedParameters == 0)
        throw UnsupportedError(strCat(options.file,
                                      keptByRecipe ? ": the recipe's llm_int8_skip_modules keep every linear weight; "
                                                     "nothing was written"
                                                   : ": no linear weight to quantize (2-D F32, F16 or BF16 '.weight' "
                                                     "tensors of attention or MLP layers); nothing was written"));
    if (!destination.folder.empty())
        std::filesystem::create_directories(destination.folder);
    core::SafetensorsWriter writer(destination.weights, declarations, {{"format", "pt"}});
    const float* code = core::fourBitCode(bnb.type);
    const std::vector<float> quantMap(code, code + 16);
    const std::vector<float> nestedMap(std::begin(core::kDynamicCode), std::end(core::kDynamicCode));
    std::size_t quantizedTensors = 0;
    for (const auto& p : plan) {
        if (!p.quantize) {
            writer.writeTensorData(model->rawBytes(p.index));
            continue;
        }
        ++quantizedTensors;
        if (int8) {
            // Threshold 0: the whole matrix in int8, as a checkpoint holds it (outlier columns are
            // split from the activations at run time, not stored). Rows are independent, so whole
            // rows at a time.
            const std::uint64_t cols = tensors[p.index].shape[1];
            std::vector<float> rowAbsmax;
            forEachPiece(*model, p.index, options.chunkElements, cols, [&](std::span<const float> piece) {
                const auto q = core::quantizeLlmInt8(piece, cols, 0.0f, options.threads);
                writer.writeTensorData(bytesOf(q.codes));
                rowAbsmax.insert(rowAbsmax.end(), q.rowAbsmax.begin(), q.rowAbsmax.end());
            });
            writer.writeTensorData(bytesOf(rowAbsmax));
            const std::vector<std::uint8_t> rowMajor {0};
            writer.writeTensorData(bytesOf(rowMajor));
            continue;
        }
        // Blocks are independent: pack a piece at a time (pieces start at even elements, so their
        // packed bytes follow each other), keeping only the block absmax for the statistics.
        core::Bnb4BitOptions single = bnb;
        single.doubleQuant = false;
        std::vector<float> absmax;
        forEachPiece(*model, p.index, options.chunkElements, bnb.blocksize, [&](std::span<const float> piece) {
            const auto q = core::quantize4bit(piece, single, options.threads);
            writer.writeTensorData(bytesOf(q.packed));
            absmax.insert(absmax.end(), q.absmax.begin(), q.absmax.end());
        });
        if (bnb.doubleQuant) {
            const auto state = core::doubleQuantize(absmax, p.offset);
            writer.writeTensorData(bytesOf(state.absmaxCodes));
            writer.writeTensorData(bytesOf(quantMap));
            writer.writeTensorData(bytesOf(state.nestedAbsmax));
            writer.writeTensorData(bytesOf(nestedMap));
        } else {
            writer.writeTensorData(bytesOf(absmax));
            writer.writeTensorData(bytesOf(quantMap));
        }
        writer.writeTensorData(std::as_bytes(std::span(p.quantState.data(), p.quantState.size())));
    }
    writer.commit();

    const auto outputBytes = std::filesystem::file_size(destination.weights);
    std::cout << "Wrote " << destination.weights.string() << ": " << quantizedTensors << " linear weights ("
              << core::formatThousands(quantizedParameters) << " parameters) in " << options.scheme
              << (bnb.doubleQuant ? " with double quantization" : "")
              << (int8 ? std::string(" (LLM.int8, one absmax per row)") : strCat(", blocksize ", bnb.blocksize)) << ", "
              << (tensors.size() - quantizedTensors) << " tensors copied"
              << (keptByRecipe ? strCat(" (", keptByRecipe,
                                        " linear weights kept as stored by the recipe's "
                                        "llm_int8_skip_modules)")
                               : std::string())
              << "; " << core::formatBinaryBytes(double(model->totalBytes())) << " -> "
              << core::formatBinaryBytes(double(outputBytes)) << "\n";
    if (!destination.folder.empty())
        writeFolder(destination, core::quantizationConfig(recipe));
    // Each layout is exactly what one inspect scheme measures (int8: llm-int8, every value in int8
    // against its row's absmax; inspect's own "int8" is per tensor).
    // --role and --filter pick the tensors quantized here (their roles, and not a bias of theirs).
    if (keptByRecipe == 0) {
        std::set<std::string> roles;
        for (const auto& p : plan)
            if (p.quantize)
                roles.insert(std::string(core::roleName(tensors[p.index].role)));
        std::cout << "Its quantization error: quantlens-cli inspect " << core::shellQuote(options.file) << " --scheme ";
        if (int8)
            std::cout << "llm-int8";
        else
            std::cout << options.scheme << (bnb.doubleQuant ? "-dq" : "") << " --blocksize " << bnb.blocksize;
        std::cout << " --role " << joinCommaList(roles) << " --filter '\\.weight$'\n";
    }
    if (!destination.folder.empty() && std::filesystem::exists(destination.folder / "config.json"))
        std::cout << "Its output quality: quantlens-cli eval " << core::shellQuote(options.file) << " --compare "
                  << core::shellQuote(destination.weights.string()) << "\n";
}

} // namespace

void setupQuantizeCommand(CLI::App& app)
{
    auto options = std::make_shared<QuantizeOptions>();
    auto* sub = app.add_subcommand("quantize",
                                   "Write a bitsandbytes 4-bit, LLM.int8 or GPTQ checkpoint (the layouts "
                                   "transformers loads) from a model");
    sub->add_option("file", options->file, "safetensors file, sharded index or folder")->required();
    auto* scheme
        = sub->add_option("--scheme", options->scheme,
                          "nf4, fp4, int8 (LLM.int8: int8 weight + SCB row absmax), or gptq4, gptq3, gptq2 (GPTQ on "
                          "calibration inputs, AutoGPTQ's layout)")
              ->capture_default_str();
    auto* blocksize = sub->add_option("--blocksize", options->blocksize,
                                      "32 to 4096, a power of two (nf4 and fp4); for gptq the group size (default 128)")
                          ->capture_default_str();
    sub->add_option("--calibration", options->calibration,
                    "gptq: token-id file of calibration inputs (default: 16 sequences of up to 256 tokens sampled "
                    "from the model with seed 1234)")
        ->check(CLI::ExistingFile);
    auto* doubleQuant
        = sub->add_flag("--double-quant", options->doubleQuant, "Quantize the absmax constants too (QLoRA's DQ)");
    sub->add_option("--recipe", options->recipe,
                    "A BitsAndBytesConfig as JSON (advise --family bitsandbytes -o config.json, or a config.json's "
                    "quantization_config): its type, double quantization and llm_int8_skip_modules, which stay as "
                    "stored")
        ->check(CLI::ExistingFile)
        ->excludes(scheme)
        ->excludes(blocksize)
        ->excludes(doubleQuant);
    sub->add_option("-o,--output", options->output,
                    "A .safetensors file, or a folder to hold model.safetensors with the model's config.json "
                    "(quantization_config added) and tokenizer files: what transformers loads")
        ->required();
    sub->add_flag("--force", options->force, "Replace the output file when it exists");
    sub->add_option("--threads", options->threads, "Worker threads (default: all cores)")->check(CLI::Range(0u, 1024u));
    // For tests: small pieces make stories260K's tensors span several.
    sub->add_option("--chunk-elements", options->chunkElements, "Values read and quantized at a time")
        ->check(CLI::Range(std::uint64_t(1), std::uint64_t(1) << 40))
        ->group("");
    sub->callback([options, blocksize] {
        options->blocksizeGiven = blocksize->count() > 0;
        for (char& c : options->scheme) // NF4 as inspect takes it
            c = char(std::tolower(static_cast<unsigned char>(c)));
        runQuantize(*options);
    });
}

} // namespace quantlens::cli
