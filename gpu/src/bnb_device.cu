#include "bnb_device.cuh"

#include "core/quant/bnb_tables.h"
#include "cuda_check.h"

namespace quantlens::gpu::detail {

FourBitCodes fourBitCodes(FourBitType type)
{
    const float* source = type == FourBitType::Nf4 ? core::kNf4Code : core::kFp4Code;
    FourBitCodes codes;
    for (int i = 0; i < 16; ++i)
        codes.values[i] = source[i];
    return codes;
}

FourBitCodes nf4SearchThresholds()
{
    FourBitCodes thresholds;
    thresholds.values[0] = 0.0f; // never read: the search indexes 1 ... 15
    for (int i = 1; i < 16; ++i)
        thresholds.values[i] = core::kNf4Threshold[i - 1];
    return thresholds;
}

DynamicCodes dynamicCodes()
{
    DynamicCodes codes;
    for (int i = 0; i < 256; ++i)
        codes.values[i] = core::kDynamicCode[i];
    return codes;
}

void checkLaunch(const char* kernel)
{
    checkCuda(cudaGetLastError(), kernel);
}

} // namespace quantlens::gpu::detail
