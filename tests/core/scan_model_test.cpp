#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/model/model.h"
#include "core/quant/quant_policy.h"
#include "core/quant/scheme.h"
#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan.h"
#include "core/scan/scan_schemes.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

// The scan on real files through the readers and the real quantizers.
using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;

ErrorAccumulator directAccumulator(const Model& model, std::size_t index, const ScanScheme& scheme)
{
    std::vector<float> in(model.tensors()[index].elementCount()), out(in.size());
    if (!in.empty())
        model.readFloat(index, 0, in);
    TensorStatistics statistics;
    if (scheme.needsTensorStatistics())
        statistics = scheme.chunkStatistics(in);
    scheme.roundTrip(in, out, 0, statistics);
    ErrorAccumulator acc;
    acc.add(in, out);
    return acc;
}

// Every tensor by default: these tests are about the measuring, on tensors no tool would quantize.
ScanResult scanFile(const std::string& path, const std::string& schemes, bool doubleQuant = false,
                    TensorSelection selection = TensorSelection::EveryTensor)
{
    const auto model = openModel(path);
    ScanOptions options;
    options.selection = selection;
    options.schemes = makeScanSchemes(schemes, 64, doubleQuant);
    ProgressSink sink;
    return scanModel(*model, options, sink);
}

} // namespace

TEST(ScanModel, Stories260KScansToCompletionEqualToADirectSingleThreadedComputation)
{
    const auto model = openModel(kData + "/stories260K/model.safetensors");
    for (const bool doubleQuant : {false, true}) {
        ScanOptions options;
        options.selection = TensorSelection::EveryTensor;
        options.schemes = makeScanSchemes("nf4,fp4", 64, doubleQuant);
        options.threads = 2;
        options.chunkElements = 1; // rounded up to the alignment: as many chunks as possible
        ProgressSink sink;
        const ScanResult result = scanModel(*model, options, sink);
        ASSERT_EQ(result.tensors.size(), model->tensors().size() * 2);
        EXPECT_EQ(result.parameters, 260032u);

        ErrorAccumulator total;
        for (const auto& r : result.tensors) {
            SCOPED_TRACE(r.name + " " + r.scheme);
            ASSERT_TRUE(r.skipped.empty()) << r.skipped;
            const auto& scheme = *options.schemes[r.scheme == options.schemes[0]->id() ? 0 : 1];
            const ErrorAccumulator direct = directAccumulator(*model, r.tensorIndex, scheme);
            const ErrorStats d = direct.stats();
            EXPECT_EQ(r.error.count, d.count);
            // Chunks of 64 change how the float partial sums are grouped: equal to the stated precision.
            EXPECT_NEAR(r.error.mse, d.mse, d.mse * 1e-6);
            EXPECT_EQ(r.error.maxAbsError, d.maxAbsError);
            EXPECT_NEAR(r.error.cosine, d.cosine, 1e-7);
            EXPECT_EQ(r.error.p99AbsError, d.p99AbsError);
            EXPECT_GT(r.error.mse, 0.0);
            if (r.scheme == options.schemes[0]->id())
                total.merge(direct);
        }
        ASSERT_EQ(result.models.size(), 2u);
        EXPECT_EQ(result.models[0].parameters, 260032u);
        EXPECT_NEAR(result.models[0].error.mse, total.stats().mse, total.stats().mse * 1e-6);
        // Layers 0..4 plus the tensors outside the blocks.
        EXPECT_EQ(result.layers.size(), 2u * 6u);
    }
}

TEST(ScanModel, AllZeroTensorHasZeroError)
{
    const ScanResult r = scanFile(kData + "/synthetic/zeros.safetensors", "nf4,fp4");
    for (const auto& t : r.tensors) {
        EXPECT_EQ(t.error.count, 4096u);
        EXPECT_EQ(t.error.mse, 0.0) << t.scheme;
        EXPECT_EQ(t.error.maxAbsError, 0.0) << t.scheme;
    }
}

