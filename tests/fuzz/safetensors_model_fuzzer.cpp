// libFuzzer harness for a whole safetensors file as openModel reads it: the header, then the
// recognition of bitsandbytes 4-bit and LLM.int8 weights (whose quant_state JSON, statistics and
// weight_format byte come from the file's data), then reads of every tensor through readFloat.
// Any input must open or throw quantlens::Error, and every read must stay inside the file; a
// crash, a sanitizer report or another exception type is a bug.
#include "core/io/safetensors_model.h"
#include "core/util/error.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

// The input lives in one memfd, rewritten for each run: the reader opens a path, as it does for users.
int inputFile()
{
    static const int fd = ::memfd_create("fuzz.safetensors", 0);
    return fd;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const int fd = inputFile();
    if (fd < 0 || ::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
        return 0;
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const auto model = quantlens::core::openSafetensorsFile(path);
        std::vector<float> out;
        for (std::size_t i = 0; i < model->tensors().size(); ++i) {
            if (!model->canDequantize(i))
                continue;
            const auto n = model->tensors()[i].elementCount();
            const auto align = std::max<std::uint64_t>(1, model->blockAlignment(i));
            // The head of the tensor, and a piece from its last aligned start (at most 4096 values each).
            out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(n, 4096)));
            model->readFloat(i, 0, out);
            const auto last = n == 0 ? 0 : (n - 1) / align * align;
            out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(n - last, 4096)));
            model->readFloat(i, last, out);
        }
    } catch (const quantlens::Error&) {
    }
    return 0;
}
