#include "core/io/float_convert.h"

#include "core/simd/instruction_set.h"

#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QUANTLENS_X86_DISPATCH 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace quantlens::core {

namespace {

template <typename T> T loadUnaligned(const std::byte* p)
{
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
}

template <typename T> void integersToFloat(std::span<const std::byte> in, std::span<float> out)
{
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<float>(loadUnaligned<T>(in.data() + i * sizeof(T)));
}

#if QUANTLENS_X86_DISPATCH

// The hardware prefetcher alone leaves a BF16 stream from the page cache at about 70% of pread's
// speed on the Zen 4 we measured; asking for the line 8 KiB ahead brings it to 85-90%
// (tests/benchmarks/io_bench; 2, 16 and 64 KiB measured worse). A prefetch never faults, and the
// address is formed as an integer, so running past the end of the input is harmless.
constexpr std::uintptr_t kPrefetchAhead = 8192;

inline void prefetchAhead(const std::byte* p)
{
    _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + kPrefetchAhead), _MM_HINT_T0);
}

// Each returns how many leading elements it converted (a multiple of its step); the caller finishes.
std::size_t bf16Sse2(const std::byte* in, float* out, std::size_t n)
{
    // Interleaving zero words below each bf16 word is exactly bits << 16, 8 values per step.
    const __m128i zero = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        prefetchAhead(in + 2 * i);
        for (std::size_t k = i; k < i + 32; k += 8) {
            const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * k));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), _mm_unpacklo_epi16(zero, h));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k + 4), _mm_unpackhi_epi16(zero, h));
        }
    }
    return i;
}

__attribute__((target("avx2"))) std::size_t bf16Avx2(const std::byte* in, float* out, std::size_t n)
{
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) { // one 64-byte input line per step
        prefetchAhead(in + 2 * i);
        for (std::size_t k = i; k < i + 32; k += 8) {
            const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * k)));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k), _mm256_slli_epi32(w, 16));
        }
    }
    return i;
}

// vcvtph2ps is exact for every half, and quiets signalling NaNs as fp16ToFloat does.
__attribute__((target("avx2,f16c"))) std::size_t fp16F16c(const std::byte* in, float* out, std::size_t n)
{
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        prefetchAhead(in + 2 * i);
        for (std::size_t k = i; k < i + 32; k += 8)
            _mm256_storeu_ps(out + k, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * k))));
    }
    return i;
}

ConvertPath detectConvertPath()
{
    // Called from a function-local static, possibly while other files' statics are being built:
    // make sure the CPU table __builtin_cpu_supports reads is filled in.
    __builtin_cpu_init();
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    // __builtin_cpu_supports("avx2") includes the OS check (XGETBV); clang 14 knows no "f16c", so
    // that bit is read from CPUID leaf 1 (ECX bit 29).
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    return __builtin_cpu_supports("avx2") && f16c ? ConvertPath::Avx2 : ConvertPath::Sse2;
}

#else

ConvertPath detectConvertPath()
{
    return ConvertPath::Scalar;
}

#endif

void checkPath(ConvertPath path)
{
    if (static_cast<int>(path) > static_cast<int>(bestConvertPath()))
        throw UnsupportedError(strCat("the ", convertPathName(path), " conversion is not available on this CPU (best: ",
                                      convertPathName(bestConvertPath()), ")"));
}

} // namespace

ConvertPath bestConvertPath()
{
    static const ConvertPath best = detectConvertPath();
    return best;
}

const char* convertPathName(ConvertPath path)
{
    switch (path) {
    case ConvertPath::Scalar:
        return "scalar";
    case ConvertPath::Sse2:
        return "SSE2";
    case ConvertPath::Avx2:
        return "AVX2";
    }
    return "?";
}

void bf16RowToFloat(std::span<const std::byte> in, std::span<float> out, ConvertPath path)
{
    checkPath(path);
    std::size_t i = 0;
#if QUANTLENS_X86_DISPATCH
    if (path == ConvertPath::Avx2)
        i = bf16Avx2(in.data(), out.data(), out.size());
    else if (path == ConvertPath::Sse2)
        i = bf16Sse2(in.data(), out.data(), out.size());
#endif
    for (; i < out.size(); ++i)
        out[i] = bf16ToFloat(loadUnaligned<std::uint16_t>(in.data() + 2 * i));
}

void fp16RowToFloat(std::span<const std::byte> in, std::span<float> out, ConvertPath path)
{
    checkPath(path);
    std::size_t i = 0;
#if QUANTLENS_X86_DISPATCH
    if (path == ConvertPath::Avx2)
        i = fp16F16c(in.data(), out.data(), out.size());
#endif
    for (; i < out.size(); ++i)
        out[i] = fp16ToFloat(loadUnaligned<std::uint16_t>(in.data() + 2 * i));
}

ConvertPath activeConvertPath()
{
    // The kernels' instruction set (core/simd/instruction_set.h) caps the conversions too, so that
    // QUANTLENS_ISA=baseline or bench's per-set rows run the baseline decode as well.
    if (activeInstructionSet() == InstructionSet::Baseline && bestConvertPath() == ConvertPath::Avx2)
        return ConvertPath::Sse2;
    return bestConvertPath();
}

void bf16RowToFloat(std::span<const std::byte> in, std::span<float> out)
{
    bf16RowToFloat(in, out, activeConvertPath());
}

void fp16RowToFloat(std::span<const std::byte> in, std::span<float> out)
{
    fp16RowToFloat(in, out, activeConvertPath());
}

float fp8E4m3ToFloat(std::uint8_t bits)
{
    const float sign = (bits & 0x80u) ? -1.0f : 1.0f;
    const int exponent = (bits >> 3) & 0xf;
    const int mantissa = bits & 0x7;
    if (exponent == 0xf && mantissa == 0x7)
        return std::numeric_limits<float>::quiet_NaN();
    if (exponent == 0)
        return sign * std::ldexp(static_cast<float>(mantissa), -9); // subnormal: m/8 * 2^-6
    return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
}

float fp8E5m2ToFloat(std::uint8_t bits)
{
    // E5M2 is the top byte of an IEEE half.
    return fp16ToFloat(static_cast<std::uint16_t>(bits << 8));
}

void plainRowToFloat(DType type, std::span<const std::byte> in, std::span<float> out)
{
    switch (type) {
    case DType::F32:
        std::memcpy(out.data(), in.data(), out.size() * sizeof(float));
        return;
    case DType::BF16:
        bf16RowToFloat(in, out);
        return;
    case DType::F16:
        fp16RowToFloat(in, out);
        return;
    case DType::F64:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<float>(loadUnaligned<double>(in.data() + 8 * i));
        return;
    case DType::F8_E4M3:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = fp8E4m3ToFloat(static_cast<std::uint8_t>(in[i]));
        return;
    case DType::F8_E5M2:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = fp8E5m2ToFloat(static_cast<std::uint8_t>(in[i]));
        return;
    case DType::I64:
        integersToFloat<std::int64_t>(in, out);
        return;
    case DType::I32:
        integersToFloat<std::int32_t>(in, out);
        return;
    case DType::I16:
        integersToFloat<std::int16_t>(in, out);
        return;
    case DType::I8:
        integersToFloat<std::int8_t>(in, out);
        return;
    case DType::U8:
        integersToFloat<std::uint8_t>(in, out);
        return;
    case DType::BOOL:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = in[i] != std::byte {0} ? 1.0f : 0.0f;
        return;
    default:
        break;
    }
    throw UnsupportedError(strCat("conversion of ", dtypeName(type), " to float is not a plain element conversion"));
}

} // namespace quantlens::core