TEST(ScanModel, OddSizedTensorMeasuresEveryElementIncludingThePartialBlock)
{
    const ScanResult r = scanFile(kData + "/synthetic/odd_size.safetensors", "nf4");
    ASSERT_EQ(r.tensors.size(), 1u);
    EXPECT_EQ(r.tensors[0].error.count, 1000u);
    EXPECT_GT(r.tensors[0].error.mse, 0.0);
}

// The tensor's 3 non-finite weights sit in both 64-blocks, whose absmax they make non-finite: no
// output is finite, so nothing is measured, and nothing may look like a perfect quantization.
TEST(ScanModel, NonFiniteWeightsAreCountedAndNothingLooksPerfect)
{
    const ScanResult r = scanFile(kData + "/synthetic/nonfinite.safetensors", "nf4");
    ASSERT_EQ(r.tensors.size(), 1u);
    EXPECT_EQ(r.tensors[0].error.nonFiniteInputs, 3u);
    EXPECT_EQ(r.models[0].error.nonFiniteInputs, 3u);
    EXPECT_EQ(r.tensors[0].error.count + r.tensors[0].error.nonFinite(), 128u);
    EXPECT_EQ(r.tensors[0].error.count, 0u);
    EXPECT_TRUE(std::isnan(r.models[0].error.mse));
    EXPECT_TRUE(std::isnan(r.models[0].error.cosine));
    EXPECT_TRUE(std::isnan(r.tensors[0].error.relError));
}

TEST(ScanModel, EmptyTensorIsListedWithZeroElements)
{
    const ScanResult r = scanFile(kData + "/synthetic/empty_tensor.safetensors", "nf4");
    ASSERT_EQ(r.tensors.size(), 1u);
    EXPECT_EQ(r.tensors[0].elements, 0u);
    EXPECT_EQ(r.tensors[0].error.count, 0u);
}

TEST(ScanModel, OutliersRaiseTheTailOfTheErrorFarAboveTheMedian)
{
    const ScanResult outliers = scanFile(kData + "/synthetic/outliers.safetensors", "nf4");
    const ScanResult normal = scanFile(kData + "/synthetic/normal.safetensors", "nf4");
    // Blocks holding a 50x outlier lose the resolution of their small values.
    EXPECT_GT(outliers.tensors[0].error.relError, normal.tensors[0].error.relError);
    EXPECT_GT(outliers.tensors[0].error.p99AbsError, 5 * outliers.tensors[0].error.p50AbsError);
}

TEST(ScanModel, UnknownSchemeIsAUsageErrorListingTheValidOnes)
{
    EXPECT_THAT([] { makeScanSchemes("nf4,nf5", 64, false); }, ThrowsMessage<UsageError>(HasSubstr("nf5")));
}

// A filter or role that no tensor matches is a usage error naming it, not an empty result.
TEST(ScanModel, AFilterOrRoleMatchingNothingIsAUsageErrorNamingIt)
{
    const auto model = openModel(kData + "/stories260K/model.safetensors");
    ProgressSink sink;
    ScanOptions options;
    options.schemes = makeScanSchemes("nf4", 64, false);
    options.filter = "no_such_tensor";
    EXPECT_THAT([&] { scanModel(*model, options, sink); },
                ThrowsMessage<UsageError>(HasSubstr("no tensor matches the name filter 'no_such_tensor'")));
    options.filter = "embed";
    options.role = "mlp_gate";
    EXPECT_THAT([&] { scanModel(*model, options, sink); },
                ThrowsMessage<UsageError>(HasSubstr("the name filter 'embed' and the role mlp_gate")));
}

