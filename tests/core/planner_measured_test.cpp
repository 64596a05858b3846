#include "core/planner/catalogue.h"
#include "core/planner/planner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

// The planner against real peaks of full training steps on an H100 (scripts/measure_peaks.py:
// torch 2.11, transformers 5.17, peft 0.21; random weights built from the configs). Tolerances:
// allocated memory (what the formulas model) within 5%; nvidia-smi's total, which adds the
// caching allocator's fragmentation, within 5% for training without checkpointing, 8% for the
// inference prefill and 15% with checkpointing (the allocator's reserve under checkpointing varies
// from 11% to 49% of the non-weight memory between cases: one calibrated fraction cannot follow it).
// docs/planner-validation.md lists every case.
using namespace quantlens::core;

namespace {

nlohmann::json loadMeasurements()
{
    std::ifstream in(QUANTLENS_TEST_DATA_DIR "/planner/measured-peaks.json");
    return nlohmann::json::parse(in);
}

ModelSpec modelFor(const std::string& name)
{
    for (const auto& preset : modelPresets()) {
        if (preset.name == name)
            return preset;
    }
    return modelSpecFromConfigFile(QUANTLENS_TEST_DATA_DIR "/planner/" + name + ".json");
}

PlanInput inputFor(const nlohmann::json& c)
{
    PlanInput in;
    in.model = modelFor(c.at("model").get<std::string>());
    in.method = parseTrainingMethod(c.at("method").get<std::string>());
    in.precision = parsePrecision(c.at("precision").get<std::string>());
    in.seqLen = c.at("seq").get<std::int64_t>();
    in.microBatch = c.at("batch").get<std::int64_t>();
    in.gradientCheckpointing = c.at("gc").get<bool>();
    in.attention = parseAttention(c.at("attn").get<std::string>());
    in.loraRank = 16;
    in.loraAlpha = 32;
    if (c.contains("targets")) {
        std::string targets;
        for (const auto& t : c.at("targets"))
            targets += (targets.empty() ? "" : ",") + t.get<std::string>();
        in.loraTargets = parseLoraTargets(targets);
    }
    in.overheads.cudaContextBytes = c.at("outside_allocator_bytes").get<std::uint64_t>();
    return in;
}

double errorPercent(double predicted, double measured)
{
    return 100.0 * (predicted / measured - 1.0);
}

} // namespace

TEST(PlannerMeasured, ParameterCountsOfTheMeasuredModelsMatchTorch)
{
    const auto data = loadMeasurements(); // kept alive: a range-for over a temporary's member dangles
    for (const auto& c : data.at("cases")) {
        EXPECT_EQ(modelFor(c.at("model")).parameters.total(), c.at("parameters").get<std::uint64_t>()) << c.dump();
        if (c.at("method") == "lora") {
            EXPECT_EQ(evaluate(inputFor(c)).trainableParameters, c.at("trainable_parameters").get<std::uint64_t>())
                << c.dump();
        }
    }
}

TEST(PlannerMeasured, PredictsEveryMeasuredPeakWithinTheStatedTolerance)
{
    const auto data = loadMeasurements();
    ASSERT_GE(data.at("cases").size(), 14u);
    for (const auto& c : data.at("cases")) {
        const PlanInput in = inputFor(c);
        const PlanResult r = evaluate(in);
        const double allocated = c.at("max_memory_allocated_bytes").get<double>();
        const double smi = c.at("nvidia_smi_peak_bytes").get<double>();
        const double allocatedError = errorPercent(static_cast<double>(r.allocatedBytes), allocated);
        const double smiError = errorPercent(static_cast<double>(r.peakBytes), smi);
        std::printf("%-15s %-9s %-5s s%-5lld b%-2lld gc%d %-5s allocated %6.2f / %6.2f GB (%+5.1f%%)  "
                    "nvidia-smi %6.2f / %6.2f GB (%+5.1f%%)\n",
                    c.at("model").get<std::string>().c_str(), c.at("method").get<std::string>().c_str(),
                    c.at("precision").get<std::string>().c_str(), static_cast<long long>(in.seqLen),
                    static_cast<long long>(in.microBatch), in.gradientCheckpointing ? 1 : 0,
                    c.at("attn").get<std::string>().c_str(), r.allocatedBytes / 1e9, allocated / 1e9, allocatedError,
                    r.peakBytes / 1e9, smi / 1e9, smiError);
        EXPECT_LE(std::fabs(allocatedError), 5.0) << c.dump();
        const double smiTolerance = in.gradientCheckpointing ? 15.0
            : in.method == TrainingMethod::Inference         ? 8.0
                                                             : 5.0;
        EXPECT_LE(std::fabs(smiError), smiTolerance) << c.dump();
    }
}
