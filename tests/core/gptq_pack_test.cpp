// GPTQ's checkpoint layout (AutoGPTQ's v1, qlinear_cuda_old.py at 179776b): the packing checked
// against that file's own loops, transcribed here for 4 and 3 bits, and the read-back its forward does
// (zeros + 1, scales * (code - zero)) against what the gptq schemes simulate.
#include "core/quant/gptq.h"
#include "core/quant/gptq_pack.h"
#include "core/util/error.h"
#include "core/util/float16.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// QuantLinear.pack's loops: for 4 bits, word `row` holds intweight[8 row + j] << 4 j; for 3 bits, 32
// values over three words, 10 + the low 2 bits of the 11th, its top bit + 10 + the low bit of the 22nd,
// its top 2 bits + 10.
TEST(GptqPack, BitStreamIsAutoGptqsPacking)
{
    std::mt19937 rng(5);
    std::vector<std::uint32_t> four(64), three(64);
    for (auto& v : four)
        v = rng() % 16;
    for (auto& v : three)
        v = rng() % 8;

    std::vector<std::uint32_t> expected4(8, 0);
    for (std::size_t row = 0; row < 8; ++row)
        for (std::size_t j = 0; j < 8; ++j)
            expected4[row] |= four[8 * row + j] << (4 * j);
    EXPECT_EQ(packBitStream(four, 4), expected4);

    std::vector<std::uint32_t> expected3(6, 0);
    std::size_t i = 0, row = 0;
    while (row < expected3.size()) {
        for (std::size_t j = i; j < i + 10; ++j)
            expected3[row] |= three[j] << (3 * (j - i));
        i += 10;
        expected3[row] |= three[i] << 30;
        ++row;
        expected3[row] |= (three[i] >> 2) & 1;
        ++i;
        for (std::size_t j = i; j < i + 10; ++j)
            expected3[row] |= three[j] << (3 * (j - i) + 1);
        i += 10;
        expected3[row] |= three[i] << 31;
        ++row;
        expected3[row] |= (three[i] >> 1) & 0x3;
        ++i;
        for (std::size_t j = i; j < i + 10; ++j)
            expected3[row] |= three[j] << (3 * (j - i) + 2);
        i += 10;
        ++row;
    }
    const auto packed3 = packBitStream(three, 3);
    EXPECT_EQ(packed3, expected3);
    for (std::size_t k = 0; k < three.size(); ++k)
        EXPECT_EQ(unpackBitStream(packed3, 3, k), three[k]) << k;
}

// GPTQ on a 32 x 64 weight in groups of 32, packed, and read back as the forward does: equal, value for
// value, to what gptqQuantize returns (fp16(scale) * (code - zero)).
TEST(GptqPack, ReadsBackAsTheSimulation)
{
    for (const int bits : {4, 3, 2}) {
        SCOPED_TRACE(bits);
        const std::uint64_t rows = 32, cols = 64, group = 32;
        std::mt19937 rng {std::uint32_t(bits)};
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<float> w(rows * cols), q(w.size());
        for (auto& v : w)
            v = normal(rng);
        Eigen::MatrixXf x = Eigen::MatrixXf::Random(Eigen::Index(cols), 256);
        const Eigen::MatrixXf h = 2.0f / 256.0f * x * x.transpose();
        GptqOptions o;
        o.bits = bits;
        o.groupSize = group;
        GptqCodes codes;
        gptqQuantize(w, rows, cols, gptqFactor(h, o), o, q, &codes);
        const GptqPacked p = packGptq(codes, bits, group);
        ASSERT_EQ(p.qweight.size(), cols * std::uint64_t(bits) / 32 * rows);
        ASSERT_EQ(p.qzeros.size(), 2 * rows * std::uint64_t(bits) / 32);
        ASSERT_EQ(p.scales.size(), 2 * rows);
        ASSERT_EQ(p.gIdx.size(), cols);
        EXPECT_EQ(p.gIdx[31], 0);
        EXPECT_EQ(p.gIdx[32], 1);
        const std::uint64_t zeroWords = rows * std::uint64_t(bits) / 32, weightWords = cols * std::uint64_t(bits) / 32;
        for (std::uint64_t n = 0; n < rows; ++n) {
            std::vector<std::uint32_t> column(weightWords);
            for (std::uint64_t r = 0; r < weightWords; ++r)
                column[r] = std::uint32_t(p.qweight[r * rows + n]);
            for (std::uint64_t k = 0; k < cols; ++k) {
                const std::uint64_t g = std::uint64_t(p.gIdx[k]);
                const std::vector<std::uint32_t> zeroRow(p.qzeros.begin() + std::ptrdiff_t(g * zeroWords),
                                                         p.qzeros.begin() + std::ptrdiff_t((g + 1) * zeroWords));
                const float zero = float(unpackBitStream(zeroRow, bits, n) + 1);
                const float scale = fp16ToFloat(p.scales[g * rows + n]);
                const float code = float(unpackBitStream(column, bits, k));
                ASSERT_EQ(scale * (code - zero), q[n * cols + k]) << n << ", " << k;
            }
        }
    }
}

TEST(GptqPack, RefusesWhatTheLayoutCannotHold)
{
    EXPECT_THAT(gptqLayoutCannotHold(64, 172, 4, 128), HasSubstr("172 inputs of 4 bits"));
    EXPECT_THAT(gptqLayoutCannotHold(172, 64, 4, 32), HasSubstr("172 outputs"));
    EXPECT_THAT(gptqLayoutCannotHold(64, 64, 4, 128), HasSubstr("not a multiple of the group size 128"));
    EXPECT_THAT(gptqLayoutCannotHold(64, 64, 5, 32), HasSubstr("2, 3, 4 or 8 bits"));
    EXPECT_EQ(gptqLayoutCannotHold(64, 64, 3, 32), "");
    EXPECT_EQ(gptqLayoutCannotHold(4096, 4096, 4, 128), "");
    EXPECT_EQ(gptqLayoutCannotHold(64, 64, 4, 0), "");
    // A group of weights all >= 0 has zero point 0, which zero - 1 cannot store.
    GptqCodes c;
    c.rows = 8;
    c.cols = 32;
    c.groups = 1;
    c.codes.assign(256, 3);
    c.scales.assign(8, 0.01f);
    c.zeros.assign(8, 8.0f);
    EXPECT_NO_THROW(packGptq(c, 4, 32));
    c.zeros[5] = 0.0f;
    EXPECT_THAT([&] { packGptq(c, 4, 32); }, ThrowsMessage<UsageError>(HasSubstr("output 5, group 0")));
}
