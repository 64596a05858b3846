#include "core/report/atomic_write.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace quantlens::core {

namespace {

std::string systemReason(int error)
{
    return std::strerror(error);
}

} // namespace

void checkWriteTarget(const std::filesystem::path& path, bool force)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    if (path.empty())
        throw UsageError("no output file given");
    if (fs::is_directory(path, ec))
        throw UsageError(strCat(path.string(), " is a folder; give a file name such as report.html"));
    if (fs::exists(path, ec) && !force)
        throw UsageError(strCat(path.string(), " exists; use --force to replace it"));
    const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    if (!fs::is_directory(folder, ec))
        throw IoError(path.string(), strCat("cannot write: the folder ", folder.string(), " does not exist"));
}

namespace {

// Phase one: the content in a temporary file beside `path`, flushed and closed; its name.
std::string writeTemporary(const std::filesystem::path& path, std::string_view content)
{
    namespace fs = std::filesystem;
    const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();

    // mkstemp creates the file with mode 0600; reports are meant to be shared, so widen to the
    // usual 0666 & ~umask before the rename.
    std::string temp = (folder / ("." + path.filename().string() + ".XXXXXX")).string();
    const int fd = mkstemp(temp.data());
    if (fd < 0)
        throw IoError(path.string(), strCat("cannot write in ", folder.string(), ": ", systemReason(errno)));
    const auto fail = [&](const char* step) {
        const int error = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        throw IoError(path.string(), strCat("cannot write (", step, "): ", systemReason(error)));
    };
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (::fchmod(fd, 0666 & ~mask) != 0)
        fail("chmod");
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("write");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0)
        fail("fsync");
    if (::close(fd) != 0) {
        const int error = errno;
        ::unlink(temp.c_str());
        throw IoError(path.string(), strCat("cannot write (close): ", systemReason(error)));
    }
    return temp;
}

// Phase two: the temporary file renamed over `path`; removed on failure.
void commitTemporary(const std::string& temp, const std::filesystem::path& path, bool force)
{
    // Checked again just before the rename: another process may have created the file meanwhile.
    std::error_code ec;
    if (!force && std::filesystem::exists(path, ec)) {
        ::unlink(temp.c_str());
        throw UsageError(strCat(path.string(), " exists; use --force to replace it"));
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temp.c_str());
        throw IoError(path.string(), strCat("cannot replace the file: ", systemReason(error)));
    }
}

} // namespace

void writeFileAtomically(const std::filesystem::path& path, std::string_view content, bool force)
{
    checkWriteTarget(path, force);
    commitTemporary(writeTemporary(path, content), path, force);
}

void writeFilesAtomically(const std::vector<std::pair<std::filesystem::path, std::string>>& files, bool force)
{
    for (const auto& [path, content] : files)
        checkWriteTarget(path, force);
    std::vector<std::string> temps;
    const auto discardFrom = [&temps](std::size_t first) {
        for (std::size_t k = first; k < temps.size(); ++k)
            ::unlink(temps[k].c_str());
    };
    try {
        for (const auto& [path, content] : files)
            temps.push_back(writeTemporary(path, content));
        // Checked again for every file before the first rename: one created meanwhile refuses them all.
        for (const auto& [path, content] : files)
            checkWriteTarget(path, force);
    } catch (...) {
        discardFrom(0);
        throw;
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
        try {
            commitTemporary(temps[i], files[i].first, force);
        } catch (...) {
            discardFrom(i + 1);
            throw;
        }
    }
}

} // namespace quantlens::core
