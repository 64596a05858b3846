#pragma once

// The bitsandbytes code tables and scalar decision functions, written once for the whole project
// and compiled by both g++ (core/quant) and nvcc (gpu/src kernels), as ggml's src/ggml-common.h
// serves C and CUDA. Source: bitsandbytes-foundation/bitsandbytes at 95f9af3, csrc/kernels.cu
// (dQuantizeNF4, dQuantizeFP4, dQuantize<0>, the NF4 table in dDequantizeNF4) and
// bitsandbytes/functional.py (create_dynamic_map). bitsandbytes repeats the NF4 table four times;
// here it lives only in this header. No std:: containers, so that device code can use it.

#include <cstdint>

#if defined(__CUDACC__)
#define QUANTLENS_HOST_DEVICE __host__ __device__
#else
#define QUANTLENS_HOST_DEVICE
#endif

namespace quantlens::core {

// NF4 levels by 4-bit index (bitsandbytes' fp32 literals; tests/data/bnb-vectors/codes/nf4.bin).
inline constexpr float kNf4Code[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

// The literal thresholds of dQuantizeNF4's tree; kNf4Threshold[i] separates codes i and i+1. They
// are close to, but not always bit-equal to, the fp32 midpoints of kNf4Code: the tree is the truth.
inline constexpr float kNf4Threshold[15] = {
    -0.8480964004993439f,  -0.6106329262256622f,   -0.4599952697753906f, -0.33967943489551544f, -0.23460740596055984f,
    -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f, 0.1202552504837513f,   0.2035212516784668f,
    0.2920137718319893f,   0.3893125355243683f,    0.5016634166240692f,  0.6427869200706482f,   0.8614784181118011f,
};

// bitsandbytes' FP4 (1 sign bit, 3 magnitude bits, normalised by 12) by 4-bit index; bit 3 is
// the sign. Index 8 is -0.0: the kernels decode (lut[q & 7] * sign) * absmax, which gives -0.0 for
// code 0b1000 (the golden dequant.bin has it), although the Python-side table quant_state.code
// (tests/data/bnb-vectors/codes/fp4.bin) holds +0.0 there.
inline constexpr float kFp4Code[16] = {
    0.0f,
    0.0052083334885537624f,
    0.6666666865348816f,
    1.0f,
    0.3333333432674408f,
    0.5f,
    0.1666666716337204f,
    0.25f,
    -0.0f,
    -0.0052083334885537624f,
    -0.6666666865348816f,
    -1.0f,
    -0.3333333432674408f,
    -0.5f,
    -0.1666666716337204f,
    -0.25f,
};

// The literal thresholds of dQuantizeFP4's tree on |x|, ascending: 1/384, 11/128, 5/24, 7/24,
// 5/12, 7/12, 5/6 as bitsandbytes writes them (rounded decimals, not the exact fractions).
inline constexpr float kFp4Threshold[7] = {
    0.00260417f, 0.0859375f, 0.20833333f, 0.29166667f, 0.4166667f, 0.583333f, 0.8333333f,
};

// The signed 8-bit dynamic map, create_dynamic_map(signed=True, max_exponent_bits=7,
// total_bits=8), sorted ascending, exactly as torch computes it in fp32 (copied from
// tests/data/bnb-vectors/codes/dynamic.bin; recomputing it in double gives ~50 entries one ulp
// away). Index 127 is 0, index 255 is 1.0; there is no -1.0.
inline constexpr float kDynamicCode[256]
    = {-0x1.fc6666p-1f,  -0x1.f53334p-1f,  -0x1.eep-1f,      -0x1.e6ccccp-1f,  -0x1.df999ap-1f,  -0x1.d86666p-1f,
       -0x1.d13334p-1f,  -0x1.cap-1f,      -0x1.c2ccccp-1f,  -0x1.bb999ap-1f,  -0x1.b46666p-1f,  -0x1.ad3334p-1f,
       -0x1.a6p-1f,      -0x1.9eccccp-1f,  -0x1.97999ap-1f,  -0x1.906666p-1f,  -0x1.893334p-1f,  -0x1.82p-1f,
       -0x1.7accccp-1f,  -0x1.73999ap-1f,  -0x1.6c6668p-1f,  -0x1.653334p-1f,  -0x1.5ep-1f,      -0x1.56ccccp-1f,
       -0x1.4f999ap-1f,  -0x1.486668p-1f,  -0x1.413334p-1f,  -0x1.3ap-1f,      -0x1.32ccccp-1f,  -0x1.2b999ap-1f,
       -0x1.246668p-1f,  -0x1.1d3334p-1f,  -0x1.16p-1f,      -0x1.0eccccp-1f,  -0x1.079998p-1f,  -0x1.006666p-1f,
       -0x1.f26664p-2f,  -0x1.e4p-2f,      -0x1.d59998p-2f,  -0x1.c73334p-2f,  -0x1.b8ccccp-2f,  -0x1.aa6666p-2f,
       -0x1.9cp-2f,      -0x1.8d9998p-2f,  -0x1.7f3334p-2f,  -0x1.70ccccp-2f,  -0x1.626666p-2f,  -0x1.54p-2f,
       -0x1.459998p-2f,  -0x1.373334p-2f,  -0x1.28ccccp-2f,  -0x1.1a6668p-2f,  -0x1.0cp-2f,      -0x1.fb3332p-3f,
       -0x1.de6666p-3f,  -0x1.c1999ap-3f,  -0x1.a4ccccp-3f,  -0x1.88p-3f,      -0x1.6b3334p-3f,  -0x1.4e6666p-3f,
       -0x1.31999ap-3f,  -0x1.14ccccp-3f,  -0x1.fp-4f,       -0x1.b66668p-4f,  -0x1.93d70ap-4f,  -0x1.8851eep-4f,
       -0x1.7ccccep-4f,  -0x1.7147aep-4f,  -0x1.65c29p-4f,   -0x1.5a3d7p-4f,   -0x1.4eb854p-4f,  -0x1.433334p-4f,
       -0x1.37ae14p-4f,  -0x1.2c28f6p-4f,  -0x1.20a3d6p-4f,  -0x1.151ebap-4f,  -0x1.09999ap-4f,  -0x1.fc28f6p-5f,
       -0x1.e51ebap-5f,  -0x1.ce147ap-5f,  -0x1.b70a3ep-5f,  -0x1.ap-5f,       -0x1.88f5c2p-5f,  -0x1.71eb86p-5f,
       -0x1.5ae146p-5f,  -0x1.43d70ap-5f,  -0x1.2ccccep-5f,  -0x1.15c29p-5f,   -0x1.fd70a4p-6f,  -0x1.cf5c2ap-6f,
       -0x1.a147aep-6f,  -0x1.733334p-6f,  -0x1.451ebap-6f,  -0x1.170a3ep-6f,  -0x1.d1eb86p-7f,  -0x1.75c29p-7f,
       -0x1.3e76c8p-7f,  -0x1.2c083p-7f,   -0x1.19999ap-7f,  -0x1.072b02p-7f,  -0x1.e978d4p-8f,  -0x1.c49ba6p-8f,
       -0x1.9fbe76p-8f,  -0x1.7ae148p-8f,  -0x1.56041ap-8f,  -0x1.3126e8p-8f,  -0x1.0c49bap-8f,  -0x1.ced914p-9f,
       -0x1.851eb8p-9f,  -0x1.3b645ap-9f,  -0x1.e353f8p-10f, -0x1.4fdf3ap-10f, -0x1.eecbfep-11f, -0x1.b3d07cp-11f,
       -0x1.78d5p-11f,   -0x1.3dd982p-11f, -0x1.02de02p-11f, -0x1.8fc506p-12f, -0x1.19ce0ap-12f, -0x1.47ae16p-13f,
       -0x1.743e96p-14f, -0x1.15df66p-14f, -0x1.6f0068p-15f, -0x1.64840cp-16f, -0x1.040bfep-17f, -0x1.b43528p-19f,
       -0x1.27476ep-21f, 0x0p+0f,          0x1.27476ep-21f,  0x1.b43528p-19f,  0x1.040bfep-17f,  0x1.64840cp-16f,
       0x1.6f0068p-15f,  0x1.15df66p-14f,  0x1.743e96p-14f,  0x1.47ae16p-13f,  0x1.19ce0ap-12f,  0x1.8fc506p-12f,
       0x1.02de02p-11f,  0x1.3dd982p-11f,  0x1.78d5p-11f,    0x1.b3d07cp-11f,  0x1.eecbfep-11f,  0x1.4fdf3ap-10f,
       0x1.e353f8p-10f,  0x1.3b645ap-9f,   0x1.851eb8p-9f,   0x1.ced914p-9f,   0x1.0c49bap-8f,   0x1.3126e8p-8f,
       0x1.56041ap-8f,   0x1.7ae148p-8f,   0x1.9fbe76p-8f,   0x1.c49ba6p-8f,   0x1.e978d4p-8f,   0x1.072b02p-7f,
       0x1.19999ap-7f,   0x1.2c083p-7f,    0x1.3e76c8p-7f,   0x1.75c29p-7f,    0x1.d1eb86p-7f,   0x1.170a3ep-6f,
       0x1.451ebap-6f,   0x1.733334p-6f,   0x1.a147aep-6f,   0x1.cf5c2ap-6f,   0x1.fd70a4p-6f,   0x1.15c29p-5f,
       0x1.2ccccep-5f,   0x1.43d70ap-5f,   0x1.5ae146p-5f,   0x1.71eb86p-5f,   0x1.88f5c2p-5f,   0x1.ap-5f,
       0x1.b70a3ep-5f,   0x1.ce147ap-5f,   0x1.e51ebap-5f,   0x1.fc28f6p-5f,   0x1.09999ap-4f,   0x1.151ebap-4f,
       0x1.20a3d6p-4f,   0x1.2c28f6p-4f,   0x1.37ae14p-4f,   0x1.433334p-4f,   0x1.4eb854p-4f,   0x1.5a3d7p-4f,
       0x1.65c29p-4f,    0x1.7147aep-4f,   0x1.7ccccep-4f,   0x1.8851eep-4f,   0x1.93d70ap-4f,   0x1.b66668p-4f,
       0x1.fp-4f,        0x1.14ccccp-3f,   0x1.31999ap-3f,   0x1.4e6666p-3f,   0x1.6b3334p-3f,   0x1.88p-3f,
       0x1.a4ccccp-3f,   0x1.c1999ap-3f,   0x1.de6666p-3f,   0x1.fb3332p-3f,   0x1.0cp-2f,       0x1.1a6668p-2f,
       0x1.28ccccp-2f,   0x1.373334p-2f,   0x1.459998p-2f,   0x1.54p-2f,       0x1.626666p-2f,   0x1.70ccccp-2f,
       0x1.7f3334p-2f,   0x1.8d9998p-2f,   0x1.9cp-2f,       0x1.aa6666p-2f,   0x1.b8ccccp-2f,   0x1.c73334p-2f,
       0x1.d59998p-2f,   0x1.e4p-2f,       0x1.f26664p-2f,   0x1.006666p-1f,   0x1.079998p-1f,   0x1.0eccccp-1f,
       0x1.16p-1f,       0x1.1d3334p-1f,   0x1.246668p-1f,   0x1.2b999ap-1f,   0x1.32ccccp-1f,   0x1.3ap-1f,
       0x1.413334p-1f,   0x1.486668p-1f,   0x1.4f999ap-1f,   0x1.56ccccp-1f,   0x1.5ep-1f,       0x1.653334p-1f,
       0x1.6c6668p-1f,   0x1.73999ap-1f,   0x1.7accccp-1f,   0x1.82p-1f,       0x1.893334p-1f,   0x1.906666p-1f,
       0x1.97999ap-1f,   0x1.9eccccp-1f,   0x1.a6p-1f,       0x1.ad3334p-1f,   0x1.b46666p-1f,   0x1.bb999ap-1f,
       0x1.c2ccccp-1f,   0x1.cap-1f,       0x1.d13334p-1f,   0x1.d86666p-1f,   0x1.df999ap-1f,   0x1.e6ccccp-1f,
       0x1.eep-1f,       0x1.f53334p-1f,   0x1.fc6666p-1f,   0x1p+0f};

// dQuantizeNF4: the midpoint tree on x = value / absmax. A value equal to a threshold goes down.
// NaN (an all-zero block gives 0 * inf) fails every comparison and lands on code 0 (-1.0).
QUANTLENS_HOST_DEVICE inline std::uint8_t quantizeNf4Value(float x)
{
    if (x > 0.03979014977812767f) {
        if (x > 0.3893125355243683f) {
            if (x > 0.6427869200706482f)
                return x > 0.8614784181118011f ? 0b1111 : 0b1110;
            return x > 0.5016634166240692f ? 0b1101 : 0b1100;
        }
        if (x > 0.2035212516784668f)
            return x > 0.2920137718319893f ? 0b1011 : 0b1010;
        return x > 0.1202552504837513f ? 0b1001 : 0b1000;
    }
    if (x > -0.33967943489551544f) {
        if (x > -0.13791173323988914f)
            return x > -0.045525018125772476f ? 0b0111 : 0b0110;
        return x > -0.23460740596055984f ? 0b0101 : 0b0100;
    }
    if (x > -0.6106329262256622f)
        return x > -0.4599952697753906f ? 0b0011 : 0b0010;
    return x > -0.8480964004993439f ? 0b0001 : 0b0000;
}

// dQuantizeFP4: the sign from x < 0, then the tree on |x| with strict comparisons. -0.0 and NaN
// get sign 0. bitsandbytes' kernels run with flush-to-zero, so a negative subnormal reads as -0.0
// and gets sign 0 too (boundaries_4bit in the golden vectors): hence -FLT_MIN, not 0, below.
QUANTLENS_HOST_DEVICE inline std::uint8_t quantizeFp4Value(float x)
{
    const std::uint8_t sign = x <= -0x1p-126f ? 0b1000 : 0b0000;
    const float a = x < 0.0f ? -x : x;
    std::uint8_t magnitude;
    if (a > 0.29166667f) {
        if (a > 0.583333f)
            magnitude = a > 0.8333333f ? 0b011 : 0b010;
        else
            magnitude = a > 0.4166667f ? 0b101 : 0b100;
    } else if (a > 0.0859375f) {
        magnitude = a > 0.20833333f ? 0b111 : 0b110;
    } else {
        magnitude = a > 0.00260417f ? 0b001 : 0b000;
    }
    return static_cast<std::uint8_t>(sign | magnitude);
}

// dQuantize<0> (non-stochastic): a 7-step binary search from pivot 127 over a sorted 256-entry
// code, then the nearer of the two neighbours by their fp32 midpoint (ties go towards the pivot).
// `code` is a parameter, not kDynamicCode, so that kernels can pass their shared-memory copy.
QUANTLENS_HOST_DEVICE inline std::uint8_t quantizeDynamicValue(const float* code, float x)
{
    int pivot = 127;
    int upperPivot = 255;
    int lowerPivot = 0;
    float lower = -1.0f;
    float upper = 1.0f;
    float value = code[pivot];
    for (int step = 64; step > 0; step >>= 1) {
        if (x > value) {
            lowerPivot = pivot;
            lower = value;
            pivot += step;
        } else {
            upperPivot = pivot;
            upper = value;
            pivot -= step;
        }
        value = code[pivot];
    }
    if (upperPivot == 255)
        upper = code[upperPivot];
    if (lowerPivot == 0)
        lower = code[lowerPivot];
    if (x > value) {
        const float midpoint = (upper + value) * 0.5f;
        return static_cast<std::uint8_t>(x > midpoint ? upperPivot : pivot);
    }
    const float midpoint = (lower + value) * 0.5f;
    return static_cast<std::uint8_t>(x < midpoint ? lowerPivot : pivot);
}

} // namespace quantlens::core
