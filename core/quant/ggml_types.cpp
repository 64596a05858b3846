#include "core/quant/ggml_types.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <array>

namespace quantlens::core {

namespace {

// ggml-org/ggml include/ggml.h enum ggml_type (ids 4, 5, 31..33 and 36..38 were removed from ggml),
// names and block sizes from src/ggml.c type_traits and src/ggml-common.h. Q8_1 is ggml's
// dot-product partner of Q8_0 and never stored by llama.cpp, so it is listed but not decoded.
// clang-format off
constexpr std::array<GgmlTypeTraits, 32> kTraits {{
    {DType::F32,      0, "f32",       1,   4, true,  true},
    {DType::F16,      1, "f16",       1,   2, true,  true},
    {DType::Q4_0,     2, "q4_0",     32,  18, true,  true},
    {DType::Q4_1,     3, "q4_1",     32,  20, true,  true},
    {DType::Q5_0,     6, "q5_0",     32,  22, true,  true},
    {DType::Q5_1,     7, "q5_1",     32,  24, true,  true},
    {DType::Q8_0,     8, "q8_0",     32,  34, true,  true},
    {DType::Q8_1,     9, "q8_1",     32,  36, false, false},
    {DType::Q2_K,    10, "q2_K",    256,  84, true,  true},
    {DType::Q3_K,    11, "q3_K",    256, 110, true,  true},
    {DType::Q4_K,    12, "q4_K",    256, 144, true,  true},
    {DType::Q5_K,    13, "q5_K",    256, 176, true,  true},
    {DType::Q6_K,    14, "q6_K",    256, 210, true,  true},
    {DType::Q8_K,    15, "q8_K",    256, 292, true,  true},
    {DType::IQ2_XXS, 16, "iq2_xxs", 256,  66, false, false},
    {DType::IQ2_XS,  17, "iq2_xs",  256,  74, false, false},
    {DType::IQ3_XXS, 18, "iq3_xxs", 256,  98, false, false},
    {DType::IQ1_S,   19, "iq1_s",   256,  50, false, false},
    {DType::IQ4_NL,  20, "iq4_nl",   32,  18, false, false},
    {DType::IQ3_S,   21, "iq3_s",   256, 110, false, false},
    {DType::IQ2_S,   22, "iq2_s",   256,  82, false, false},
    {DType::IQ4_XS,  23, "iq4_xs",  256, 136, false, false},
    {DType::I8,      24, "i8",        1,   1, false, false},
    {DType::I16,     25, "i16",       1,   2, false, false},
    {DType::I32,     26, "i32",       1,   4, false, false},
    {DType::I64,     27, "i64",       1,   8, false, false},
    {DType::F64,     28, "f64",       1,   8, false, false},
    {DType::IQ1_M,   29, "iq1_m",   256,  56, false, false},
    {DType::BF16,    30, "bf16",      1,   2, true,  true},
    {DType::TQ1_0,   34, "tq1_0",   256,  54, false, false},
    {DType::TQ2_0,   35, "tq2_0",   256,  66, false, false},
    {DType::MXFP4,   39, "mxfp4",    32,  17, false, false},
}};
// clang-format on

} // namespace

std::span<const GgmlTypeTraits> ggmlTypes()
{
    return kTraits;
}

const GgmlTypeTraits* ggmlTraitsById(std::uint32_t ggmlId)
{
    for (const auto& traits : kTraits) {
        if (traits.ggmlId == ggmlId)
            return &traits;
    }
    return nullptr;
}

const GgmlTypeTraits* ggmlTraitsByDtype(DType type)
{
    for (const auto& traits : kTraits) {
        if (traits.dtype == type)
            return &traits;
    }
    return nullptr;
}

const GgmlTypeTraits& ggmlTraits(DType type)
{
    const GgmlTypeTraits* traits = ggmlTraitsByDtype(type);
    if (traits == nullptr)
        throw UnsupportedError(strCat("dtype ", dtypeName(type), " is not a ggml type"));
    return *traits;
}

std::uint64_t ggmlByteSize(DType type, std::uint64_t elements)
{
    const GgmlTypeTraits& traits = ggmlTraits(type);
    if (elements % traits.blockElements != 0)
        throw Error(strCat(elements, " weights are not a whole number of ", traits.name, " blocks of ",
                           traits.blockElements, " weights"));
    return elements / traits.blockElements * traits.blockBytes;
}

} // namespace quantlens::core
