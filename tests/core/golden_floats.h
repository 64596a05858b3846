#pragma once

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

// A file of little-endian float32 values (the golden outputs under tests/data), empty when missing.
inline std::vector<float> readGoldenFloats(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
}
