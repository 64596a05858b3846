#pragma once

#include "core/model/model.h"

#include <filesystem>
#include <memory>

namespace quantlens::core {

// A single safetensors file: headers parsed and validated, data memory-mapped. A config.json in the
// same folder supplies the architecture.
std::unique_ptr<Model> openSafetensorsFile(const std::filesystem::path& path);

// A sharded checkpoint through its model.safetensors.index.json: every shard named in weight_map
// is opened and validated, and every tensor the index names must be in the shard it names.
std::unique_ptr<Model> openSafetensorsIndex(const std::filesystem::path& indexPath);

// The largest index JSON we read (real ones are well under 1 MB, even for 800 GB checkpoints).
inline constexpr std::uint64_t kMaxIndexBytes = 64ull << 20;

} // namespace quantlens::core
