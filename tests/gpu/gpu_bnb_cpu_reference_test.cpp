#include "core/quant/bnb_4bit.h"
#include "core/util/float16.h"
#include "gpu/bnb_quantize.h"
#include "gpu_test_support.h"

#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <limits>
#include <ostream>
#include <random>

// The CUDA kernels against the CPU reference (core/quant/bnb_4bit.h, quantize4bitReference) on
// inputs the golden vectors do not cover: every blocksize x type x dtype x DQ, a partial odd last
// block and an all-zero block, several blocks per thread block on the GPU.
namespace quantlens::gpu {
namespace {

using test::asBytes;
using test::firstDifference;

struct ReferenceCase {
    FourBitType type;
    int blocksize;
    bool doubleQuant;
    FloatType dtype;
};

inline void PrintTo(const ReferenceCase& c, std::ostream* os)
{
    *os << (c.type == FourBitType::Nf4 ? "nf4" : "fp4") << " blocksize " << c.blocksize
        << (c.doubleQuant ? " dq " : " ") << floatTypeName(c.dtype);
}

class MatchesCpuReference : public testing::TestWithParam<ReferenceCase> { };

TEST_P(MatchesCpuReference, QuantizeAndDequantizeGiveTheSameBytes)
{
    QUANTLENS_REQUIRE_GPU();
    const ReferenceCase& c = GetParam();
    const std::int64_t n = 5 * 4096 + 777;
    std::mt19937 rng(unsigned(c.blocksize) * 3 + unsigned(c.doubleQuant));
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::vector<float> values(n);
    std::vector<std::uint16_t> halves(n);
    for (std::int64_t i = 0; i < n; ++i) {
        const float v = (i >= c.blocksize && i < 2 * c.blocksize) ? 0.0f : normal(rng); // block 1 all zero
        if (c.dtype == FloatType::BF16) {
            halves[i] = core::floatToBf16(v);
            values[i] = core::bf16ToFloat(halves[i]);
        } else if (c.dtype == FloatType::F16) {
            halves[i] = core::floatToFp16(v);
            values[i] = core::fp16ToFloat(halves[i]);
        } else {
            values[i] = v;
        }
    }
    core::Bnb4BitOptions options;
    options.type = c.type == FourBitType::Nf4 ? core::FourBitType::Nf4 : core::FourBitType::Fp4;
    options.blocksize = std::uint32_t(c.blocksize);
    options.doubleQuant = c.doubleQuant;
    const core::Bnb4BitTensor cpu = core::quantize4bitReference(values, options);
    std::vector<float> cpuOut(n);
    core::dequantize4bitReference(cpu, cpuOut);

    Stream stream;
    const DeviceBuffer input = c.dtype == FloatType::F32
        ? DeviceBuffer::fromHost(std::span<const float>(values))
        : DeviceBuffer::fromHost(std::span<const std::uint16_t>(halves));
    FourBitTensor q = allocateFourBit(n, c.blocksize, c.type, c.doubleQuant);
    quantize4bit(stream, input, c.dtype, q);
    stream.synchronize();
    EXPECT_EQ(firstDifference(asBytes(cpu.packed), asBytes(q.packed.download<std::uint8_t>())), "");
    EXPECT_EQ(firstDifference(asBytes(cpu.absmax), asBytes(q.absmax.download<float>()), 4), "");
    if (c.doubleQuant) {
        const float gpuOffset = q.offset.download<float>().at(0);
        // Both sum in double and round once; only the order of the double additions differs.
        EXPECT_LE(
            std::abs(std::bit_cast<std::int32_t>(gpuOffset) - std::bit_cast<std::int32_t>(cpu.doubleQuant->offset)), 1);
        quantize4bit(stream, input, c.dtype, q, cpu.doubleQuant->offset);
        stream.synchronize();
        EXPECT_EQ(
            firstDifference(asBytes(cpu.doubleQuant->absmaxCodes), asBytes(q.absmaxCodes.download<std::uint8_t>())),
            "");
        EXPECT_EQ(firstDifference(asBytes(cpu.doubleQuant->nestedAbsmax), asBytes(q.nestedAbsmax.download<float>()), 4),
                  "");
    }
    DeviceBuffer out(std::size_t(n) * 4);
    out.fill(0xff);
    dequantize4bit(stream, q, FloatType::F32, out);
    stream.synchronize();
    EXPECT_EQ(firstDifference(asBytes(cpuOut), asBytes(out.download<float>()), 4), "");
}

std::vector<ReferenceCase> allCases()
{
    std::vector<ReferenceCase> cases;
    for (FourBitType type : {FourBitType::Nf4, FourBitType::Fp4})
        for (int blocksize = 32; blocksize <= 4096; blocksize *= 2)
            for (bool dq : {false, true})
                for (FloatType dtype : {FloatType::F32, FloatType::F16, FloatType::BF16})
                    cases.push_back({type, blocksize, dq, dtype});
    return cases;
}

INSTANTIATE_TEST_SUITE_P(AllFormats, MatchesCpuReference, testing::ValuesIn(allCases()),
                         [](const testing::TestParamInfo<ReferenceCase>& info) {
                             const ReferenceCase& c = info.param;
                             return std::string(c.type == FourBitType::Nf4 ? "Nf4" : "Fp4") + "Bs"
                                 + std::to_string(c.blocksize) + (c.doubleQuant ? "Dq" : "") + floatTypeName(c.dtype);
                         });

// bitsandbytes' absmax of a block with no finite value: -FLT_MAX for a whole block (fmaxf skips
// NaN), 0 for a partial last block (the load pads it with zeros), as the CPU quantizers give.
TEST(MatchesCpuReference, AllNanBlocksGetBitsandbytesAbsmax)
{
    QUANTLENS_REQUIRE_GPU();
    const int blocksize = 64;
    for (const std::int64_t tail : {10, 16}) { // blocks 1 and 3 (partial) all NaN
        const std::int64_t n = 3 * blocksize + tail;
        std::vector<float> values(std::size_t(n), 0.25f);
        for (std::int64_t i = 0; i < n; ++i)
            if ((i >= blocksize && i < 2 * blocksize) || i >= 3 * blocksize)
                values[std::size_t(i)] = std::numeric_limits<float>::quiet_NaN();
        core::Bnb4BitOptions options;
        options.blocksize = blocksize;
        const core::Bnb4BitTensor cpu = core::quantize4bitReference(values, options);
        ASSERT_EQ(cpu.absmax, (std::vector<float> {0.25f, -FLT_MAX, 0.25f, 0.0f}));
        Stream stream;
        const DeviceBuffer input = DeviceBuffer::fromHost(std::span<const float>(values));
        FourBitTensor q = allocateFourBit(n, blocksize, FourBitType::Nf4, false);
        quantize4bit(stream, input, FloatType::F32, q);
        DynamicTensor d = allocateDynamic(n, blocksize);
        quantizeDynamic(stream, input, FloatType::F32, d);
        stream.synchronize();
        EXPECT_EQ(firstDifference(asBytes(cpu.absmax), asBytes(q.absmax.download<float>()), 4), "");
        EXPECT_EQ(firstDifference(asBytes(cpu.absmax), asBytes(d.absmax.download<float>()), 4), "");
    }
}

} // namespace
} // namespace quantlens::gpu
