// The baseline copy of the kernels (kernels_impl.h). Every header goes before the target pragma, so
// that only this file's own functions are built for the wider instruction set; a library inline
// function built here would otherwise be shared with baseline code by the linker.
#include "core/metrics/magnitude_histogram.h"
#include "core/quant/bnb_tables.h"
#include "core/simd/kernels.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#define QUANTLENS_KERNEL_NAMESPACE baseline
#define QUANTLENS_KERNEL_LEVEL 0
#define QUANTLENS_KERNEL_WIDTH 4
#include "core/simd/kernels_impl.h"
