#pragma once

#include "core/model/tensor_info.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace quantlens::core {

// One tensor to write: its bytes must be exactly elementBytes(dtype) x element count, in safetensors'
// row-major little-endian layout. Only the plain safetensors dtypes (F64 ... BOOL) can be written;
// bitsandbytes checkpoints store NF4/FP4 as U8 tensors plus their statistics.
struct SafetensorsTensorData {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::uint64_t> shape;
    std::span<const std::byte> data;
};

// The name of a dtype in a safetensors header ("F32", "BF16", "F8_E4M3", ...); throws
// UnsupportedError for dtypes safetensors cannot hold (NF4, Q4_K, ...).
std::string safetensorsDtypeName(DType type);

// Writes a safetensors file tensor by tensor without holding the model in memory, atomically:
// the bytes go to a temporary file in the destination folder, which replaces `path` by rename only
// in commit(). An existing file at `path` is untouched until then, and the destructor removes the
// temporary file when commit() was never reached (an exception, a cancelled job).
//
// Usage: declare every tensor (name, dtype, shape) in the order the data will follow, then call
// writeTensorData for each in that order (in one or several pieces), then commit().
class SafetensorsWriter {
public:
    struct TensorDeclaration {
        std::string name;
        DType dtype = DType::F32;
        std::vector<std::uint64_t> shape;
    };

    // Throws UsageError for duplicate or empty names and unsupported dtypes, IoError when the
    // temporary file cannot be created.
    SafetensorsWriter(std::filesystem::path path, std::vector<TensorDeclaration> tensors,
                      const std::map<std::string, std::string>& metadata = {});
    ~SafetensorsWriter();
    SafetensorsWriter(const SafetensorsWriter&) = delete;
    SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

    // Appends bytes of the current tensor; a piece may not run past the tensor's declared size
    // (UsageError). Pieces of consecutive tensors may not be mixed in one call.
    void writeTensorData(std::span<const std::byte> bytes);
    // Checks every declared byte was written (UsageError otherwise), flushes, fsyncs and renames the
    // temporary file onto `path` (IoError on failure, leaving `path` as it was).
    void commit();

    const std::filesystem::path& temporaryPath() const { return m_temporaryPath; }

private:
    std::filesystem::path m_path;
    std::filesystem::path m_temporaryPath;
    std::vector<TensorDeclaration> m_tensors;
    std::vector<std::uint64_t> m_tensorBytes;
    std::size_t m_current = 0;
    std::uint64_t m_writtenInCurrent = 0;
    int m_fd = -1;
    bool m_committed = false;
};

// Writes all of `tensors` to `path` in one call with SafetensorsWriter (same atomicity).
void writeSafetensors(const std::filesystem::path& path, std::span<const SafetensorsTensorData> tensors,
                      const std::map<std::string, std::string>& metadata = {});

} // namespace quantlens::core
