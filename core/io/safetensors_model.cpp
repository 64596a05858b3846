#include "core/io/safetensors_model.h"

#include "core/io/float_convert.h"
#include "core/io/hf_config.h"
#include "core/io/json_keys.h"
#include "core/io/mapped_file.h"
#include "core/io/safetensors_header.h"
#include "core/model/architecture.h"
#include "core/model/tensor_role.h"
#include "core/quant/bnb_4bit.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <unordered_map>

namespace quantlens::core {

namespace {

// Where a stored tensor's bytes are: file index and absolute byte range in that file.
struct StoredRange {
    std::size_t file = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    DType dtype = DType::Unknown;
    std::vector<std::uint64_t> shape;
};

// A bitsandbytes 4-bit weight as transformers saves it (bitsandbytes/functional.py
// QuantState.as_dict(packed=True)): `W` packed uint8, `W.absmax`, `W.quant_map`, and when double
// quantized `W.nested_absmax`, `W.nested_quant_map`, plus `W.quant_state.bitsandbytes__nf4|fp4`, a
// uint8 tensor holding JSON {quant_type, blocksize, dtype, shape, nested_blocksize, nested_offset}.
struct BnbWeight {
    FourBitType type = FourBitType::Nf4;
    std::uint32_t blocksize = 64;
    std::uint64_t elements = 0;
    bool nested = false;
    float offset = 0.0f;
    StoredRange packed, absmax, nestedAbsmax, nestedCode;
    bool hasNestedCode = false;
};

// A bitsandbytes LLM.int8 weight as transformers saves it (Linear8bitLt._save_to_state_dict):
// `P.weight` int8 [rows, cols] row-major, `P.SCB` float32 [rows] (each row's absmax), and
// `P.weight_format` a uint8 scalar, 0 for row-major, the only layout written since bitsandbytes
// 0.43. Element (r, c) is (code * SCB[r]) * (1/127), bitsandbytes' int8_vectorwise_dequant.
struct Int8Weight {
    std::uint64_t rows = 0, cols = 0;
    StoredRange codes, rowAbsmax;
};

class SafetensorsModel final : public Model {
public:
    std::string format() const override { return m_format; }
    std::filesystem::path path() const override { return m_path; }
    std::vector<std::filesystem::path> files() const override
    {
        std::vector<std::filesystem::path> out;
        for (const auto& f : m_files)
            out.push_back(f.path());
        return out;
    }
    const std::vector<TensorInfo>& tensors() const override { return m_tensors; }
    const ModelArchitecture& architecture() const override { return m_architecture; }
    const std::map<std::string, std::string>& metadata() const override { return m_metadata; }

    bool canDequantize(std::size_t index, std::string* why) const override
    {
        checkIndex(index);
        const auto dtype = m_tensors[index].dtype;
        if (isPlainDtype(dtype) || m_bnb[index] || m_int8[index])
            return true;
        if (why)
            *why = strCat("dequantization of ", dtypeName(dtype), " is not supported");
        return false;
    }

    std::uint64_t blockAlignment(std::size_t index) const override
    {
        checkIndex(index);
        return m_bnb[index] ? m_bnb[index]->blocksize : 1;
    }

    std::span<const std::byte> rawBytes(std::size_t index) const override
    {
        checkIndex(index);
        const auto& r = m_bnb[index] ? m_bnb[index]->packed : m_stored[index];
        return bytesOf(r, m_tensors[index].name);
    }

