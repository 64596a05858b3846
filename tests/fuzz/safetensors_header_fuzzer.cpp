// libFuzzer harness for the safetensors header parser (after syoyo/safetensors-cpp
// fuzzer/fuzz-main.cc): any input must parse or throw quantlens::Error; anything else (a crash, a
// sanitizer report, another exception type) is a bug.
#include "core/io/safetensors_header.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    try {
        const auto header = quantlens::core::parseSafetensorsHeader(
            std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.safetensors");
        // Everything the header promises must lie inside the input.
        for (const auto& t : header.tensors) {
            if (header.dataOffset + t.end > size)
                __builtin_trap();
        }
    } catch (const quantlens::Error&) {
    }
    return 0;
}
