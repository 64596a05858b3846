#pragma once

#include "gpu/device.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

// Helpers shared by the GPU tests: golden files and readable first differences.
namespace quantlens::gpu::test {

// Every GPU test starts with this: CI has no GPU, so the test is skipped with the reason printed.
#define QUANTLENS_REQUIRE_GPU()                                                                                        \
    do {                                                                                                               \
        if (!::quantlens::gpu::available())                                                                            \
            GTEST_SKIP() << "no GPU to test on: " << ::quantlens::gpu::unavailableReason();                            \
    } while (0)

inline std::filesystem::path bnbVectorsDir()
{
    return std::filesystem::path(QUANTLENS_TEST_DATA_DIR) / "bnb-vectors";
}

inline std::vector<std::byte> readBytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(raw.size());
    std::memcpy(bytes.data(), raw.data(), raw.size());
    return bytes;
}

template <typename T> std::vector<T> readValues(const std::filesystem::path& path)
{
    const auto bytes = readBytes(path);
    std::vector<T> values(bytes.size() / sizeof(T));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    return values;
}

// "" when equal byte for byte; otherwise where they first differ, for the failure message.
inline std::string firstDifference(const std::vector<std::byte>& expected, const std::vector<std::byte>& found,
                                   std::size_t elementBytes = 1)
{
    if (expected.size() != found.size())
        return "sizes differ: expected " + std::to_string(expected.size()) + " bytes, found "
            + std::to_string(found.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] != found[i]) {
            std::ostringstream out;
            const std::size_t element = i / elementBytes;
            out << "element " << element << " differs: expected 0x" << std::hex;
            for (std::size_t b = elementBytes; b-- > 0;)
                out << int(expected[element * elementBytes + b]);
            out << ", found 0x";
            for (std::size_t b = elementBytes; b-- > 0;)
                out << int(found[element * elementBytes + b]);
            return out.str();
        }
    }
    return "";
}

template <typename T> std::vector<std::byte> asBytes(const std::vector<T>& values)
{
    std::vector<std::byte> bytes(values.size() * sizeof(T));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
}

} // namespace quantlens::gpu::test
