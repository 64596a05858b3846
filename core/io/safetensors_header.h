#pragma once

#include "core/model/tensor_info.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace quantlens::core {

// One entry of a safetensors header. Offsets are relative to the start of the data section, as in
// the file; `dataOffset` of the header turns them into file offsets.
struct SafetensorsEntry {
    std::string name;
    DType dtype = DType::Unknown;
    std::vector<std::uint64_t> shape;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
};

struct SafetensorsHeader {
    std::uint64_t headerLength = 0; // the JSON's length (the file's first 8 bytes)
    std::uint64_t dataOffset = 0; // 8 + headerLength
    std::vector<SafetensorsEntry> tensors; // in data order
    std::map<std::string, std::string> metadata; // __metadata__
};

// The largest JSON header we accept, as huggingface/safetensors' MAX_HEADER_SIZE (100 MB): a
// header claiming more is an attack or corruption, and we must not allocate for it.
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

// Parses and validates the header of a safetensors file held in `file` (the whole file, usually
// memory-mapped), in the manner of huggingface/safetensors safetensors/src/tensor.rs
// read_metadata + validate: header length against the file and the cap, well-formed JSON object,
// known dtypes, shapes whose byte count (overflow-checked) equals the offsets, offsets inside the
// data section and no two tensors sharing bytes. Unlike safetensors we allow unused gaps between
// tensors (nothing is read from them). Every failure is one FormatError naming `fileName`, the
// tensor or field and the byte offset.
SafetensorsHeader parseSafetensorsHeader(std::span<const std::byte> file, const std::string& fileName);

// "F32" -> DType::F32 ...; DType::Unknown for names safetensors does not define.
DType safetensorsDtypeFromName(const std::string& name);

} // namespace quantlens::core
