#pragma once

#include "core/util/error.h"

#include <cuda_runtime.h>

#include <string>

namespace quantlens::gpu {

// A CUDA call that failed, named, with the runtime's own words. Out-of-memory errors also name the
// size that was asked for (see DeviceBuffer).
class CudaError : public Error {
public:
    CudaError(const std::string& call, cudaError_t code);
    cudaError_t code() const { return m_code; }

private:
    cudaError_t m_code;
};

// Throws CudaError naming `call` unless `code` is cudaSuccess.
void checkCuda(cudaError_t code, const char* call);

} // namespace quantlens::gpu

#define QUANTLENS_CUDA_CHECK(expr) ::quantlens::gpu::checkCuda((expr), #expr)