// stories260K's five ffn_down tensors have rows of 172: ggml cannot store them as Q4_0. With every
// tensor asked for, the scan keeps them as stored (exact, at their stored size, with the reason) and
// every scheme's summary still covers the same 47 tensors.
TEST(ScanModel, EveryTensorKeepsWhatAGgmlSchemeCannotStoreAndSaysWhy)
{
    const auto model = openModel(kData + "/stories260K/model.safetensors");
    const ScanResult result = scanFile(kData + "/stories260K/model.safetensors", "nf4,q4_0");
    std::uint64_t keptParameters = 0, keptBytes = 0;
    std::size_t kept = 0;
    for (const auto& t : result.tensors) {
        EXPECT_EQ(t.skipped, "") << t.name << " " << t.scheme;
        const bool downProj = t.name.find("down_proj") != std::string::npos;
        if (t.scheme == "nf4" || !downProj) {
            EXPECT_EQ(t.storedAs, t.scheme) << t.name;
            EXPECT_GT(t.error.relError, 0.0) << t.name << " " << t.scheme;
            continue;
        }
        ++kept;
        keptParameters += t.elements;
        keptBytes += t.originalBytes;
        EXPECT_TRUE(t.kept());
        EXPECT_THAT(t.policyNote,
                    HasSubstr("kept as stored: rows of 172 values are not a whole number of Q4_0's "
                              "32-value blocks"));
        EXPECT_EQ(t.error.mse, 0.0);
        EXPECT_EQ(t.error.count, t.elements);
        EXPECT_EQ(t.quantizedBytes, t.originalBytes);
    }
    EXPECT_EQ(kept, 5u);
    EXPECT_EQ(keptParameters, 5u * 64 * 172);
    ASSERT_EQ(result.models.size(), 2u);
    for (const auto& m : result.models) {
        EXPECT_EQ(m.tensors, model->tensors().size()) << m.scheme;
        EXPECT_EQ(m.parameters, 260032u) << m.scheme;
        EXPECT_EQ(m.originalBytes, model->totalBytes()) << m.scheme;
        EXPECT_EQ(m.error.count, 260032u) << m.scheme;
    }
    EXPECT_EQ(result.models[0].tensorsQuantized, model->tensors().size());
    EXPECT_EQ(result.models[1].tensorsQuantized, model->tensors().size() - 5);
    EXPECT_EQ(result.models[1].parametersQuantized, 260032u - keptParameters);
    std::uint64_t q4Bytes = 0;
    for (const auto& t : result.tensors)
        if (t.scheme == "q4_0")
            q4Bytes += t.quantizedBytes;
    EXPECT_EQ(result.models[1].quantizedBytes, q4Bytes);
    std::uint64_t layerParameters = 0;
    for (const auto& l : result.layers)
        if (l.scheme == "q4_0")
            layerParameters += l.parameters;
    EXPECT_EQ(layerParameters, 260032u);
}

