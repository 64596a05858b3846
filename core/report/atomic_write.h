#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quantlens::core {

// Writes `content` to `path` so that a reader sees the old file or the whole new one, never a
// half-written one: a temporary file in the same folder (same file system, so rename is atomic),
// flushed and closed, then renamed over `path`. An existing `path` is replaced only when `force`
// is set; otherwise UsageError ("... exists; use --force to replace it"). A folder that does not
// exist or cannot be written gives IoError naming the path and the system's reason; the temporary
// file is removed on every failure.
void writeFileAtomically(const std::filesystem::path& path, std::string_view content, bool force);

// Several files that belong together (a CSV report's two tables): every target checked, then every
// content written to its temporary file, and only then the renames. A refusal or a failed write
// (a full disk) leaves every old file as it was; only a failing rename, after the others, can
// leave a mix.
void writeFilesAtomically(const std::vector<std::pair<std::filesystem::path, std::string>>& files, bool force);

// The checks writeFileAtomically makes before it writes (a file name, not a folder; no existing file
// without `force`; an existing folder), with the same errors: for callers that have long work to do
// before writing and should fail at once.
void checkWriteTarget(const std::filesystem::path& path, bool force);

} // namespace quantlens::core
