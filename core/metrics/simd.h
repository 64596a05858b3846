#pragma once

#include <cstdint>
#include <cstring>

// Four-lane vectors through GCC's vector extensions (Clang has them too): one SSE register on the
// x86-64 baseline, NEON on ARM, plain code elsewhere. Auto-vectorisation at -O2 does not reorder
// the float sums the metric loops are made of, so the lanes are spelled out. Wider vectors would
// change the calling convention without -mavx (GCC's -Wpsabi), and the loops run several
// independent sums per iteration anyway.
namespace quantlens::core::simd {

using Float4 = float __attribute__((vector_size(16)));
using Int4 = std::int32_t __attribute__((vector_size(16)));
using UInt4 = std::uint32_t __attribute__((vector_size(16)));

inline constexpr std::size_t kWidth = 4;

inline Float4 load(const float* p)
{
    Float4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline UInt4 bits(Float4 v)
{
    UInt4 u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

inline Float4 abs(Float4 v)
{
    const UInt4 u = bits(v) & 0x7fffffffu;
    Float4 r;
    std::memcpy(&r, &u, sizeof r);
    return r;
}

inline Float4 max(Float4 a, Float4 b)
{
    return a > b ? a : b;
}

inline Float4 min(Float4 a, Float4 b)
{
    return a < b ? a : b;
}

inline Float4 broadcast(float x)
{
    return Float4 {x, x, x, x};
}

inline double sum(Float4 v)
{
    double s = 0.0;
    for (std::size_t i = 0; i < kWidth; ++i)
        s += double(v[i]);
    return s;
}

inline float horizontalMax(Float4 v)
{
    float m = v[0];
    for (std::size_t i = 1; i < kWidth; ++i)
        m = v[i] > m ? v[i] : m;
    return m;
}

inline float horizontalMin(Float4 v)
{
    float m = v[0];
    for (std::size_t i = 1; i < kWidth; ++i)
        m = v[i] < m ? v[i] : m;
    return m;
}

} // namespace quantlens::core::simd
