// quantlens-gpu-bench: the GPU benchmark of `quantlens-cli bench --device cuda` as a standalone
// program, for machines where only the GPU library and its tests are built (the device machine
// that measured docs/gpu.md). Prints the table, or JSON with --json. --shape and --batch narrow the
// run to some shapes and batches (for a profiler, say).
#include "core/util/error.h"
#include "gpu/benchmark.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

namespace {

// The whole of `text` as an int, or nothing (empty, trailing characters, out of range).
std::optional<int> parseInt(const char* text)
{
    errno = 0;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || value < INT_MIN || value > INT_MAX)
        return std::nullopt;
    return int(value);
}

} // namespace

int main(int argc, char** argv)
{
    using namespace quantlens;
    bool json = false;
    gpu::GpuBenchmarkOptions options;
    bool customShapes = false;
    bool customBatches = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (std::strcmp(argv[i], "--repetitions") == 0 && i + 1 < argc) {
            const auto value = parseInt(argv[++i]);
            if (!value) {
                std::cerr << "error: --repetitions takes a whole number, not '" << argv[i] << "'\n";
                return 2;
            }
            options.repetitions = *value;
        } else if (std::strcmp(argv[i], "--shape") == 0 && i + 1 < argc) {
            long long rows = 0;
            long long cols = 0;
            char tail = 0;
            if (std::sscanf(argv[++i], "%lldx%lld%c", &rows, &cols, &tail) != 2 || rows <= 0 || cols <= 0) {
                std::cerr << "error: --shape takes ROWSxCOLS, such as 4096x4096, not '" << argv[i] << "'\n";
                return 2;
            }
            if (!customShapes)
                options.shapes.clear();
            customShapes = true;
            options.shapes.push_back({rows, cols});
        } else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            if (!customBatches)
                options.batches.clear();
            customBatches = true;
            const auto value = parseInt(argv[++i]);
            if (!value) {
                std::cerr << "error: --batch takes a whole number (1 ... 16), not '" << argv[i] << "'\n";
                return 2;
            }
            options.batches.push_back(*value);
        } else {
            std::cerr
                << "usage: quantlens-gpu-bench [--json] [--repetitions N] [--shape ROWSxCOLS]... [--batch N]...\n";
            return 2;
        }
    }
    try {
        const gpu::GpuBenchmarkResult result = gpu::runGpuBenchmark(options);
        if (json)
            std::cout << gpu::toJson(result).dump(2) << "\n";
        else
            std::cout << gpu::formatGpuBenchmark(result);
    } catch (const UsageError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
