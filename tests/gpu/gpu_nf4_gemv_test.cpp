#include "core/quant/bnb_tables.h"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "gpu/nf4_gemv.h"
#include "gpu_test_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <random>

namespace quantlens::gpu {
namespace {

using testing::HasSubstr;
using testing::ThrowsMessage;

struct GemvCase {
    std::int64_t rows;
    std::int64_t cols;
    int batch;
    int blocksize;
    FloatType activation;
    FourBitType type = FourBitType::Nf4;
    GemvKernel kernel = GemvKernel::TensorCore;
};

inline void PrintTo(const GemvCase& c, std::ostream* os)
{
    *os << c.rows << "x" << c.cols << " batch " << c.batch << (c.type == FourBitType::Fp4 ? " FP4" : " NF4")
        << " blocksize " << c.blocksize << " " << floatTypeName(c.activation)
        << (c.kernel == GemvKernel::TensorCore ? " tensor cores" : " CUDA cores");
}

std::string gemvName(const testing::TestParamInfo<GemvCase>& info)
{
    const GemvCase& c = info.param;
    return std::to_string(c.rows) + "x" + std::to_string(c.cols) + "Batch" + std::to_string(c.batch)
        + (c.type == FourBitType::Fp4 ? "Fp4" : "") + "Bs" + std::to_string(c.blocksize) + floatTypeName(c.activation)
        + (c.kernel == GemvKernel::TensorCore ? "TensorCore" : "CudaCore");
}

std::uint16_t toHalfBits(float v, FloatType type)
{
    return type == FloatType::BF16 ? core::floatToBf16(v) : core::floatToFp16(v);
}

float fromHalfBits(std::uint16_t bits, FloatType type)
{
    return type == FloatType::BF16 ? core::bf16ToFloat(bits) : core::fp16ToFloat(bits);
}

class Gemv : public testing::TestWithParam<GemvCase> { };

// y = x W^T against a double-precision product of the weights each kernel multiplies (nf4_gemv.h):
// for the tensor-core kernel with blocksize >= 64, the NF4 code rounded to the activation type
// times the block's absmax (taken from the packed bytes and absmax the quantizer wrote); for
// blocksize 32, the dequantized weight rounded to the activation type; for the CUDA-core kernel,
// the fp32 dequantized weight. The only differences left are fp32 accumulation order and the final
// rounding to 16 bits.
TEST_P(Gemv, MatchesADoublePrecisionProductOfTheWeightsItMultiplies)
{
    QUANTLENS_REQUIRE_GPU();
    const GemvCase& c = GetParam();
    std::mt19937 rng(42 + unsigned(c.rows + c.batch));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> weight(std::size_t(c.rows * c.cols));
    for (float& w : weight)
        w = normal(rng) * 0.02f;
    std::vector<std::uint16_t> x(std::size_t(c.batch * c.cols));
    for (auto& v : x)
        v = toHalfBits(normal(rng), c.activation);
    Stream stream;
    const DeviceBuffer deviceWeight = DeviceBuffer::fromHost(std::span<const float>(weight));
    FourBitTensor q = allocateFourBit(c.rows * c.cols, c.blocksize, c.type, false);
    quantize4bit(stream, deviceWeight, FloatType::F32, q);
    DeviceBuffer dequantized(weight.size() * 4);
    dequantize4bit(stream, q, FloatType::F32, dequantized);
    const DeviceBuffer deviceX = DeviceBuffer::fromHost(std::span<const std::uint16_t>(x));
    DeviceBuffer y(std::size_t(c.batch * c.rows) * 2);
    y.fill(0xff); // NaN in both 16-bit types: an unwritten output cannot pass
    gemv4bit(stream, q, GemvShape {c.rows, c.cols, c.batch}, deviceX, c.activation, y, c.kernel);
    stream.synchronize();
    std::vector<double> w;
    if (c.kernel == GemvKernel::TensorCore && c.blocksize >= 64) {
        const auto packed = q.packed.download<std::uint8_t>();
        const auto absmax = q.absmax.download<float>();
        for (std::size_t i = 0; i < weight.size(); ++i) {
            const int code = i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0xf;
            const float value = c.type == FourBitType::Fp4 ? core::kFp4Code[code] : core::kNf4Code[code];
            const double rounded = fromHalfBits(toHalfBits(value, c.activation), c.activation);
            w.push_back(rounded * double(absmax[i / std::size_t(c.blocksize)]));
        }
    } else {
        for (float v : dequantized.download<float>())
            w.push_back(c.kernel == GemvKernel::TensorCore ? fromHalfBits(toHalfBits(v, c.activation), c.activation)
                                                           : v);
    }
    const auto out = y.download<std::uint16_t>();

    double maxError = 0.0;
    double maxValue = 0.0;
    for (int b = 0; b < c.batch; ++b) {
        for (std::int64_t r = 0; r < c.rows; ++r) {
            double expected = 0.0;
            for (std::int64_t k = 0; k < c.cols; ++k)
                expected += w[std::size_t(r * c.cols + k)]
                    * double(fromHalfBits(x[std::size_t(b * c.cols + k)], c.activation));
            const double found = fromHalfBits(out[std::size_t(b * c.rows + r)], c.activation);
            ASSERT_TRUE(std::isfinite(found)) << "row " << r << " batch " << b << " was not written";
            maxError = std::max(maxError, std::abs(found - expected));
            maxValue = std::max(maxValue, std::abs(expected));
        }
    }
    // One 16-bit rounding of the largest value (bf16 2^-9, fp16 2^-12 relative) plus fp32 accumulation bounds the
    // error.
    const double tolerance = (c.activation == FloatType::BF16 ? 1.0 / 256 : 1.0 / 1024) * maxValue;
    EXPECT_LE(maxError, tolerance) << "largest |y| " << maxValue;
}

std::vector<GemvCase> gemvCases()
{
    const std::vector<GemvCase> shapes {{64, 1024, 1, 64, FloatType::BF16},
                                        {37, 320, 1, 64, FloatType::BF16},
                                        {37, 2112, 3, 32, FloatType::F16},
                                        {130, 4096, 4, 128, FloatType::BF16},
                                        {61, 1536, 7, 256, FloatType::F16},
                                        {256, 3072, 16, 64, FloatType::BF16},
                                        {9, 4096, 16, 4096, FloatType::F16},
                                        {40, 1056, 9, 32, FloatType::BF16},
                                        {45, 8192, 1, 64, FloatType::BF16},
                                        {33, 8320, 12, 128, FloatType::F16},
                                        {17, 128, 2, 64, FloatType::BF16},
                                        {70, 64, 1, 64, FloatType::F16},
                                        {48, 2048, 3, 64, FloatType::BF16, FourBitType::Fp4},
                                        {40, 8192, 10, 128, FloatType::F16, FourBitType::Fp4},
                                        {40, 1056, 2, 32, FloatType::F16, FourBitType::Fp4}};
    std::vector<GemvCase> cases;
    for (GemvKernel kernel : {GemvKernel::TensorCore, GemvKernel::CudaCore})
        for (GemvCase c : shapes) {
            c.kernel = kernel;
            cases.push_back(c);
        }
    return cases;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Gemv, testing::ValuesIn(gemvCases()), gemvName);

TEST(Gemv, RejectsShapesItCannotTileNamingTheValue)
{
    QUANTLENS_REQUIRE_GPU();
    Stream stream;
    FourBitTensor q = allocateFourBit(10 * 96, 32, FourBitType::Nf4, false);
    DeviceBuffer x(96 * 2 * 17);
    DeviceBuffer y(10 * 2 * 17);
    EXPECT_THAT(
        [&] {
            gemv4bit(stream, q, GemvShape {10, 96, 17}, x, FloatType::BF16, y);
        },
        ThrowsMessage<UsageError>(HasSubstr("GEMV batch 17 is outside 1 ... 16")));
    FourBitTensor odd = allocateFourBit(10 * 100, 32, FourBitType::Nf4, false);
    EXPECT_THAT(
        [&] {
            gemv4bit(stream, odd, GemvShape {10, 100, 1}, x, FloatType::BF16, y);
        },
        ThrowsMessage<UnsupportedError>(HasSubstr("column count (100) to be a multiple of 32")));
    const FourBitTensor empty;
    EXPECT_THAT(
        [&] {
            gemv4bit(stream, empty, GemvShape {10, 96, 1}, x, FloatType::BF16, y);
        },
        ThrowsMessage<UsageError>(HasSubstr("not allocated")));
    FourBitTensor nested = allocateFourBit(10 * 96, 32, FourBitType::Nf4, true);
    EXPECT_THAT(
        [&] {
            gemv4bit(stream, nested, GemvShape {10, 96, 1}, x, FloatType::BF16, y);
        },
        ThrowsMessage<UnsupportedError>(HasSubstr("without double quantization")));
}

} // namespace
} // namespace quantlens::gpu
