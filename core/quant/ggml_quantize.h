#pragma once

#include "core/model/tensor_info.h"

#include <cstddef>
#include <span>

// ggml's reference quantizers (ggml-org/ggml src/ggml-quants.c quantize_row_*_ref, no importance
// matrix), ported with their float/double arithmetic and rounding helpers so the bytes match
// ggml's. Pure functions over spans: thread-safe, no allocation.
namespace quantlens::core {

// Quantizes `in` to `type` blocks in `out`. in.size() must be a multiple of the type's block
// elements and out.size() exactly the bytes they take (quantlens::Error otherwise). Types:
// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K; others throw
// UnsupportedError naming the type.
void quantizeGgml(DType type, std::span<const float> in, std::span<std::byte> out);

// One function per format, named after ggml's quantize_row_*_ref; same size contract as above.
void quantizeRowQ4_0Ref(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ4_1Ref(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ5_0Ref(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ5_1Ref(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ8_0Ref(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ2KRef(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ3KRef(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ4KRef(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ5KRef(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ6KRef(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ8KRef(std::span<const float> in, std::span<std::byte> out);

// The same bytes as the Ref functions, faster: the scale searches of 16 groups run at once on the
// kernels of the active instruction set (core/simd/kernels.h). quantizeGgml uses these.
void quantizeRowQ2K(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ3K(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ4K(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ5K(std::span<const float> in, std::span<std::byte> out);
void quantizeRowQ6K(std::span<const float> in, std::span<std::byte> out);

} // namespace quantlens::core