    void readFloat(std::size_t index, std::uint64_t first, std::span<float> out) const override
    {
        checkIndex(index);
        const auto& info = m_tensors[index];
        const auto elements = info.elementCount();
        if (first > elements || out.size() > elements - first)
            throw UsageError(strCat("tensor '", info.name, "' has ", elements, " elements; cannot read ", out.size(),
                                    " from element ", first));
        if (m_bnb[index]) {
            readBnb(*m_bnb[index], info, first, out);
            return;
        }
        if (m_int8[index]) {
            readInt8(*m_int8[index], info, first, out);
            return;
        }
        const auto elementBytes = dtypeElementBytes(info.dtype);
        const auto& r = m_stored[index];
        const auto& file = m_files[r.file];
        const auto field = strCat("tensor '", info.name, "'");
        const auto start = r.offset + first * elementBytes;
        if (info.dtype == DType::F32) {
            file.read(start, std::as_writable_bytes(out), field);
            return;
        }
        // Converting dtypes read the mapping directly: a pread into a scratch buffer first measured
        // slower for BF16 (14 against 21 GB/s in io_bench), the extra copy costing more than the
        // TLB misses it saves.
        plainRowToFloat(info.dtype, file.bytes(start, out.size() * elementBytes, field), out);
    }

    static std::unique_ptr<SafetensorsModel> open(const std::filesystem::path& userPath, std::string format,
                                                  const std::vector<std::filesystem::path>& shardPaths,
                                                  const std::unordered_map<std::string, std::string>* weightMap,
                                                  const std::string& indexName);

private:
    void checkIndex(std::size_t index) const
    {
        if (index >= m_tensors.size())
            throw UsageError(strCat("tensor index ", index, " out of range (", m_tensors.size(), " tensors)"));
    }
    std::span<const std::byte> bytesOf(const StoredRange& r, const std::string& name) const
    {
        return m_files[r.file].bytes(r.offset, r.size, strCat("tensor '", name, "'"));
    }
    template <typename T>
    std::span<const T> typedSpan(const StoredRange& r, const std::string& name, std::vector<T>& copy) const
    {
        const auto bytes = bytesOf(r, name);
        const auto count = bytes.size() / sizeof(T);
        if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(T) == 0)
            return {reinterpret_cast<const T*>(bytes.data()), count};
        copy.resize(count);
        std::memcpy(copy.data(), bytes.data(), count * sizeof(T));
        return copy;
    }
    void readBnb(const BnbWeight& w, const TensorInfo& info, std::uint64_t first, std::span<float> out) const
    {
        Bnb4BitStorage storage;
        storage.type = w.type;
        storage.blocksize = w.blocksize;
        storage.elements = w.elements;
        std::vector<std::uint8_t> packedCopy, codesCopy;
        std::vector<float> absmaxCopy, nestedCopy, nestedCodeCopy;
        storage.packed = typedSpan<std::uint8_t>(w.packed, info.name, packedCopy);
        if (w.nested) {
            storage.absmaxCodes = typedSpan<std::uint8_t>(w.absmax, info.name + ".absmax", codesCopy);
            storage.nestedAbsmax = typedSpan<float>(w.nestedAbsmax, info.name + ".nested_absmax", nestedCopy);
            if (w.hasNestedCode)
                storage.nestedCode = typedSpan<float>(w.nestedCode, info.name + ".nested_quant_map", nestedCodeCopy);
            storage.offset = w.offset;
        } else {
            storage.absmax = typedSpan<float>(w.absmax, info.name + ".absmax", absmaxCopy);
        }
        dequantize4bitRange(storage, first, out);
    }

    void readInt8(const Int8Weight& w, const TensorInfo& info, std::uint64_t first, std::span<float> out) const
    {
        constexpr float kInverse127 = 1.0f / 127.0f; // bitsandbytes' 7.874015718698502e-3
        const auto codes = bytesOf(w.codes, info.name);
        const auto scales = bytesOf(w.rowAbsmax, info.name + " SCB");
        for (std::size_t i = 0; i < out.size();) {
            const auto e = first + i;
            const auto row = e / w.cols;
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(w.cols - e % w.cols, out.size() - i));
            float scale;
            std::memcpy(&scale, scales.data() + 4 * row, 4);
            for (std::size_t k = 0; k < n; ++k)
                out[i + k] = static_cast<float>(static_cast<std::int8_t>(codes[e + k])) * scale * kInverse127;
            i += n;
        }
    }

