#include "core/scan/scan.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <map>
#include <random>
#include <thread>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

// An in-memory model: float tensors, block alignment 1.
class FakeModel : public Model {
public:
    void add(std::string name, std::vector<std::uint64_t> shape, std::vector<float> values, int layer = -1)
    {
        TensorInfo info;
        info.name = std::move(name);
        info.shape = std::move(shape);
        info.dtype = DType::F32;
        info.byteSize = values.size() * sizeof(float);
        info.layer = layer;
        m_infos.push_back(info);
        m_values.push_back(std::move(values));
    }
    void addUndecodable(std::string name)
    {
        TensorInfo info;
        info.name = std::move(name);
        info.shape = {4};
        info.dtype = DType::I64;
        info.byteSize = 32;
        m_infos.push_back(info);
        m_values.emplace_back();
    }

    std::string format() const override { return "fake"; }
    std::filesystem::path path() const override { return "fake"; }
    std::vector<std::filesystem::path> files() const override { return {}; }
    const std::vector<TensorInfo>& tensors() const override { return m_infos; }
    const ModelArchitecture& architecture() const override { return m_architecture; }
    const std::map<std::string, std::string>& metadata() const override { return m_metadata; }
    bool canDequantize(std::size_t index, std::string* why) const override
    {
        if (m_infos[index].dtype == DType::F32)
            return true;
        if (why)
            *why = "integer tensors are not weights";
        return false;
    }
    void readFloat(std::size_t index, std::uint64_t first, std::span<float> out) const override
    {
        reads += out.size();
        std::copy_n(m_values[index].begin() + std::ptrdiff_t(first), out.size(), out.begin());
    }
    std::uint64_t blockAlignment(std::size_t) const override { return 1; }
    std::span<const std::byte> rawBytes(std::size_t) const override { return {}; }

    mutable std::atomic<std::uint64_t> reads {0};

private:
    std::vector<TensorInfo> m_infos;
    std::vector<std::vector<float>> m_values;
    ModelArchitecture m_architecture;
    std::map<std::string, std::string> m_metadata;
};

// Rounds each value to a grid of step absmax/8 per block of 32: a stand-in with real, block-local error.
class GridScheme : public ScanScheme {
public:
    std::string id() const override { return "grid"; }
    using ScanScheme::roundTrip;
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return 32; }
    double bitsPerParameter(std::span<const std::uint64_t>) const override { return 4.0 + 32.0 / 32.0; }
    void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t>, std::uint64_t first,
                   const TensorStatistics&) const override
    {
        EXPECT_EQ(first % 32, 0u);
        for (std::size_t b = 0; b < in.size(); b += 32) {
            const std::size_t n = std::min<std::size_t>(32, in.size() - b);
            float absmax = 0;
            for (std::size_t i = 0; i < n; ++i)
                absmax = std::isfinite(in[b + i]) ? std::max(absmax, std::fabs(in[b + i])) : absmax;
            const float step = absmax / 8;
            for (std::size_t i = 0; i < n; ++i)
                out[b + i] = step > 0 ? std::round(in[b + i] / step) * step : in[b + i];
        }
    }
};

// Scales by a whole-tensor statistic (the mean of |x|): exercises the first pass.
class MeanScaleScheme : public ScanScheme {
public:
    std::string id() const override { return "mean-scale"; }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return 1; }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return 8.0 + 32.0 / double(shape[0]);
    }
    bool needsTensorStatistics() const override { return true; }
    TensorStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t>) const override
    {
        double sum = 0;
        for (float v : chunk)
            sum += std::fabs(v);
        return {sum, double(chunk.size())};
    }
    void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t>, std::uint64_t,
                   const TensorStatistics& statistics) const override
    {
        const float step = float(statistics.at(0) / statistics.at(1)) / 16;
        for (std::size_t i = 0; i < in.size(); ++i)
            out[i] = std::round(in[i] / step) * step;
    }
};

// Takes 20 ms per chunk: long enough that a scan of many chunks is surely cancelled mid-way.
class SlowScheme : public ScanScheme {
public:
    std::string id() const override { return "slow"; }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return 1; }
    double bitsPerParameter(std::span<const std::uint64_t>) const override { return 16.0; }
    void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t>, std::uint64_t,
                   const TensorStatistics&) const override
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::copy(in.begin(), in.end(), out.begin());
    }
};

