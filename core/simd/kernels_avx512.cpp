// The avx512 copy of the kernels (kernels_impl.h). Every header goes before the target pragma, so
// that only this file's own functions are built for the wider instruction set; a library inline
// function built here would otherwise be shared with baseline code by the linker.
#include "core/metrics/magnitude_histogram.h"
#include "core/quant/bnb_tables.h"
#include "core/simd/kernels.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt")
#define QUANTLENS_KERNEL_NAMESPACE avx512
#define QUANTLENS_KERNEL_LEVEL 2
#define QUANTLENS_KERNEL_WIDTH 16
#include "core/simd/kernels_impl.h"
#pragma GCC pop_options

#define QUANTLENS_HAS_AVX512_KERNELS 1
#endif
