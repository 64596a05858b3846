#include "gpu/device.h"

#include "core/util/str_cat.h"
#include "cuda_check.h"

#include <cuda_runtime.h>

namespace quantlens::gpu {

namespace {

std::string versionString(int version)
{
    return strCat(version / 1000, ".", (version % 1000) / 10);
}

} // namespace

bool builtWithCuda()
{
    return true;
}

std::string unavailableReason()
{
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status == cudaErrorNoDevice || (status == cudaSuccess && count == 0))
        return "no CUDA device";
    if (status == cudaErrorInsufficientDriver) {
        cudaGetLastError();
        int driver = 0;
        if (cudaDriverGetVersion(&driver) != cudaSuccess || driver == 0)
            return "no CUDA device (no NVIDIA driver is loaded)";
        return strCat("no usable CUDA device: the NVIDIA driver (CUDA ", versionString(driver),
                      ") is older than this build's CUDA runtime");
    }
    if (status != cudaSuccess) {
        cudaGetLastError();
        return strCat("no usable CUDA device: ", cudaGetErrorString(status));
    }
    return {};
}

bool available()
{
    return unavailableReason().empty();
}

std::vector<DeviceInfo> devices()
{
    std::vector<DeviceInfo> result;
    if (!available())
        return result;
    int count = 0;
    QUANTLENS_CUDA_CHECK(cudaGetDeviceCount(&count));
    int driver = 0;
    int runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop {};
        QUANTLENS_CUDA_CHECK(cudaGetDeviceProperties(&prop, i));
        DeviceInfo info;
        info.index = i;
        info.name = prop.name;
        info.memoryBytes = prop.totalGlobalMem;
        info.computeMajor = prop.major;
        info.computeMinor = prop.minor;
        info.multiprocessors = prop.multiProcessorCount;
        info.l2CacheBytes = static_cast<std::uint64_t>(prop.l2CacheSize);
        info.memoryBusWidthBits = prop.memoryBusWidth;
        int memoryClock = 0;
        cudaDeviceGetAttribute(&memoryClock, cudaDevAttrMemoryClockRate, i);
        info.memoryClockKHz = memoryClock;
        info.driverVersion = versionString(driver);
        info.runtimeVersion = versionString(runtime);
        result.push_back(info);
    }
    return result;
}

} // namespace quantlens::gpu