std::vector<float> normalValues(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.02f);
    std::vector<float> v(n);
    for (auto& x : v)
        x = d(rng);
    return v;
}

ErrorStats directStats(const ScanScheme& scheme, const std::vector<float>& values)
{
    std::vector<float> out(values.size());
    TensorStatistics statistics;
    if (scheme.needsTensorStatistics())
        statistics = scheme.chunkStatistics(values);
    scheme.roundTrip(values, out, 0, statistics);
    ErrorAccumulator acc;
    acc.add(values, out);
    return acc.stats();
}

void expectSameStats(const ErrorStats& a, const ErrorStats& b)
{
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.nonFiniteInputs, b.nonFiniteInputs);
    EXPECT_NEAR(a.mse, b.mse, b.mse * 1e-9);
    EXPECT_EQ(a.maxAbsError, b.maxAbsError);
    EXPECT_NEAR(a.relError, b.relError, b.relError * 1e-9);
    EXPECT_NEAR(a.cosine, b.cosine, 1e-12);
    EXPECT_EQ(a.p50AbsError, b.p50AbsError);
    EXPECT_EQ(a.p99AbsError, b.p99AbsError);
}

} // namespace

TEST(Scan, ChunkedParallelResultsEqualADirectSingleThreadedComputation)
{
    FakeModel model;
    const auto big = normalValues(100000, 1); // many chunks of 4096
    const auto small = normalValues(3000, 2);
    model.add("model.layers.0.mlp.weight", {1000, 100}, big, 0);
    model.add("model.layers.1.norm.weight", {3000}, small, 1);
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<GridScheme>(), std::make_shared<MeanScaleScheme>()};
    options.threads = 3;
    options.chunkElements = 4096;
    ProgressSink sink;
    const ScanResult result = scanModel(model, options, sink);

    ASSERT_EQ(result.tensors.size(), 4u);
    EXPECT_EQ(result.tensors[0].name, "model.layers.0.mlp.weight");
    EXPECT_EQ(result.tensors[0].scheme, "grid");
    EXPECT_EQ(result.tensors[1].scheme, "mean-scale");
    expectSameStats(result.tensors[0].error, directStats(GridScheme(), big));
    expectSameStats(result.tensors[1].error, directStats(MeanScaleScheme(), big));
    expectSameStats(result.tensors[2].error, directStats(GridScheme(), small));
    EXPECT_GT(result.tensors[0].error.mse, 0.0);
    EXPECT_DOUBLE_EQ(result.tensors[0].bitsPerParameter, 5.0);
    EXPECT_EQ(result.tensors[0].quantizedBytes, 100000u * 5 / 8);
    EXPECT_EQ(result.parameters, 103000u);
    // Each element read once per pass (two passes for tensors larger than a chunk), not once per scheme.
    EXPECT_EQ(model.reads.load(), 2 * 100000u + 3000u);
}

TEST(Scan, LayerAndModelSummariesWeighTensorsByElementCount)
{
    FakeModel model;
    const auto a = normalValues(4096, 3);
    auto b = normalValues(1024, 4);
    for (auto& v : b)
        v *= 10; // a tensor with much larger error, but a quarter of the elements
    model.add("a", {4096}, a, 0);
    model.add("b", {1024}, b, 0);
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<GridScheme>()};
    ProgressSink sink;
    const ScanResult result = scanModel(model, options, sink);

    std::vector<float> both = a;
    both.insert(both.end(), b.begin(), b.end());
    ErrorAccumulator direct;
    std::vector<float> out(both.size());
    GridScheme().roundTrip(both, out, 0, {}); // 4096 is a whole number of blocks: same blocks
    direct.add(both, out);
    ASSERT_EQ(result.layers.size(), 1u);
    EXPECT_EQ(result.layers[0].layer, 0);
    EXPECT_EQ(result.layers[0].parameters, 5120u);
    EXPECT_NEAR(result.layers[0].error.mse, direct.stats().mse, direct.stats().mse * 1e-9);
    ASSERT_EQ(result.models.size(), 1u);
    EXPECT_NEAR(result.models[0].error.mse, direct.stats().mse, direct.stats().mse * 1e-9);
    EXPECT_DOUBLE_EQ(result.models[0].bitsPerParameter, 5.0);
}

