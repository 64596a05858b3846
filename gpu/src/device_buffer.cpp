#include "gpu/device_buffer.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"
#include "cuda_check.h"

#include <cuda_runtime.h>

#include <utility>

namespace quantlens::gpu {

Stream::Stream()
{
    cudaStream_t stream = nullptr;
    QUANTLENS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    m_handle = stream;
}

Stream::~Stream()
{
    if (m_handle)
        cudaStreamDestroy(static_cast<cudaStream_t>(m_handle));
}

void Stream::synchronize() const
{
    QUANTLENS_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(m_handle)));
}

DeviceBuffer::DeviceBuffer(std::size_t bytes)
{
    if (bytes == 0)
        return;
    const cudaError_t status = cudaMalloc(&m_data, bytes);
    if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        std::size_t freeBytes = 0;
        std::size_t totalBytes = 0;
        cudaMemGetInfo(&freeBytes, &totalBytes);
        m_data = nullptr;
        throw CudaError(strCat("cudaMalloc of ", core::formatBinaryBytes(double(bytes)), " (", bytes,
                               " bytes; the device has ", core::formatBinaryBytes(double(freeBytes)), " free of ",
                               core::formatBinaryBytes(double(totalBytes)), ")"),
                        status);
    }
    checkCuda(status, "cudaMalloc");
    m_bytes = bytes;
}

DeviceBuffer::~DeviceBuffer()
{
    release();
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr))
    , m_bytes(std::exchange(other.m_bytes, 0))
{
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept
{
    if (this != &other) {
        release();
        m_data = std::exchange(other.m_data, nullptr);
        m_bytes = std::exchange(other.m_bytes, 0);
    }
    return *this;
}

void DeviceBuffer::release() noexcept
{
    if (m_data)
        cudaFree(m_data);
    m_data = nullptr;
    m_bytes = 0;
}

namespace {

void checkRange(std::size_t hostBytes, std::size_t offset, std::size_t bufferBytes, const char* what)
{
    if (offset > bufferBytes || hostBytes > bufferBytes - offset)
        throw UsageError(strCat(what, " of ", hostBytes, " bytes at offset ", offset,
                                " does not fit a device buffer of ", bufferBytes, " bytes"));
}

} // namespace

void DeviceBuffer::copyFromHost(std::span<const std::byte> host, std::size_t offset)
{
    checkRange(host.size(), offset, m_bytes, "a copy to the device");
    if (host.empty())
        return;
    QUANTLENS_CUDA_CHECK(
        cudaMemcpy(static_cast<std::byte*>(m_data) + offset, host.data(), host.size(), cudaMemcpyHostToDevice));
    // From pageable memory cudaMemcpy may return once the data is staged, before the DMA lands; our
    // kernels run on non-blocking streams, which do not wait for the legacy default stream. Wait
    // here, so that a kernel enqueued after upload() always reads the uploaded bytes.
    QUANTLENS_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
}

void DeviceBuffer::copyToHost(std::span<std::byte> host, std::size_t offset) const
{
    checkRange(host.size(), offset, m_bytes, "a copy from the device");
    if (host.empty())
        return;
    QUANTLENS_CUDA_CHECK(
        cudaMemcpy(host.data(), static_cast<const std::byte*>(m_data) + offset, host.size(), cudaMemcpyDeviceToHost));
}

void DeviceBuffer::fill(std::uint8_t byte)
{
    if (m_bytes > 0)
        QUANTLENS_CUDA_CHECK(cudaMemset(m_data, byte, m_bytes));
}

} // namespace quantlens::gpu
