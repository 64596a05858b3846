#pragma once

#include <filesystem>
#include <string>

namespace quantlens::core {

// The whole of a small file (a config, a recipe, a tokenizer's JSON) as text. Throws IoError naming
// the file, with `problem` as the reason, when it cannot be opened.
std::string readFileText(const std::filesystem::path& path, const std::string& problem = "cannot be read");

} // namespace quantlens::core
