#pragma once

#include "core/model/model.h"

#include <filesystem>
#include <memory>

namespace quantlens::core {

// A GGUF v2/v3 file: header parsed and validated, data memory-mapped, the architecture from its
// llama.cpp metadata keys. Tensor shapes are presented outermost first like safetensors (GGUF's
// ne = [in, out] becomes [out, in]).
std::unique_ptr<Model> openGgufFile(const std::filesystem::path& path);

} // namespace quantlens::core
