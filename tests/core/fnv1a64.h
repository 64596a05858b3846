#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace quantlens::test {

// 64-bit FNV-1a over raw bytes: the hash tests/data/ggml-dequant-hashes.json holds for each of
// ggml's dequantized tensors (tests/data/make_dequant_hashes.py computes the same).
inline std::uint64_t fnv1a64(std::span<const std::byte> bytes)
{
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::byte b : bytes) {
        h ^= static_cast<std::uint64_t>(b);
        h *= 0x100000001b3ull;
    }
    return h;
}

} // namespace quantlens::test
