#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

// Device memory and streams for the rest of QuantLens, in plain C++ (no CUDA headers). Memory is
// always plain cudaMalloc memory, never managed memory (a managed allocation larger than the card
// can stall the whole GPU), and is owned by RAII objects so that every error path frees it.
namespace quantlens::gpu {

// An asynchronous CUDA stream (created non-blocking). Kernels take a stream and allocate nothing
// behind the caller's back; results become visible on the host after synchronize().
class Stream {
public:
    // Throws UnsupportedError without CUDA, CudaError when the runtime refuses.
    Stream();
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    void synchronize() const;
    // The cudaStream_t, as an opaque pointer for code that includes the CUDA headers.
    void* handle() const { return m_handle; }

private:
    void* m_handle = nullptr;
};

// A block of device memory of a fixed size in bytes. Allocation failures throw an error naming
// the size that was asked for and the memory the device had free.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    // Throws UnsupportedError without CUDA, CudaError (out of memory: naming the size) on failure.
    explicit DeviceBuffer(std::size_t bytes);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& other) noexcept;
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* data() { return m_data; }
    const void* data() const { return m_data; }
    std::size_t size() const { return m_bytes; }
    bool empty() const { return m_bytes == 0; }
    template <typename T> T* as() { return static_cast<T*>(m_data); }
    template <typename T> const T* as() const { return static_cast<const T*>(m_data); }

    // Synchronous copies (an upload has landed when it returns, whatever stream a kernel then runs
    // on; a download waits for work on the default stream only: synchronize() the kernel's stream
    // first); UsageError when the host range does not fit at `offset`.
    void copyFromHost(std::span<const std::byte> host, std::size_t offset = 0);
    void copyToHost(std::span<std::byte> host, std::size_t offset = 0) const;
    // Sets every byte (cudaMemset), e.g. to poison an output before a kernel writes it.
    void fill(std::uint8_t byte);

    template <typename T> void upload(std::span<const T> host, std::size_t offset = 0)
    {
        copyFromHost(std::as_bytes(host), offset);
    }
    template <typename T> std::vector<T> download() const
    {
        std::vector<T> host(m_bytes / sizeof(T));
        copyToHost(std::as_writable_bytes(std::span<T>(host)));
        return host;
    }

    // A buffer filled with a copy of `host`.
    template <typename T> static DeviceBuffer fromHost(std::span<const T> host)
    {
        DeviceBuffer buffer(host.size_bytes());
        buffer.upload(host);
        return buffer;
    }

private:
    void release() noexcept;

    void* m_data = nullptr;
    std::size_t m_bytes = 0;
};

} // namespace quantlens::gpu