    void addConfigAndArchitecture(const std::filesystem::path& folder);
    void detectBnbWeights(const std::string& fileNameForErrors);
    void detectInt8Weights(const std::string& fileNameForErrors);
    void dropCompanions(const std::vector<bool>& companion);

    std::string m_format;
    std::filesystem::path m_path;
    std::vector<MappedFile> m_files;
    std::vector<TensorInfo> m_tensors;
    std::vector<StoredRange> m_stored;
    std::vector<std::optional<BnbWeight>> m_bnb;
    std::vector<std::optional<Int8Weight>> m_int8;
    ModelArchitecture m_architecture;
    std::map<std::string, std::string> m_metadata;
};

std::unique_ptr<SafetensorsModel> SafetensorsModel::open(const std::filesystem::path& userPath, std::string format,
                                                         const std::vector<std::filesystem::path>& shardPaths,
                                                         const std::unordered_map<std::string, std::string>* weightMap,
                                                         const std::string& indexName)
{
    auto model = std::make_unique<SafetensorsModel>();
    model->m_format = std::move(format);
    model->m_path = userPath;
    std::set<std::string> seen;
    for (std::size_t f = 0; f < shardPaths.size(); ++f) {
        const auto& shardPath = shardPaths[f];
        if (weightMap && !std::filesystem::is_regular_file(shardPath)) {
            throw FormatError({indexName, std::nullopt, "weight_map", "the shard file",
                               strCat("no file ", shardPath.filename().string())},
                              strCat("shard '", shardPath.filename().string(), "' named by the index is missing"));
        }
        model->m_files.emplace_back(shardPath);
        const auto& file = model->m_files.back();
        const auto fileName = shardPath.filename().string();
        const auto header = parseSafetensorsHeader(file.all(), fileName);
        if (f == 0)
            model->m_metadata = header.metadata;
        for (const auto& entry : header.tensors) {
            if (weightMap) {
                const auto it = weightMap->find(entry.name);
                // A shard may hold tensors the index does not list; the index decides which we use.
                if (it == weightMap->end() || it->second != fileName)
                    continue;
            }
            if (!seen.insert(entry.name).second) {
                throw FormatError(
                    {fileName, header.dataOffset + entry.begin, strCat("tensor '", entry.name, "'"), "", ""},
                    strCat("tensor '", entry.name, "' appears in more than one shard"));
            }
            TensorInfo info;
            info.name = entry.name;
            info.shape = entry.shape;
            info.dtype = entry.dtype;
            info.byteSize = entry.end - entry.begin;
            info.file = fileName;
            const auto role = classifyTensorName(entry.name);
            info.layer = role.layer;
            info.expert = role.expert;
            info.role = role.role;
            model->m_tensors.push_back(std::move(info));
            model->m_stored.push_back(
                {f, header.dataOffset + entry.begin, entry.end - entry.begin, entry.dtype, entry.shape});
        }
    }
    if (weightMap) {
        for (const auto& [name, shard] : *weightMap) {
            if (!seen.count(name)) {
                throw FormatError(
                    {indexName, std::nullopt, strCat("weight_map.", name), strCat("in ", shard), "not there"},
                    strCat("tensor '", name, "' is not in shard '", shard, "' the index names"));
            }
        }
    }
    model->m_bnb.resize(model->m_tensors.size());
    model->m_int8.resize(model->m_tensors.size());
    model->detectBnbWeights(weightMap ? indexName : userPath.filename().string());
    model->detectInt8Weights(weightMap ? indexName : userPath.filename().string());
    model->addConfigAndArchitecture(shardPaths.front().parent_path());
    return model;
}