// The default: each scheme as its tool applies it. bitsandbytes quantizes the 35 Linear weights;
// llama-quantize every 2-D weight (the embedding too), rows of 172 in f16 for q4_0 (no fallback
// for the legacy types), and for q4_k (rows of 64 are not 256-value blocks) llama.cpp's fallback
// q5_0, rows of 172 in f16. Every row covers the same 47 tensors, so sizes compare.
TEST(ScanModel, AsToolAppliesEachFormatsRealPolicyOverTheSameTensors)
{
    const auto model = openModel(kData + "/stories260K/model.safetensors");
    const ScanResult result
        = scanFile(kData + "/stories260K/model.safetensors", "nf4,q4_0,q4_k", false, TensorSelection::AsTool);
    EXPECT_EQ(result.selection, TensorSelection::AsTool);
    std::map<std::string, std::map<std::string, int>> storedAs; // scheme -> stored type -> tensors
    for (const auto& t : result.tensors) {
        SCOPED_TRACE(t.name + " " + t.scheme);
        const bool linear = t.name.find("_proj.") != std::string::npos;
        const bool rows172 = t.shape.size() == 2 && t.shape[1] == 172;
        ++storedAs[t.scheme][t.kept() ? "kept" : t.storedAs];
        if (t.scheme == "nf4") {
            EXPECT_EQ(t.kept(), !linear);
        } else if (t.shape.size() == 1) {
            EXPECT_TRUE(t.kept());
            EXPECT_EQ(t.policyNote, "kept as stored: llama.cpp quantizes 2-D weights only");
        } else if (rows172) {
            EXPECT_EQ(t.storedAs, "fp16");
            EXPECT_THAT(t.policyNote, HasSubstr("rows of 172 are not whole"));
        } else {
            EXPECT_EQ(t.storedAs, t.scheme == "q4_k" ? "q5_0" : "q4_0");
        }
        if (t.kept()) {
            EXPECT_EQ(t.quantizedBytes, t.originalBytes);
            EXPECT_EQ(t.error.mse, 0.0);
        }
    }
    EXPECT_EQ(storedAs["nf4"], (std::map<std::string, int> {{"nf4", 35}, {"kept", 12}}));
    EXPECT_EQ(storedAs["q4_0"], (std::map<std::string, int> {{"q4_0", 31}, {"fp16", 5}, {"kept", 11}}));
    EXPECT_EQ(storedAs["q4_k"], (std::map<std::string, int> {{"q5_0", 31}, {"fp16", 5}, {"kept", 11}}));
    ASSERT_EQ(result.models.size(), 3u);
    for (const auto& m : result.models) {
        EXPECT_EQ(m.tensors, 47u) << m.scheme;
        EXPECT_EQ(m.parameters, 260032u) << m.scheme;
        EXPECT_EQ(m.originalBytes, model->totalBytes()) << m.scheme;
        EXPECT_NEAR(m.bitsPerParameter, double(m.quantizedBytes) * 8.0 / 260032.0, 1e-12) << m.scheme;
    }
    EXPECT_EQ(result.models[0].tensorsQuantized, 35u);
    EXPECT_EQ(result.models[0].tensorsFallback, 0u);
    EXPECT_EQ(result.models[1].tensorsQuantized, 36u);
    EXPECT_EQ(result.models[1].tensorsFallback, 5u);
    EXPECT_EQ(result.models[2].tensorsFallback, 36u);
    EXPECT_EQ(coverageText(result.models[1]),
              "36 of 47 tensors quantized (259,328 of 260,032 parameters), 5 in a fallback type");
    const auto notes = policyNotes(result, "q4_k");
    ASSERT_EQ(notes.size(), 3u);
    EXPECT_EQ(notes[0], "31 tensors: q5_0 (llama.cpp's fallback: rows of 64 are not whole q4_k blocks)");
}

// A k-quant on a model whose rows are all 64 long stores nothing: every tensor is skipped, and the
// whole-model summary is "not measured" rather than a zero error.
// The result records the selection it was asked for, for reports to state.
TEST(ScanModel, TheResultRecordsItsFilterAndRoles)
{
    const auto model = openModel(kData + "/stories260K/model.safetensors");
    ScanOptions options;
    options.schemes = makeScanSchemes("nf4", 64, false);
    options.filter = "layers\\.1\\.";
    options.role = "attn_q,attn_k";
    ProgressSink sink;
    const ScanResult result = scanModel(*model, options, sink);
    EXPECT_EQ(result.filter, "layers\\.1\\.");
    EXPECT_EQ(result.role, "attn_k,attn_q"); // as parsed
    EXPECT_EQ(result.tensors.size(), 2u);
    // A selection that leaves nothing out is not recorded: the report must not say "only".
    options.filter = "weight";
    options.role = " , ";
    const ScanResult all = scanModel(*model, options, sink);
    EXPECT_EQ(all.tensors.size(), model->tensors().size());
    EXPECT_EQ(all.filter, "");
    EXPECT_EQ(all.role, "");
}

TEST(ScanModel, ASchemeThatStoresNoTensorKeepsThemAllAndQuantizesNothing)
{
    const ScanResult result = scanFile(kData + "/stories260K/model.safetensors", "q4_k");
    for (const auto& t : result.tensors) {
        EXPECT_TRUE(t.kept()) << t.name;
        EXPECT_THAT(t.policyNote, HasSubstr("Q4_K's 256-value blocks")) << t.name;
    }
    ASSERT_EQ(result.models.size(), 1u);
    EXPECT_EQ(result.models[0].tensors, 47u);
    EXPECT_EQ(result.models[0].tensorsQuantized, 0u);
    EXPECT_EQ(result.models[0].quantizedBytes, result.models[0].originalBytes);
    EXPECT_EQ(result.models[0].error.mse, 0.0);
}

