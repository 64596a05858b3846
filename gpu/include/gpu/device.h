#pragma once

#include <cstdint>
#include <string>
#include <vector>

// The GPU API seen by the rest of QuantLens: plain C++, no CUDA headers, so that it compiles with
// g++ alone. When the CUDA Toolkit was absent at build time, or no device is present at run time,
// available() is false and unavailableReason() says why; nothing here throws for a missing GPU.
namespace quantlens::gpu {

struct DeviceInfo {
    int index = 0;
    std::string name;
    std::uint64_t memoryBytes = 0;
    int computeMajor = 0;
    int computeMinor = 0;
    int multiprocessors = 0;
    std::uint64_t l2CacheBytes = 0;
    int memoryBusWidthBits = 0;
    double memoryClockKHz = 0;
    std::string driverVersion; // e.g. "13.0"
    std::string runtimeVersion;
};

// Whether this build contains the CUDA kernels at all.
bool builtWithCuda();
// True when CUDA kernels were built and at least one device can run them.
bool available();
// Empty when available(); otherwise "built without CUDA", "no CUDA device", or the driver's message.
std::string unavailableReason();
// The devices the runtime sees (empty when unavailable).
std::vector<DeviceInfo> devices();

} // namespace quantlens::gpu