TEST(Scan, FilterSelectsTensorsByRegexAndBadRegexIsAUsageError)
{
    FakeModel model;
    model.add("model.layers.0.self_attn.q_proj.weight", {64}, normalValues(64, 5), 0);
    model.add("model.layers.0.mlp.up_proj.weight", {64}, normalValues(64, 6), 0);
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<GridScheme>()};
    options.filter = "q_proj";
    ProgressSink sink;
    const ScanResult result = scanModel(model, options, sink);
    ASSERT_EQ(result.tensors.size(), 1u);
    EXPECT_EQ(result.tensors[0].name, "model.layers.0.self_attn.q_proj.weight");

    options.filter = "(unclosed";
    EXPECT_THAT([&] { scanModel(model, options, sink); },
                ThrowsMessage<UsageError>(HasSubstr("invalid tensor filter '(unclosed'")));
    options.schemes.clear();
    EXPECT_THAT([&] { scanModel(model, options, sink); }, ThrowsMessage<UsageError>(HasSubstr("no quantization")));
}

TEST(Scan, UndecodableTensorsAreListedAsSkippedWithTheReason)
{
    FakeModel model;
    model.addUndecodable("position_ids");
    model.add("w", {64}, normalValues(64, 7));
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<GridScheme>()};
    ProgressSink sink;
    const ScanResult result = scanModel(model, options, sink);
    ASSERT_EQ(result.tensors.size(), 2u);
    EXPECT_EQ(result.tensors[0].skipped, "integer tensors are not weights");
    EXPECT_TRUE(result.tensors[1].skipped.empty());
    EXPECT_EQ(result.models[0].parameters, 64u);
}

TEST(Scan, NonFiniteWeightsAreCountedPerTensorAndKeptOutOfTheSummary)
{
    FakeModel model;
    auto values = normalValues(10000, 8);
    values[3] = std::numeric_limits<float>::infinity();
    values[5000] = std::numeric_limits<float>::quiet_NaN();
    model.add("w", {10000}, values);
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<GridScheme>()};
    options.chunkElements = 1024;
    ProgressSink sink;
    const ScanResult result = scanModel(model, options, sink);
    EXPECT_EQ(result.tensors[0].error.nonFiniteInputs, 2u);
    EXPECT_EQ(result.tensors[0].error.count, 9998u);
    EXPECT_EQ(result.models[0].error.nonFiniteInputs, 2u);
    EXPECT_TRUE(std::isfinite(result.models[0].error.mse));
    EXPECT_TRUE(std::isfinite(result.tensors[0].weightHistogram.hi()));
    std::uint64_t counted = 0;
    for (auto c : result.tensors[0].weightHistogram.counts())
        counted += c;
    EXPECT_EQ(counted, 9998u);
}

TEST(Scan, EmptyTensorsWorkAndCountZeroElements)
{
    FakeModel model;
    model.add("empty", {0, 64}, {});
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<GridScheme>()};
    ProgressSink sink;
    const ScanResult result = scanModel(model, options, sink);
    ASSERT_EQ(result.tensors.size(), 1u);
    EXPECT_EQ(result.tensors[0].error.count, 0u);
    EXPECT_EQ(result.tensors[0].quantizedBytes, 0u);
}

TEST(Scan, DeliversEachTensorAsItFinishesAndReportsProgressToTheEnd)
{
    FakeModel model;
    for (int i = 0; i < 20; ++i)
        model.add("t" + std::to_string(i), {2000}, normalValues(2000, unsigned(i)), i);
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<GridScheme>()};
    options.chunkElements = 512;
    std::vector<std::string> delivered;
    options.onTensor = [&](const TensorScanResult& r) { delivered.push_back(r.name); };
    ScanProgress last;
    options.onProgress = [&](const ScanProgress& p) { last = p; };
    ProgressSink sink;
    scanModel(model, options, sink);
    EXPECT_EQ(delivered.size(), 20u);
    EXPECT_EQ(last.progress.done, 20u);
    EXPECT_EQ(last.progress.total, 20u);
    EXPECT_EQ(last.progress.bytesDone, 20u * 2000 * 4);
    EXPECT_EQ(last.progress.bytesTotal, 20u * 2000 * 4);
}