void SafetensorsModel::detectBnbWeights(const std::string& fileNameForErrors)
{
    std::unordered_map<std::string, std::size_t> byName;
    for (std::size_t i = 0; i < m_tensors.size(); ++i)
        byName[m_tensors[i].name] = i;
    std::vector<bool> companion(m_tensors.size(), false);
    std::vector<std::uint64_t> extraBytes(m_tensors.size(), 0);

    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        const auto& stateName = m_tensors[i].name;
        static const std::string kMarker = ".quant_state.bitsandbytes__";
        const auto marker = stateName.rfind(kMarker);
        if (marker == std::string::npos)
            continue;
        const auto weightName = stateName.substr(0, marker);
        const auto quantType = stateName.substr(marker + kMarker.size());
        const auto fail = [&](const std::string& what) {
            throw FormatError({fileNameForErrors, m_stored[i].offset, strCat("tensor '", stateName, "'"), "", ""},
                              strCat("bitsandbytes weight '", weightName, "': ", what));
        };
        if (quantType != "nf4" && quantType != "fp4")
            fail(strCat("unknown 4-bit type '", quantType, "'"));
        const auto weightIt = byName.find(weightName);
        if (weightIt == byName.end())
            fail("the packed weight tensor is missing");
        // The packed weight is uint8 unless bnb was given another quant_storage (bfloat16 for
        // FSDP-QLoRA): the same bytes under that dtype, so only their count is checked below.
        const DType storage = m_tensors[weightIt->second].dtype;
        if (m_tensors[i].dtype != DType::U8)
            fail("quant_state must be U8");
        if (storage != DType::U8 && storage != DType::I8 && storage != DType::F16 && storage != DType::BF16
            && storage != DType::F32)
            fail(strCat("packed weight must be U8 or a quant_storage of I8, F16, BF16 or F32, found ",
                        dtypeName(storage)));
        const auto stateBytes = bytesOf(m_stored[i], stateName);
        nlohmann::json state;
        try {
            state = nlohmann::json::parse(reinterpret_cast<const char*>(stateBytes.data()),
                                          reinterpret_cast<const char*>(stateBytes.data()) + stateBytes.size());
        } catch (const nlohmann::json::parse_error& e) {
            fail(strCat("quant_state is not valid JSON (", e.what(), ")"));
        } catch (const nlohmann::json::exception& e) {
            fail(strCat("quant_state is not valid JSON (", e.what(), ")"));
        }
        if (!state.is_object() || !state.contains("blocksize") || !state["blocksize"].is_number_unsigned()
            || !state.contains("shape") || !state["shape"].is_array())
            fail("quant_state lacks blocksize or shape");
        BnbWeight w;
        w.type = quantType == "nf4" ? FourBitType::Nf4 : FourBitType::Fp4;
        const auto blocksize = state["blocksize"].get<std::uint64_t>();
        if (blocksize < 32 || blocksize > 4096 || (blocksize & (blocksize - 1)) != 0)
            fail(strCat("blocksize ", blocksize, " is not a power of two from 32 to 4096"));
        w.blocksize = static_cast<std::uint32_t>(blocksize);
        std::vector<std::uint64_t> shape;
        std::uint64_t elements = 1;
        for (const auto& d : state["shape"]) {
            if (!d.is_number_unsigned() || __builtin_mul_overflow(elements, d.get<std::uint64_t>(), &elements))
                fail(strCat("bad shape ", state["shape"].dump()));
            shape.push_back(d.get<std::uint64_t>());
        }
        w.elements = elements;
        const auto& packed = m_stored[weightIt->second];
        if (packed.size != (elements + 1) / 2)
            fail(strCat("packed weight holds ", packed.size, " bytes, shape ", state["shape"].dump(), " needs ",
                        (elements + 1) / 2));
        w.packed = packed;
        const auto blocks = (elements + blocksize - 1) / blocksize;
        const auto companionOf = [&](const std::string& suffix, DType dtype, std::uint64_t count) -> std::size_t {
            const auto it = byName.find(weightName + suffix);
            if (it == byName.end())
                fail(strCat("tensor '", weightName, suffix, "' is missing"));
            const auto& r = m_stored[it->second];
            if (r.dtype != dtype || r.size != count * dtypeElementBytes(dtype))
                fail(strCat("tensor '", weightName, suffix, "' should be ", count, " values of ", dtypeName(dtype),
                            ", found ", r.size, " bytes of ", dtypeName(r.dtype)));
            return it->second;
        };
        std::vector<std::size_t> parts {weightIt->second, i};
        w.nested = state.contains("nested_offset");
        if (w.nested) {
            if (!state["nested_offset"].is_number())
                fail("nested_offset is not a number");
            w.offset = state["nested_offset"].get<float>();
            parts.push_back(companionOf(".absmax", DType::U8, blocks));
            w.absmax = m_stored[parts.back()];
            const auto nestedBlocks = (blocks + kNestedBlocksize - 1) / kNestedBlocksize;
            parts.push_back(companionOf(".nested_absmax", DType::F32, nestedBlocks));
            w.nestedAbsmax = m_stored[parts.back()];
            if (byName.count(weightName + ".nested_quant_map")) {
                parts.push_back(companionOf(".nested_quant_map", DType::F32, 256));
                w.nestedCode = m_stored[parts.back()];
                w.hasNestedCode = true;
            }
        } else {
            parts.push_back(companionOf(".absmax", DType::F32, blocks));
            w.absmax = m_stored[parts.back()];
        }
        if (byName.count(weightName + ".quant_map")) {
            const auto mapIndex = companionOf(".quant_map", DType::F32, 16);
            parts.push_back(mapIndex);
            // We decode with bitsandbytes' own table; a checkpoint with a different map would be
            // decoded wrongly, so refuse it rather than guess.
            std::vector<float> copy;
            const auto map = typedSpan<float>(m_stored[mapIndex], weightName + ".quant_map", copy);
            if (!std::equal(map.begin(), map.end(), fourBitCode(w.type)))
                fail(strCat("quant_map differs from bitsandbytes' ", quantType, " table"));
        }
        auto& info = m_tensors[weightIt->second];
        info.dtype = w.type == FourBitType::Nf4 ? DType::NF4 : DType::FP4;
        info.shape = shape;
        for (const auto p : parts) {
            if (p != weightIt->second) {
                companion[p] = true;
                info.byteSize += m_tensors[p].byteSize;
            }
        }
        m_bnb[weightIt->second] = w;
    }

    dropCompanions(companion);
}

