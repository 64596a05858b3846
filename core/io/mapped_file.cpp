#include "core/io/mapped_file.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace quantlens::core {

MappedFile::MappedFile(const std::filesystem::path& path)
    : m_path(path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw IoError(path.string(), strCat("cannot open: ", std::strerror(errno)));
    struct stat st { };
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw IoError(path.string(), strCat("cannot stat: ", std::strerror(err)));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw IoError(path.string(), "not a regular file");
    }
    m_size = static_cast<std::uint64_t>(st.st_size);
    if (m_size > 0) {
        // MAP_PRIVATE read-only: the file is never modified through us, and pages come from the
        // page cache on demand, so opening a 100 GB checkpoint costs only the headers we touch.
        void* p = ::mmap(nullptr, static_cast<std::size_t>(m_size), PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw IoError(path.string(), strCat("cannot map ", m_size, " bytes: ", std::strerror(err)));
        }
        m_data = static_cast<const std::byte*>(p);
    }
    m_fd = fd;
}

MappedFile::~MappedFile()
{
    release();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_path(std::move(other.m_path))
    , m_fd(std::exchange(other.m_fd, -1))
    , m_data(std::exchange(other.m_data, nullptr))
    , m_size(std::exchange(other.m_size, 0))
{
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept
{
    if (this != &other) {
        release();
        m_path = std::move(other.m_path);
        m_fd = std::exchange(other.m_fd, -1);
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
    }
    return *this;
}

void MappedFile::release() noexcept
{
    if (m_data)
        ::munmap(const_cast<std::byte*>(m_data), static_cast<std::size_t>(m_size));
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
    m_data = nullptr;
    m_size = 0;
}

std::span<const std::byte> MappedFile::bytes(std::uint64_t offset, std::uint64_t length, const std::string& what) const
{
    if (offset > m_size || length > m_size - offset) {
        throw FormatError({m_path.filename().string(), offset, what, strCat("at most ", m_size, " bytes in the file"),
                           strCat(length, " bytes from byte ", offset)},
                          "data runs past the end of the file");
    }
    return {m_data + offset, static_cast<std::size_t>(length)};
}

void MappedFile::read(std::uint64_t offset, std::span<std::byte> out, const std::string& what) const
{
    bytes(offset, out.size(), what); // the bounds check and its message
    std::size_t done = 0;
    while (done < out.size()) {
        const auto n = ::pread(m_fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw IoError(m_path.string(),
                          strCat("cannot read ", out.size() - done, " bytes at byte ", offset + done,
                                 n == 0 ? ": file shrank" : strCat(": ", std::strerror(errno))));
        done += static_cast<std::size_t>(n);
    }
}

} // namespace quantlens::core