TEST(Scan, CancellationStopsWithinAFewChunks)
{
    FakeModel model;
    model.add("big", {400 * 1024}, std::vector<float>(400 * 1024, 0.5f)); // 400 chunks of 20 ms: 4 s per thread
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {std::make_shared<SlowScheme>()};
    options.chunkElements = 1024;
    options.threads = 2;
    options.weightHistogramBins = 0;
    ProgressSink sink;
    auto scan = std::async(std::launch::async, [&] { return scanModel(model, options, sink); });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    const auto cancelledAt = std::chrono::steady_clock::now();
    sink.cancel();
    ASSERT_EQ(scan.wait_for(std::chrono::seconds(3)), std::future_status::ready) << "the scan did not stop";
    const auto stopped = std::chrono::steady_clock::now() - cancelledAt;
    EXPECT_THROW(scan.get(), CancelledError);
    // Each thread finishes at most the chunk it is in (20 ms); a generous bound for loaded machines.
    EXPECT_LT(std::chrono::duration<double>(stopped).count(), 1.0);
    EXPECT_LT(model.reads.load(), 400u * 1024);
}

namespace {

// Measures its chunks itself, as the GPU wrapper does (gpu/scan_acceleration.h): the grid round
// trip and an accumulator of its own whose sums it hands over. roundTrip() must then not run.
class SelfMeasuringGridScheme : public GridScheme {
public:
    std::string device() const override { return "elsewhere"; }
    void roundTrip(std::span<const float>, std::span<float>, std::span<const std::uint64_t>, std::uint64_t,
                   const TensorStatistics&) const override
    {
        ADD_FAILURE() << "the scan round-tripped a chunk the scheme measures itself";
    }
    bool measure(std::span<const float> in, std::span<const std::uint64_t> shape, std::uint64_t first,
                 const TensorStatistics& statistics, ErrorAccumulator& errors) const override
    {
        std::vector<float> out(in.size());
        GridScheme::roundTrip(in, out, shape, first, statistics);
        ErrorAccumulator own;
        own.add(in, out);
        errors.addSums(own.sums(), own.errorHistogram());
        ++chunks;
        return true;
    }
    mutable std::atomic<int> chunks {0};
};

} // namespace

TEST(Scan, SchemesThatMeasureElsewhereGiveTheSameResultsAndNameTheirDevice)
{
    FakeModel model;
    const auto big = normalValues(50000, 3);
    const auto small = normalValues(1000, 4);
    model.add("model.layers.0.mlp.weight", {500, 100}, big, 0);
    model.add("model.layers.0.norm.weight", {1000}, small, 0);
    auto elsewhere = std::make_shared<SelfMeasuringGridScheme>();
    ScanOptions options;
    options.selection = TensorSelection::EveryTensor; // fake schemes on tensors no tool would quantize
    options.schemes = {elsewhere, std::make_shared<GridScheme>()};
    options.threads = 2;
    options.chunkElements = 4096;
    ProgressSink sink;
    const ScanResult result = scanModel(model, options, sink);
    ASSERT_EQ(result.tensors.size(), 4u);
    EXPECT_EQ(elsewhere->chunks.load(), 13 + 1); // 50000 / 4096 rounded up, and the small tensor whole
    expectSameStats(result.tensors[0].error, directStats(GridScheme(), big));
    expectSameStats(result.tensors[0].error, result.tensors[1].error);
    expectSameStats(result.tensors[2].error, directStats(GridScheme(), small));
    ASSERT_EQ(result.models.size(), 2u);
    EXPECT_EQ(result.models[0].device, "elsewhere");
    EXPECT_EQ(result.models[1].device, "CPU");
    expectSameStats(result.models[0].error, result.models[1].error);
}