void SafetensorsModel::detectInt8Weights(const std::string& fileNameForErrors)
{
    std::unordered_map<std::string, std::size_t> byName;
    for (std::size_t i = 0; i < m_tensors.size(); ++i)
        byName[m_tensors[i].name] = i;
    std::vector<bool> companion(m_tensors.size(), false);
    static const std::string kScb = "SCB";
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        const auto& scbName = m_tensors[i].name;
        if (scbName.size() < kScb.size() || scbName.compare(scbName.size() - kScb.size(), kScb.size(), kScb) != 0)
            continue;
        const auto prefix = scbName.substr(0, scbName.size() - kScb.size()); // "model.layers.0.mlp.up_proj."
        if (!prefix.empty() && prefix.back() != '.')
            continue;
        const auto weightIt = byName.find(prefix + "weight");
        if (weightIt == byName.end())
            continue; // an SCB without a weight beside it is not ours to interpret
        const auto fail = [&](const std::string& what) {
            throw FormatError({fileNameForErrors, m_stored[i].offset, strCat("tensor '", scbName, "'"), "", ""},
                              strCat("bitsandbytes 8-bit weight '", prefix, "weight': ", what));
        };
        const auto& weight = m_stored[weightIt->second];
        const auto& scb = m_stored[i];
        if (weight.dtype != DType::I8 || weight.shape.size() != 2)
            fail(strCat("the weight should be a 2-D I8 matrix, found ", dtypeName(weight.dtype), " with ",
                        weight.shape.size(), " dimensions"));
        if (scb.dtype != DType::F32 || scb.shape.size() != 1 || scb.shape[0] != weight.shape[0])
            fail(strCat("SCB should hold one F32 absmax per row (", weight.shape[0], "), found ", scb.size,
                        " bytes of ", dtypeName(scb.dtype)));
        if (weight.shape[1] == 0)
            fail("the weight has no columns");
        std::vector<std::size_t> parts {i};
        const auto formatIt = byName.find(prefix + "weight_format");
        if (formatIt != byName.end()) {
            const auto& format = m_stored[formatIt->second];
            if (format.dtype != DType::U8 || format.size != 1)
                fail(strCat("weight_format should be one U8 value, found ", format.size, " bytes of ",
                            dtypeName(format.dtype)));
            const auto value = static_cast<unsigned>(bytesOf(format, prefix + "weight_format")[0]);
            // bitsandbytes' LINEAR_8BIT_WEIGHTS_FORMAT_MAPPING: 0 row, 1 col32, 2 col_turing, 3 col_ampere.
            if (value != 0)
                fail(strCat("weight_format ", value,
                            " is a GPU tile layout of bitsandbytes before 0.43; only row-major (0) is read"));
            parts.push_back(formatIt->second);
        }
        auto& info = m_tensors[weightIt->second];
        info.dtype = DType::LlmInt8;
        for (const auto p : parts) {
            companion[p] = true;
            info.byteSize += m_tensors[p].byteSize;
        }
        m_int8[weightIt->second] = Int8Weight {weight.shape[0], weight.shape[1], weight, scb};
    }
    // A weight_format beside an int8 weight marks an LLM.int8 layer; without its SCB the codes
    // cannot be scaled, and reading them as plain integers would be a silent wrong number.
    static const std::string kFormat = "weight_format";
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        const auto& name = m_tensors[i].name;
        if (companion[i] || name.size() < kFormat.size()
            || name.compare(name.size() - kFormat.size(), kFormat.size(), kFormat) != 0)
            continue;
        const auto prefix = name.substr(0, name.size() - kFormat.size());
        const auto weightIt = byName.find(prefix + "weight");
        if (weightIt != byName.end() && m_stored[weightIt->second].dtype == DType::I8)
            throw FormatError({fileNameForErrors, m_stored[i].offset, strCat("tensor '", name, "'"), "", ""},
                              strCat("bitsandbytes 8-bit weight '", prefix,
                                     "weight': its SCB (the row absmax) is "
                                     "missing, so the int8 codes cannot be scaled"));
    }
    dropCompanions(companion);
}

