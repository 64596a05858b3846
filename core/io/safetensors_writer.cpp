#include "core/io/safetensors_writer.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <unistd.h>

namespace quantlens::core {

namespace {

void writeAll(int fd, const std::byte* data, std::size_t size, const std::filesystem::path& path)
{
    while (size > 0) {
        const auto n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw IoError(path.string(), strCat("cannot write: ", std::strerror(errno)));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

} // namespace

std::string safetensorsDtypeName(DType type)
{
    if (!isPlainDtype(type))
        throw UnsupportedError(strCat("safetensors cannot hold ", dtypeName(type), " tensors"));
    return std::string(dtypeName(type));
}

SafetensorsWriter::SafetensorsWriter(std::filesystem::path path, std::vector<TensorDeclaration> tensors,
                                     const std::map<std::string, std::string>& metadata)
    : m_path(std::move(path))
    , m_tensors(std::move(tensors))
{
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::set<std::string> names;
    std::uint64_t offset = 0;
    for (const auto& t : m_tensors) {
        if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second)
            throw UsageError(strCat("tensor name '", t.name, "' is empty, reserved or given twice"));
        std::uint64_t bytes = dtypeElementBytes(t.dtype);
        if (bytes == 0)
            throw UsageError(strCat("tensor '", t.name, "': safetensors cannot hold ", dtypeName(t.dtype), " tensors"));
        for (const auto d : t.shape) {
            if (__builtin_mul_overflow(bytes, d, &bytes))
                throw UsageError(strCat("tensor '", t.name, "': size overflows 64 bits"));
        }
        header[t.name] = {
            {"dtype", safetensorsDtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
        m_tensorBytes.push_back(bytes);
        offset += bytes;
    }
    std::string text = header.dump();
    // Pad with spaces to a multiple of 8 so that the data section starts aligned, as
    // huggingface/safetensors does when it serializes.
    text.append((8 - text.size() % 8) % 8, ' ');

    static std::atomic<unsigned> counter {0};
    m_temporaryPath = m_path;
    m_temporaryPath += strCat(".tmp-", ::getpid(), "-", counter.fetch_add(1));
    m_fd = ::open(m_temporaryPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (m_fd < 0)
        throw IoError(m_temporaryPath.string(), strCat("cannot create: ", std::strerror(errno)));
    try {
        std::array<std::byte, 8> length {};
        for (int i = 0; i < 8; ++i)
            length[static_cast<std::size_t>(i)] = static_cast<std::byte>((text.size() >> (8 * i)) & 0xff);
        writeAll(m_fd, length.data(), length.size(), m_temporaryPath);
        writeAll(m_fd, reinterpret_cast<const std::byte*>(text.data()), text.size(), m_temporaryPath);
    } catch (...) {
        ::close(m_fd);
        ::unlink(m_temporaryPath.c_str());
        throw;
    }
    while (m_current < m_tensors.size() && m_tensorBytes[m_current] == 0)
        ++m_current;
}

SafetensorsWriter::~SafetensorsWriter()
{
    if (m_fd >= 0)
        ::close(m_fd);
    if (!m_committed)
        ::unlink(m_temporaryPath.c_str());
}

void SafetensorsWriter::writeTensorData(std::span<const std::byte> bytes)
{
    if (bytes.empty())
        return;
    if (m_current >= m_tensors.size())
        throw UsageError(strCat(m_path.string(), ": more data than the declared tensors hold"));
    const auto left = m_tensorBytes[m_current] - m_writtenInCurrent;
    if (bytes.size() > left)
        throw UsageError(strCat(m_path.string(), ": tensor '", m_tensors[m_current].name, "' takes ", left,
                                " more bytes, given ", bytes.size()));
    writeAll(m_fd, bytes.data(), bytes.size(), m_temporaryPath);
    m_writtenInCurrent += bytes.size();
    if (m_writtenInCurrent == m_tensorBytes[m_current]) {
        m_writtenInCurrent = 0;
        ++m_current;
        while (m_current < m_tensors.size() && m_tensorBytes[m_current] == 0)
            ++m_current;
    }
}

void SafetensorsWriter::commit()
{
    if (m_committed)
        return;
    if (m_current < m_tensors.size())
        throw UsageError(strCat(m_path.string(), ": tensor '", m_tensors[m_current].name, "' is missing ",
                                m_tensorBytes[m_current] - m_writtenInCurrent, " bytes"));
    if (::fsync(m_fd) != 0)
        throw IoError(m_temporaryPath.string(), strCat("cannot flush: ", std::strerror(errno)));
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0)
        throw IoError(m_temporaryPath.string(), strCat("cannot close: ", std::strerror(errno)));
    if (::rename(m_temporaryPath.c_str(), m_path.c_str()) != 0)
        throw IoError(m_path.string(), strCat("cannot replace with the written file: ", std::strerror(errno)));
    m_committed = true;
}

void writeSafetensors(const std::filesystem::path& path, std::span<const SafetensorsTensorData> tensors,
                      const std::map<std::string, std::string>& metadata)
{
    std::vector<SafetensorsWriter::TensorDeclaration> declarations;
    for (const auto& t : tensors)
        declarations.push_back({t.name, t.dtype, t.shape});
    SafetensorsWriter writer(path, std::move(declarations), metadata);
    for (const auto& t : tensors) {
        std::uint64_t bytes = dtypeElementBytes(t.dtype);
        for (const auto d : t.shape)
            bytes *= d; // the writer's constructor has already refused sizes that overflow
        if (t.data.size() != bytes)
            throw UsageError(strCat(path.string(), ": tensor '", t.name, "' has ", t.data.size(),
                                    " bytes of data, its shape and dtype need ", bytes));
        writer.writeTensorData(t.data);
    }
    writer.commit();
}

} // namespace quantlens::core
