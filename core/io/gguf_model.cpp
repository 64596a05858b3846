#include "core/io/gguf_model.h"

#include "core/io/gguf_reader.h"
#include "core/io/mapped_file.h"
#include "core/model/architecture.h"
#include "core/model/tensor_role.h"
#include "core/quant/ggml_dequantize.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

namespace quantlens::core {

namespace {

class GgufModel final : public Model {
public:
    explicit GgufModel(const std::filesystem::path& path)
        : m_path(path)
        , m_file(path)
        , m_gguf(parseGguf(m_file.all(), path.filename().string()))
    {
        std::map<std::string, std::uint64_t> integers;
        std::map<std::string, std::string> strings;
        for (const auto& [key, value] : m_gguf.metadata) {
            m_metadata[key] = value.render();
            if (value.type == 8)
                strings[key] = value.stringValue;
            else if (value.type == 9)
                integers[key + ".count"] = value.arrayCount;
            else if (value.type <= 5 || value.type == 10 || value.type == 11)
                integers[key]
                    = value.signedValue < 0 ? 0 : value.unsignedValue + static_cast<std::uint64_t>(value.signedValue);
        }
        m_metadata["gguf.version"] = std::to_string(m_gguf.version);
        m_architecture = architectureFromGguf(integers, strings);
        for (const auto& entry : m_gguf.tensors) {
            TensorInfo info;
            info.name = entry.name;
            info.shape.assign(entry.ne.rbegin(), entry.ne.rend());
            info.dtype = entry.layout->dtype;
            info.byteSize = entry.byteSize;
            info.file = path.filename().string();
            const auto role = classifyTensorName(entry.name);
            info.layer = role.layer;
            info.expert = role.expert;
            info.role = role.role;
            m_tensors.push_back(std::move(info));
        }
        fillArchitectureFromTensors(m_tensors, m_architecture);
    }

    std::string format() const override { return "gguf"; }
    std::filesystem::path path() const override { return m_path; }
    std::vector<std::filesystem::path> files() const override { return {m_path}; }
    const std::vector<TensorInfo>& tensors() const override { return m_tensors; }
    const ModelArchitecture& architecture() const override { return m_architecture; }
    const std::map<std::string, std::string>& metadata() const override { return m_metadata; }

    bool canDequantize(std::size_t index, std::string* why) const override
    {
        checkIndex(index);
        if (m_gguf.tensors[index].layout->canDequantize)
            return true;
        if (why)
            *why = strCat("dequantization of ", dtypeName(m_tensors[index].dtype), " is not supported");
        return false;
    }

    std::uint64_t blockAlignment(std::size_t index) const override
    {
        checkIndex(index);
        return m_gguf.tensors[index].layout->blockElements;
    }

    std::span<const std::byte> rawBytes(std::size_t index) const override
    {
        checkIndex(index);
        const auto& t = m_gguf.tensors[index];
        return m_file.bytes(t.offset, t.byteSize, strCat("tensor '", t.name, "'"));
    }

    void readFloat(std::size_t index, std::uint64_t first, std::span<float> out) const override
    {
        checkIndex(index);
        const auto& info = m_tensors[index];
        const auto& t = m_gguf.tensors[index];
        const auto elements = info.elementCount();
        if (first > elements || out.size() > elements - first)
            throw UsageError(strCat("tensor '", info.name, "' has ", elements, " elements; cannot read ", out.size(),
                                    " from element ", first));
        std::string why;
        if (!canDequantize(index, &why))
            throw UnsupportedError(strCat(info.file, ": tensor '", info.name, "': ", why));
        // Whole blocks only: `first` is block-aligned by contract, and a tail that ends inside a
        // block is decoded into a scratch block and copied.
        const std::uint64_t blockElements = t.layout->blockElements;
        if (first % blockElements != 0)
            throw UsageError(strCat("tensor '", info.name, "': first element ", first, " is not a multiple of the ",
                                    dtypeName(info.dtype), " block size ", blockElements));
        const auto field = strCat("tensor '", t.name, "'");
        const auto fullBlocks = out.size() / blockElements;
        const auto blockOffset = t.offset + first / blockElements * t.layout->blockBytes;
        if (fullBlocks > 0)
            dequantizeGgml(info.dtype, m_file.bytes(blockOffset, fullBlocks * t.layout->blockBytes, field),
                           out.first(fullBlocks * blockElements));
        const auto tail = out.size() - fullBlocks * blockElements;
        if (tail > 0) {
            std::vector<float> scratch(blockElements);
            dequantizeGgml(info.dtype,
                           m_file.bytes(blockOffset + fullBlocks * t.layout->blockBytes, t.layout->blockBytes, field),
                           scratch);
            std::copy(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(tail),
                      out.begin() + static_cast<std::ptrdiff_t>(fullBlocks * blockElements));
        }
    }

private:
    void checkIndex(std::size_t index) const
    {
        if (index >= m_tensors.size())
            throw UsageError(strCat("tensor index ", index, " out of range (", m_tensors.size(), " tensors)"));
    }

    std::filesystem::path m_path;
    MappedFile m_file;
    GgufFile m_gguf;
    std::vector<TensorInfo> m_tensors;
    ModelArchitecture m_architecture;
    std::map<std::string, std::string> m_metadata;
};

} // namespace

std::unique_ptr<Model> openGgufFile(const std::filesystem::path& path)
{
    return std::make_unique<GgufModel>(path);
}

} // namespace quantlens::core
