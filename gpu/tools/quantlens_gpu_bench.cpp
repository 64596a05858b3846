// quantlens-gpu-bench: the GPU benchmark of `quantlens-cli bench --device cuda` as a standalone
// program, for machines where only the GPU library and its tests are built (the device machine
// that measured docs/gpu.md). Prints the table, or JSON with --json. --shape and --batch narrow the
// run to some shapes and batches (for a profiler, say).
#include "core/util/error.h"
#include "gpu/benchmark.h"

#include <cstdio>
#include <cstring>
#include <iostream>

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
            options.repetitions = std::atoi(argv[++i]);
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
            options.batches.push_back(std::atoi(argv[++i]));
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
