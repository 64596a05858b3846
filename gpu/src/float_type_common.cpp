#include "gpu/bnb_quantize.h"

namespace quantlens::gpu {

std::size_t floatTypeSize(FloatType type)
{
    return type == FloatType::F32 ? 4 : 2;
}

const char* floatTypeName(FloatType type)
{
    switch (type) {
    case FloatType::F32:
        return "fp32";
    case FloatType::F16:
        return "fp16";
    case FloatType::BF16:
        return "bf16";
    }
    return "?";
}

} // namespace quantlens::gpu
