#include "gpu/device_buffer.h"

#include "core/util/error.h"

// Without CUDA nothing can live on a device: constructing a stream or a non-empty buffer says so
// instead of pretending; an empty buffer stays a harmless value.
namespace quantlens::gpu {

namespace {

[[noreturn]] void throwBuiltWithoutCuda(const char* what)
{
    throw UnsupportedError(std::string(what) + ": this build of QuantLens was built without CUDA");
}

} // namespace

Stream::Stream()
{
    throwBuiltWithoutCuda("a CUDA stream");
}

Stream::~Stream() = default;

void Stream::synchronize() const { }

DeviceBuffer::DeviceBuffer(std::size_t bytes)
{
    if (bytes > 0)
        throwBuiltWithoutCuda("device memory");
}

DeviceBuffer::~DeviceBuffer() = default;

DeviceBuffer::DeviceBuffer(DeviceBuffer&&) noexcept = default;

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&&) noexcept = default;

void DeviceBuffer::release() noexcept { }

void DeviceBuffer::copyFromHost(std::span<const std::byte> host, std::size_t)
{
    if (!host.empty())
        throwBuiltWithoutCuda("a copy to the device");
}

void DeviceBuffer::copyToHost(std::span<std::byte> host, std::size_t) const
{
    if (!host.empty())
        throwBuiltWithoutCuda("a copy from the device");
}

void DeviceBuffer::fill(std::uint8_t) { }

} // namespace quantlens::gpu
