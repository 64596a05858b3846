#include "cuda_check.h"

#include "core/util/str_cat.h"

namespace quantlens::gpu {

CudaError::CudaError(const std::string& call, cudaError_t code)
    : Error(strCat(call, " failed: ", cudaGetErrorName(code), " (", cudaGetErrorString(code), ")"))
    , m_code(code)
{
}

void checkCuda(cudaError_t code, const char* call)
{
    if (code != cudaSuccess) {
        cudaGetLastError(); // clear a sticky-free error so the next call starts clean
        throw CudaError(call, code);
    }
}

} // namespace quantlens::gpu
