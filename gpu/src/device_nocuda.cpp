#include "gpu/device.h"

namespace quantlens::gpu {

bool builtWithCuda()
{
    return false;
}
bool available()
{
    return false;
}
std::string unavailableReason()
{
    return "built without CUDA (the CUDA Toolkit was not found at build time)";
}
std::vector<DeviceInfo> devices()
{
    return {};
}

} // namespace quantlens::gpu
