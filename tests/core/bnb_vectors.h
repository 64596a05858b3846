#pragma once

// Reading the bitsandbytes golden vectors (tests/data/bnb-vectors, recorded with bitsandbytes
// 0.50.2.dev0 on an H100; see its README.md) for the value-parameterized tests of the quantizers.

#include "core/util/float16.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace quantlens::test {

inline std::string bnbVectorsDir()
{
    return std::string(QUANTLENS_TEST_DATA_DIR) + "/bnb-vectors";
}

struct BnbCase {
    std::string dir; // "normal_4096x64/nf4_bs64_dq_bfloat16"
    std::string kind; // "4bit" or "8bit"
    std::string quantType; // "nf4", "fp4", "dynamic8"
    std::string dtype; // "float32", "float16", "bfloat16"
    std::uint32_t blocksize = 0;
    bool doubleQuant = false;
    std::uint64_t numel = 0;

    std::string path(const std::string& file) const { return bnbVectorsDir() + "/" + dir + "/" + file; }
};

// GoogleTest prints a failing parameter with this instead of its bytes.
inline void PrintTo(const BnbCase& c, std::ostream* os)
{
    *os << c.dir;
}

// The cases of index.json whose kind and (when not empty) quant_type match.
inline std::vector<BnbCase> bnbCases(const std::string& kind, const std::string& quantType = {})
{
    std::ifstream file(bnbVectorsDir() + "/index.json");
    if (!file)
        throw std::runtime_error("cannot open " + bnbVectorsDir() + "/index.json");
    const nlohmann::json index = nlohmann::json::parse(file);
    std::vector<BnbCase> cases;
    for (const auto& c : index.at("cases")) {
        if (c.at("kind") != kind)
            continue;
        BnbCase one;
        one.dir = c.at("dir");
        one.kind = kind;
        one.quantType = c.at("quant_type");
        one.dtype = c.at("dtype");
        one.blocksize = c.at("blocksize");
        one.doubleQuant = c.at("compress_statistics");
        one.numel = c.at("numel");
        if (quantType.empty() || one.quantType == quantType)
            cases.push_back(one);
    }
    return cases;
}

// A readable test name: "normal_4096x64_nf4_bs64_dq_bfloat16".
inline std::string bnbCaseName(const BnbCase& c)
{
    std::string name = c.dir;
    for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch)))
            ch = '_';
    return name;
}

inline std::vector<std::uint8_t> readBytes(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error("cannot open " + path);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

template <typename T> std::vector<T> readArray(const std::string& path)
{
    const std::vector<std::uint8_t> bytes = readBytes(path);
    std::vector<T> values(bytes.size() / sizeof(T));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    return values;
}

// A tensor of the case's dtype as fp32 (exact for fp16 and bf16).
inline std::vector<float> readAsFloat(const std::string& path, const std::string& dtype)
{
    if (dtype == "float32")
        return readArray<float>(path);
    const std::vector<std::uint16_t> raw = readArray<std::uint16_t>(path);
    std::vector<float> values(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i)
        values[i] = dtype == "bfloat16" ? core::bf16ToFloat(raw[i]) : core::fp16ToFloat(raw[i]);
    return values;
}

// fp32 values rounded to the case's dtype, as raw bits (fp32 bits for float32): what bitsandbytes'
// `.to(dtype)` of its fp32 result stores.
inline std::vector<std::uint32_t> castBits(const std::vector<float>& values, const std::string& dtype)
{
    std::vector<std::uint32_t> bits(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (dtype == "float32")
            std::memcpy(&bits[i], &values[i], 4);
        else
            bits[i] = dtype == "bfloat16" ? core::floatToBf16(values[i]) : core::floatToFp16(values[i]);
    }
    return bits;
}

inline std::vector<std::uint32_t> readBits(const std::string& path, const std::string& dtype)
{
    if (dtype == "float32")
        return readArray<std::uint32_t>(path);
    const std::vector<std::uint16_t> raw = readArray<std::uint16_t>(path);
    return {raw.begin(), raw.end()};
}

inline std::vector<std::uint32_t> floatBits(const std::vector<float>& values)
{
    return castBits(values, "float32");
}

// Index of the first difference, or -1: a readable failure instead of a million-element dump.
template <typename T> long long firstMismatch(const std::vector<T>& a, const std::vector<T>& b)
{
    if (a.size() != b.size())
        return static_cast<long long>(std::min(a.size(), b.size()));
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i])
            return static_cast<long long>(i);
    return -1;
}

} // namespace quantlens::test
