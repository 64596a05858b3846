#pragma once

#include "core/model/tensor_info.h"
#include "core/quant/ggml_types.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace quantlens::core {

// One metadata value. Arrays keep their element type, their full count and at most
// kGgufKeptArrayItems elements: a 150k-token vocabulary is validated but not held in memory.
struct GgufValue {
    std::uint32_t type = 0; // GGUF value type: 0 U8 ... 12 F64
    std::uint64_t unsignedValue = 0; // U8, U16, U32, U64, BOOL
    std::int64_t signedValue = 0; // I8, I16, I32, I64
    double floatValue = 0.0; // F32, F64
    std::string stringValue;
    std::uint32_t arrayType = 0;
    std::uint64_t arrayCount = 0;
    std::vector<GgufValue> arrayItems;

    // "llama", "32", "1e-05", "[\"<unk>\", \"<s>\", ... (32000 items)]"
    std::string render() const;
};

inline constexpr std::size_t kGgufKeptArrayItems = 16;

struct GgufTensorEntry {
    std::string name;
    std::vector<std::uint64_t> ne; // ggml order: ne[0] is the innermost (row) dimension
    const GgmlTypeTraits* layout = nullptr; // never null after parseGguf
    std::uint64_t offset = 0; // absolute file offset of the data
    std::uint64_t byteSize = 0;
};

struct GgufFile {
    std::uint32_t version = 0;
    std::uint64_t alignment = 32;
    std::uint64_t dataOffset = 0; // start of the tensor data section
    std::map<std::string, GgufValue> metadata;
    std::vector<GgufTensorEntry> tensors; // in file order
};

// Limits on what a header may claim before we allocate for it.
inline constexpr std::uint32_t kGgufMaxDims = 4; // GGML_MAX_DIMS
inline constexpr std::uint32_t kGgufMaxNesting = 4; // arrays of arrays of ...
inline constexpr std::uint64_t kGgufMaxString = 64ull << 20;

// Parses and validates a GGUF v2/v3 file held in `file` (usually memory-mapped), in the manner of
// ggml-org/ggml src/gguf.cpp gguf_init_from_file_impl: every count bounded by the bytes left,
// every string by the bytes left and kGgufMaxString, unique keys and tensor names, known types,
// rows a whole number of blocks, overflow-checked sizes, aligned offsets, data inside the file and
// no overlaps. Each failure is one FormatError naming `fileName`, the key or tensor and the offset.
GgufFile parseGguf(std::span<const std::byte> file, const std::string& fileName);

// One metadata value with every array item kept (parseGguf keeps kGgufKeptArrayItems): the
// tokenizer's vocabulary and merges. Empty when the key is absent. Same checks as parseGguf.
std::optional<GgufValue> readGgufValue(std::span<const std::byte> file, const std::string& fileName,
                                       const std::string& key);

} // namespace quantlens::core