// The CPU benchmark's rate divides by every parameter: a scheme that would skip its last tensor
// (1,000 values are not whole Q4_0 blocks) is refused with the reason instead.
TEST(CpuBenchmark, RefusesASchemeThatCannotStoreItsTensors)
{
    CpuBenchmarkOptions options;
    options.parameters = 1000;
    options.threads = 1;
    options.repetitions = 1;
    ProgressSink sink;
    EXPECT_THAT(
        [&] { runCpuBenchmark(options, makeScanSchemes("q4_0", 0, false).front(), sink); },
        ThrowsMessage<UsageError>(HasSubstr("the CPU benchmark cannot measure q4_0 on 1,000 parameters: rows "
                                            "of 1000 values are not a whole number of Q4_0's 32-value blocks")));
    options.parameters = 1024;
    EXPECT_EQ(runCpuBenchmark(options, makeScanSchemes("q4_0", 0, false).front(), sink).parameters, 1024u);
}

TEST(ScanModel, ErrorWeightsSumTheSquaredErrorByColumnAndRow)
{
    const auto model = openModel(kData + "/stories260K/model-f32.safetensors");
    const auto index = std::size_t(model->find("model.layers.2.mlp.up_proj.weight"));
    const auto& t = model->tensors()[index];
    const std::uint64_t rows = t.shape[0], cols = t.shape[1];
    std::map<std::size_t, ErrorWeights> weights;
    ErrorWeights& w = weights[index];
    for (std::uint64_t j = 0; j < cols; ++j)
        w.columns.push_back(double(j % 7));
    for (std::uint64_t i = 0; i < rows; ++i)
        w.rows.push_back(0.5 * double(i % 3));
    for (std::uint64_t chunk : {std::uint64_t(1) << 16, std::uint64_t(256)}) { // one chunk, and many
        ScanOptions options;
        options.selection = TensorSelection::EveryTensor;
        options.schemes = makeScanSchemes("q4_0,nf4", 64, false);
        options.tensorIndices = std::vector<std::size_t> {index, index - 1};
        options.errorWeights = &weights;
        options.chunkElements = chunk;
        ProgressSink sink;
        const auto r = scanModel(*model, options, sink);
        std::vector<float> in(t.elementCount()), out(in.size());
        model->readFloat(index, 0, in);
        for (const auto& tr : r.tensors) {
            if (tr.tensorIndex != index) {
                EXPECT_TRUE(std::isnan(tr.weightedError)) << tr.name; // no weights given: not measured
                continue;
            }
            const auto scheme = makeScanSchemes(tr.scheme, 64, false).front();
            scheme->roundTrip(in, out, t.shape, 0, {});
            double expected = 0.0;
            for (std::uint64_t i = 0; i < rows; ++i)
                for (std::uint64_t j = 0; j < cols; ++j) {
                    const double d = double(in[i * cols + j]) - double(out[i * cols + j]);
                    expected += (w.columns[j] + w.rows[i]) * d * d;
                }
            EXPECT_NEAR(tr.weightedError, expected, 1e-9 * expected) << tr.scheme << " chunk " << chunk;
        }
    }
}

TEST(ScanModel, ACancelledScanCanReturnWhatFinished)
{
    const auto model = openModel(kData + "/stories260K/model.safetensors");
    ProgressSink sink;
    ScanOptions options;
    options.schemes = makeScanSchemes("nf4,q8_0", 64, false);
    options.threads = 1;
    int calls = 0;
    options.onTensor = [&](const TensorScanResult&) {
        if (++calls == 6) // three tensors, two schemes each
            sink.cancel();
    };
    EXPECT_THROW(scanModel(*model, options, sink), CancelledError);

    ProgressSink again;
    calls = 0;
    options.onTensor = [&](const TensorScanResult&) {
        if (++calls == 6)
            again.cancel();
    };
    options.partialOnCancel = true;
    const auto r = scanModel(*model, options, again);
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(r.tensorsSelected, model->tensors().size());
    EXPECT_GE(r.tensorsMeasured, 3u);
    EXPECT_LT(r.tensorsMeasured, r.tensorsSelected);
    EXPECT_EQ(r.tensors.size(), 2 * r.tensorsMeasured);
    std::uint64_t parameters = 0;
    for (const auto& t : r.tensors)
        if (t.scheme == "nf4")
            parameters += t.elements;
    ASSERT_EQ(r.models.size(), 2u);
    EXPECT_EQ(r.models[0].parameters, parameters); // the summary covers exactly what finished
    EXPECT_GT(r.seconds, 0.0);
}

