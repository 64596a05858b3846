#pragma once

#include "core/simd/instruction_set.h"

#include <cstddef>
#include <cstdint>

// The hot loops of the scan, built once per instruction set (kernels_baseline.cpp,
// kernels_avx2.cpp, kernels_avx512.cpp from the one source kernels_impl.h) and chosen at run time.
// Every path computes the same float operations in the same order - sums in 16 fixed lanes, no
// fused multiply-add (the files are built with -ffp-contract=off) - so the bits never depend on the
// machine. Callers go through kernels(); tests and benchmarks name a path with kernelsFor().
namespace quantlens::core::kernels {

inline constexpr std::size_t kLanes = 16;

// Partial sums of one sub-block of error pairs, lane k holding the elements i with i % 16 == k.
struct ErrorLanes {
    float squaredError[kLanes];
    float absError[kLanes];
    float squaredOriginal[kLanes];
    float squaredReconstructed[kLanes];
    float product[kLanes];
    float maxAbs[kLanes];
    float minAbs[kLanes];
};

struct Kernels {
    InstructionSet set = InstructionSet::Baseline;

    // n <= 256 pairs (x, q): the lanes of (q - x)^2, |q - x|, x^2, q^2, x q, max and min |q - x|, and
    // each |q - x|'s MagnitudeHistogram bin in bins[0, n).
    void (*errorSubBlock)(const float* x, const float* q, std::size_t n, ErrorLanes& lanes, std::uint32_t* bins)
        = nullptr;
    // n values: ValueHistogram's bin of each, min(max((v - lo) * scale, 0), last) truncated,
    // and `spare` for a non-finite value.
    void (*valueBins)(const float* v, std::size_t n, float lo, float scale, float last, std::uint32_t spare,
                      std::uint32_t* bins)
        = nullptr;
    // The smallest and largest of n values, NaN ignored (infinities are not).
    void (*minMax)(const float* v, std::size_t n, float& lo, float& hi) = nullptr;

    // bitsandbytes' 4-bit blockwise quantization of `blocks` whole blocks (blocksize a multiple of
    // 8): absmax per block and two codes per byte, as core/quant/bnb_4bit_reference.cpp gives them.
    // type: 0 NF4, 1 FP4.
    void (*quantize4bit)(int type, const float* in, std::size_t blocks, std::uint32_t blocksize, std::uint8_t* packed,
                         float* absmax)
        = nullptr;
    // bytes packed bytes -> 2 * bytes values through a table of the 16 codes already scaled.
    void (*dequantize4bit)(const float* scaledCodes, const std::uint8_t* packed, std::size_t bytes, float* out)
        = nullptr;

    // bitsandbytes' dynamic 8-bit map: the code of each x[i] * inverse in the 256 ascending values of
    // `code`, as dQuantize<0> finds it (a 7-step binary search, then the nearer neighbour).
    void (*quantizeDynamic8)(const float* code, const float* x, std::size_t n, float inverse, std::uint8_t* out)
        = nullptr;
    // out[i] = code[codes[i]] * absmax.
    void (*dequantizeDynamic8)(const float* code, const std::uint8_t* codes, std::size_t n, float absmax, float* out)
        = nullptr;

    // ggml's make_qkx2_quants on 16 groups at once (lane k is group k): xT and wT hold the groups'
    // n <= 32 values and weights transposed, element i of group k at [i * 16 + k]; LT receives the
    // levels the same way, and scales[k], mins[k] what make_qkx2_quants returns and stores.
    void (*qkx2Quants16)(const float* xT, const float* wT, int n, int nmax, float rmin, float rdelta, int nstep,
                         bool useMad, std::uint8_t* LT, float* scales, float* mins)
        = nullptr;
    // ggml's make_qx_quants with rmse_type 1 (weights x^2), 16 groups at once, laid out as above;
    // LT receives l + nmax.
    void (*qxQuants16)(const float* xT, int n, int nmax, std::int8_t* LT, float* scales) = nullptr;
    // ggml's make_q3_quants with do_rmse, 16 groups at once, laid out as above; LT receives l + nmax.
    void (*q3Quants16)(const float* xT, int n, int nmax, std::int8_t* LT, float* scales) = nullptr;
};

// The kernels of the active instruction set (activeInstructionSet()).
const Kernels& kernels();
// The kernels of a given set; throws UnsupportedError when this CPU lacks it.
const Kernels& kernelsFor(InstructionSet set);

} // namespace quantlens::core::kernels
