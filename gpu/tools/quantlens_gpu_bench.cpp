// quantlens-gpu-bench: the GPU benchmark of `quantlens-cli bench --device cuda` as a standalone
// program, for machines where only the GPU library and its tests are built (the device machine
// that measured docs/gpu.md). Prints the table, or JSON with --json.
#include "core/util/error.h"
#include "gpu/benchmark.h"

#include <cstring>
#include <iostream>

int main(int argc, char** argv)
{
    using namespace quantlens;
    bool json = false;
    gpu::GpuBenchmarkOptions options;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (std::strcmp(argv[i], "--repetitions") == 0 && i + 1 < argc) {
            options.repetitions = std::atoi(argv[++i]);
        } else {
            std::cerr << "usage: quantlens-gpu-bench [--json] [--repetitions N]\n";
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
