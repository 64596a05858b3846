#pragma once

#include <vector>

// The JSON files of resources/models/ and resources/gpus.json, compiled into quantlens_core by
// core/planner/embed_catalogue.cmake. Parsed by catalogue.cpp.
namespace quantlens::core {

struct EmbeddedFile {
    const char* name; // "llama-2-7b.json"
    const char* text;
};

const std::vector<EmbeddedFile>& embeddedModelPresets();
const char* embeddedGpuCatalogue();

} // namespace quantlens::core
