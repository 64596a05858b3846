#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace quantlens::core {

// A read-only memory mapping of a whole file, owned RAII-style. Bytes are handed out only through
// bytes(), which checks the range against the file size first, so a reader cannot step outside the
// file whatever offsets a header claims. An empty file maps to an empty span.
class MappedFile {
public:
    // Throws IoError naming the file when it cannot be opened, stat'ed or mapped.
    explicit MappedFile(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;

    const std::filesystem::path& path() const { return m_path; }
    std::uint64_t size() const { return m_size; }
    // The whole file.
    std::span<const std::byte> all() const { return {m_data, static_cast<std::size_t>(m_size)}; }
    // [offset, offset + length); throws FormatError naming `what` and the offset when the range
    // does not lie inside the file.
    std::span<const std::byte> bytes(std::uint64_t offset, std::uint64_t length, const std::string& what) const;
    // Copies [offset, offset + out.size()) into `out` with pread, after the same check. Streaming
    // reads use this rather than the mapping: the kernel copies from the page cache through its
    // own large-page map, avoiding the TLB misses a 4 KiB-page mapping of a big file costs
    // (measured in tests/benchmarks/io_bench.cpp). Thread-safe.
    void read(std::uint64_t offset, std::span<std::byte> out, const std::string& what) const;

private:
    void release() noexcept;

    std::filesystem::path m_path;
    int m_fd = -1;
    const std::byte* m_data = nullptr;
    std::uint64_t m_size = 0;
};

} // namespace quantlens::core