// Removes the statistics tensors that now belong to a logical weight.
void SafetensorsModel::dropCompanions(const std::vector<bool>& companion)
{
    if (std::find(companion.begin(), companion.end(), true) == companion.end())
        return;
    std::vector<TensorInfo> tensors;
    std::vector<StoredRange> stored;
    std::vector<std::optional<BnbWeight>> bnb;
    std::vector<std::optional<Int8Weight>> int8;
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        if (companion[i])
            continue;
        tensors.push_back(std::move(m_tensors[i]));
        stored.push_back(std::move(m_stored[i]));
        bnb.push_back(std::move(m_bnb[i]));
        int8.push_back(std::move(m_int8[i]));
    }
    m_tensors = std::move(tensors);
    m_stored = std::move(stored);
    m_bnb = std::move(bnb);
    m_int8 = std::move(int8);
}

void SafetensorsModel::addConfigAndArchitecture(const std::filesystem::path& folder)
{
    const auto configPath = folder / "config.json";
    if (std::filesystem::is_regular_file(configPath)) {
        const MappedFile config(configPath);
        const auto bytes = config.bytes(0, std::min<std::uint64_t>(config.size(), kMaxIndexBytes), "config");
        const auto parsed = parseHfConfig({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, "config.json");
        m_architecture = parsed.architecture;
        for (const auto& [key, value] : parsed.facts)
            m_metadata["config." + key] = value;
    }
    fillArchitectureFromTensors(m_tensors, m_architecture);
}

} // namespace

