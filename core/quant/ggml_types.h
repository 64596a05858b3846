#pragma once

#include "core/model/tensor_info.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace quantlens::core {

// One ggml tensor type as GGUF stores it: the id of ggml-org/ggml include/ggml.h enum ggml_type,
// the DType we present, and its block geometry from src/ggml-common.h. Types we cannot decode
// (IQ*, TQ*, MXFP4) are listed too, so files holding them still open and report their sizes.
struct GgmlTypeTraits {
    DType dtype = DType::Unknown;
    std::uint32_t ggmlId = 0;
    std::string_view name; // ggml's spelling: "f32", "q4_0", "q4_K", "iq2_xxs", ...
    std::uint32_t blockElements = 1; // weights per block (1 for plain types)
    std::uint32_t blockBytes = 0; // bytes per block
    bool canDequantize = false;
    bool canQuantize = false;

    double bitsPerWeight() const { return 8.0 * blockBytes / blockElements; }
};

// Every ggml type we know, in ggml id order.
std::span<const GgmlTypeTraits> ggmlTypes();
// The traits of GGUF type id `ggmlId`; nullptr for ids unknown or removed from ggml (4, 5, 31..33, 36..38).
const GgmlTypeTraits* ggmlTraitsById(std::uint32_t ggmlId);
// The traits of `type`; nullptr for dtypes ggml has no type for (NF4, FP4, F8_*, BOOL, ...).
const GgmlTypeTraits* ggmlTraitsByDtype(DType type);
// As ggmlTraitsByDtype, throwing UnsupportedError naming the dtype when ggml has no such type.
const GgmlTypeTraits& ggmlTraits(DType type);

// Bytes that `elements` weights of `type` take; throws quantlens::Error when `elements` is not a
// multiple of the type's block elements.
std::uint64_t ggmlByteSize(DType type, std::uint64_t elements);

} // namespace quantlens::core
