// libFuzzer harness for the config.json parser: any input must parse or throw quantlens::Error.
#include "core/io/hf_config.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    try {
        (void)quantlens::core::parseHfConfig(std::string_view(reinterpret_cast<const char*>(data), size),
                                             "config.json");
    } catch (const quantlens::Error&) {
    }
    return 0;
}