// #19: with calibration inputs every scheme's rows get the activation-weighted error
// ||(W - Q(W)) X||^2 / ||W X||^2 = tr(D H D^T) / tr(W H W^T), the same in small chunks as in one;
// GPTQ runs bound to each tensor's Hessian and beats round-to-nearest on that error while its plain
// weight error is larger (what it trades); without calibration it keeps every tensor and says why.
TEST(ScanModel, CalibrationGivesTheActivationWeightedErrorAndRunsGptq)
{
    const auto model = openModel(kData + "/stories260K/model-f32.safetensors");
    const LlamaConfig config = llamaConfigFor(*model);
    const TokenSet tokens = sampleSequences(*model, config, 4, 64, 3, 2);
    const CalibrationData calibration = collectCalibration(*model, tokens, 2);
    ScanResult results[2];
    for (int run = 0; run < 2; ++run) {
        ScanOptions options;
        options.schemes = makeScanSchemes("rtn4,gptq4", 0, false);
        options.calibration = &calibration;
        options.chunkElements = run == 0 ? std::uint64_t(1) << 16 : 64; // one chunk, and a row at a time
        ProgressSink sink;
        results[run] = scanModel(*model, options, sink);
    }
    const auto index = std::size_t(model->find("model.layers.3.mlp.down_proj.weight"));
    const auto& info = model->tensors()[index];
    std::vector<float> w(info.elementCount()), q(w.size());
    model->readFloat(index, 0, w);
    const Eigen::MatrixXf& h = calibration.find(index)->hessian;
    const auto quadratic = [&](const std::vector<float>& d) {
        double sum = 0;
        for (std::uint64_t r = 0; r < info.shape[0]; ++r) {
            const Eigen::Map<const Eigen::RowVectorXf> row(d.data() + r * info.shape[1], Eigen::Index(info.shape[1]));
            sum += double(row * h * row.transpose());
        }
        return sum;
    };
    roundTripTensor(*makeScheme("rtn4"), info.shape, w, q);
    std::vector<float> d(w.size());
    for (std::size_t i = 0; i < w.size(); ++i)
        d[i] = w[i] - q[i];
    const double expected = quadratic(d) / quadratic(w);
    for (const auto& t : results[0].tensors) {
        if (t.tensorIndex == index && t.scheme == "rtn4") {
            EXPECT_NEAR(t.activationError, expected, 1e-4 * expected);
        }
    }
    for (std::size_t i = 0; i < results[0].tensors.size(); ++i)
        if (std::isnan(results[0].tensors[i].activationError)) // no calibration: not Linear inputs
            EXPECT_TRUE(std::isnan(results[1].tensors[i].activationError));
        else
            EXPECT_NEAR(results[0].tensors[i].activationError, results[1].tensors[i].activationError,
                        1e-4 * results[0].tensors[i].activationError + 1e-12)
                << results[0].tensors[i].name;
    const auto& rtn = results[0].models[0];
    const auto& gptq = results[0].models[1];
    EXPECT_EQ(gptq.tensorsQuantized, 35u);
    EXPECT_LT(gptq.activationError, 0.8 * rtn.activationError);
    EXPECT_GT(gptq.error.relError, rtn.error.relError);

    ScanOptions options;
    options.schemes = makeScanSchemes("gptq4", 0, false);
    ProgressSink sink;
    const ScanResult none = scanModel(*model, options, sink);
    EXPECT_EQ(none.models[0].tensorsQuantized, 0u);
    EXPECT_TRUE(std::isnan(none.models[0].activationError));
    EXPECT_THAT(none.tensors[1].policyNote, HasSubstr("gptq4 needs calibration inputs, and none were given"));
}