std::unique_ptr<Model> openSafetensorsFile(const std::filesystem::path& path)
{
    return SafetensorsModel::open(path, "safetensors", {path}, nullptr, "");
}

std::unique_ptr<Model> openSafetensorsIndex(const std::filesystem::path& indexPath)
{
    const auto indexName = indexPath.filename().string();
    const MappedFile index(indexPath);
    if (index.size() > kMaxIndexBytes)
        throw FormatError({indexName, 0, "index", strCat("at most ", kMaxIndexBytes, " bytes"), strCat(index.size())},
                          "index file is larger than any real index");
    const auto bytes = index.all();
    nlohmann::json json;
    // A tensor named twice in weight_map would come from the second shard named, and a second
    // "weight_map" would replace the first and every tensor only it names: both refused.
    const auto refuseDuplicates = duplicateKeyCheck([&](const std::vector<std::string>& path, const std::string& key) {
        if (path.empty())
            throw FormatError({indexName, std::nullopt, key, "each key once", "twice"},
                              strCat("the index names '", key, "' twice"));
        if (path == std::vector<std::string> {"weight_map"})
            throw FormatError({indexName, std::nullopt, strCat("weight_map.", key), "each tensor once", "twice"},
                              strCat("weight_map names tensor '", key, "' twice"));
    });
    try {
        json = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                     reinterpret_cast<const char*>(bytes.data()) + bytes.size(), refuseDuplicates);
    } catch (const nlohmann::json::parse_error& e) {
        throw FormatError({indexName, e.byte > 0 ? e.byte - 1 : 0, "index", "valid JSON", e.what()},
                          "index is not valid JSON");
    } catch (const nlohmann::json::exception& e) {
        throw FormatError({indexName, 0, "index", "valid JSON", e.what()}, "index is not valid JSON");
    }
    if (!json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object())
        throw FormatError({indexName, 0, "weight_map", "an object mapping tensor names to shard files", ""},
                          "index has no weight_map object");
    std::unordered_map<std::string, std::string> weightMap;
    std::vector<std::string> shardNames;
    for (const auto& [name, shard] : json["weight_map"].items()) {
        if (!shard.is_string())
            throw FormatError({indexName, std::nullopt, strCat("weight_map.", name), "a shard file name", shard.dump()},
                              strCat("tensor '", name, "' maps to something that is not a file name"));
        const auto shardName = shard.get<std::string>();
        // Shards live beside the index; a name with a path in it could point anywhere on disk.
        if (shardName.empty() || shardName.find('/') != std::string::npos || shardName.find('\\') != std::string::npos
            || shardName == "." || shardName == "..")
            throw FormatError(
                {indexName, std::nullopt, strCat("weight_map.", name), "a file name beside the index", shardName},
                strCat("tensor '", name, "' names shard '", shardName, "', which is not a plain file name"));
        weightMap[name] = shardName;
        if (std::find(shardNames.begin(), shardNames.end(), shardName) == shardNames.end())
            shardNames.push_back(shardName);
    }
    if (shardNames.empty())
        throw FormatError({indexName, 0, "weight_map", "at least one tensor", "none"}, "index lists no tensors");
    std::sort(shardNames.begin(), shardNames.end());
    std::vector<std::filesystem::path> shardPaths;
    for (const auto& s : shardNames)
        shardPaths.push_back(indexPath.parent_path() / s);
    auto model = SafetensorsModel::open(indexPath, "safetensors (sharded)", shardPaths, &weightMap, indexName);
    return model;
}

} // namespace quantlens::core
