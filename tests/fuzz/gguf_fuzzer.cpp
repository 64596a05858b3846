// libFuzzer harness for the GGUF reader: any input must parse or throw quantlens::Error, and every
// tensor it accepts must lie inside the input.
#include "core/io/gguf_reader.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    try {
        const auto gguf
            = quantlens::core::parseGguf(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.gguf");
        for (const auto& [key, value] : gguf.metadata)
            (void)value.render();
        for (const auto& t : gguf.tensors) {
            if (t.offset > size || t.byteSize > size - t.offset)
                __builtin_trap();
        }
    } catch (const quantlens::Error&) {
    }
    return 0;
}
