#pragma once

#include "fnv1a64.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

// A small GGUF reader for the ggml block-format tests only: it reads our own trusted fixtures
// (layout from ggml-org/ggml src/gguf.cpp), checks every read against the file size and throws
// std::runtime_error on anything unexpected. The app reads GGUF with core/io.
namespace quantlens::test {

struct GgufTestTensor {
    std::uint32_t type = 0; // ggml type id
    std::vector<std::uint64_t> ne;
    std::span<const std::byte> data;

    std::uint64_t elements() const
    {
        std::uint64_t n = 1;
        for (auto d : ne)
            n *= d;
        return n;
    }
};

class GgufTestFile {
public:
    explicit GgufTestFile(const std::string& path)
    {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw std::runtime_error("cannot open " + path);
        std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        m_bytes.resize(chars.size());
        std::memcpy(m_bytes.data(), chars.data(), chars.size());
        parse(path);
    }
    GgufTestFile(const GgufTestFile&) = delete; // the tensors' spans point into m_bytes
    GgufTestFile& operator=(const GgufTestFile&) = delete;

    const std::map<std::string, GgufTestTensor>& tensors() const { return m_tensors; }
    const GgufTestTensor& tensor(const std::string& name) const
    {
        auto it = m_tensors.find(name);
        if (it == m_tensors.end())
            throw std::runtime_error("no tensor " + name);
        return it->second;
    }
    // The tensor's values, for F32 tensors.
    std::vector<float> floats(const std::string& name) const
    {
        const auto& t = tensor(name);
        if (t.type != 0)
            throw std::runtime_error(name + " is not F32");
        std::vector<float> out(t.elements());
        std::memcpy(out.data(), t.data.data(), out.size() * sizeof(float));
        return out;
    }

private:
    template <typename T> T take()
    {
        need(sizeof(T));
        T v;
        std::memcpy(&v, m_bytes.data() + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    void need(std::uint64_t n) const
    {
        if (n > m_bytes.size() - m_pos)
            throw std::runtime_error("GGUF read past the end at byte " + std::to_string(m_pos));
    }
    std::string takeString()
    {
        const auto n = take<std::uint64_t>();
        need(n);
        std::string s(reinterpret_cast<const char*>(m_bytes.data() + m_pos), n);
        m_pos += n;
        return s;
    }
    std::uint64_t skipValue(std::uint32_t type)
    {
        static const std::uint64_t kScalarBytes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
        if (type == 8) {
            takeString();
            return 0;
        }
        if (type == 9) {
            const auto itemType = take<std::uint32_t>();
            const auto count = take<std::uint64_t>();
            for (std::uint64_t i = 0; i < count; ++i)
                skipValue(itemType);
            return 0;
        }
        if (type > 12)
            throw std::runtime_error("bad GGUF value type");
        std::uint64_t v = 0;
        need(kScalarBytes[type]);
        std::memcpy(&v, m_bytes.data() + m_pos, kScalarBytes[type]);
        m_pos += kScalarBytes[type];
        return v;
    }
    void parse(const std::string& path)
    {
        if (m_bytes.size() < 24 || std::memcmp(m_bytes.data(), "GGUF", 4) != 0)
            throw std::runtime_error(path + " is not a GGUF file");
        m_pos = 4;
        take<std::uint32_t>();
        const auto tensorCount = take<std::uint64_t>();
        const auto kvCount = take<std::uint64_t>();
        std::uint64_t alignment = 32;
        for (std::uint64_t i = 0; i < kvCount; ++i) {
            const std::string key = takeString();
            const std::uint64_t v = skipValue(take<std::uint32_t>());
            if (key == "general.alignment")
                alignment = v;
        }
        std::vector<std::pair<std::string, std::uint64_t>> offsets;
        for (std::uint64_t i = 0; i < tensorCount; ++i) {
            std::string name = takeString();
            GgufTestTensor t;
            t.ne.resize(take<std::uint32_t>());
            for (auto& d : t.ne)
                d = take<std::uint64_t>();
            t.type = take<std::uint32_t>();
            offsets.emplace_back(name, take<std::uint64_t>());
            m_tensors[name] = t;
        }
        const std::uint64_t base = (m_pos + alignment - 1) / alignment * alignment;
        for (const auto& [name, offset] : offsets) {
            if (base + offset > m_bytes.size())
                throw std::runtime_error(name + ": data offset past the end of the file");
            // Up to the end of the file: callers take the tensor's own byte count from the front.
            m_tensors[name].data = std::span<const std::byte>(m_bytes).subspan(base + offset);
        }
    }

    std::vector<std::byte> m_bytes;
    std::size_t m_pos = 0;
    std::map<std::string, GgufTestTensor> m_tensors;
};

} // namespace quantlens::test
