#include "core/util/file_text.h"

#include "core/util/error.h"

#include <fstream>
#include <sstream>

namespace quantlens::core {

std::string readFileText(const std::filesystem::path& path, const std::string& problem)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError(path.string(), problem);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace quantlens::core
