#pragma once

#include "core/planner/model_spec.h"
#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"
#include "core/report/report_data.h"

#include <cmath>
#include <limits>
#include <string>

// A report with every section filled: a real 7B QLoRA plan on an RTX 4090 and a hand-written scan
// whose tensor names try to break out of HTML, Markdown and CSV. Shared by the core and UI tests.
namespace quantlens::reportfixture {

inline constexpr const char* kScriptTensor = "<script>alert(1)</script>";
inline constexpr const char* kCommaTensor = "weird,\"quoted\" name";

inline core::TensorScanResult fixtureTensor(const std::string& name, const std::string& scheme, int layer,
                                            core::TensorRole role, double relError, double rmse)
{
    core::TensorScanResult t;
    t.name = name;
    t.scheme = scheme;
    t.layer = layer;
    t.role = role;
    t.dtype = core::DType::BF16;
    t.shape = {64, 32};
    t.elements = 64 * 32;
    t.originalBytes = t.elements * 2;
    t.bitsPerParameter = scheme == "nf4" ? 4.5 : 8.25;
    t.quantizedBytes = static_cast<std::uint64_t>(double(t.elements) * t.bitsPerParameter / 8);
    t.error.count = t.elements;
    t.error.relError = relError;
    t.error.rmse = rmse;
    t.error.mse = rmse * rmse;
    t.error.maxAbsError = rmse * 4.125;
    t.error.meanAbsError = rmse * 0.8;
    t.error.sqnrDb = relError > 0 ? -20 * std::log10(relError) : std::numeric_limits<double>::infinity();
    t.error.cosine = 1 - relError * relError / 2;
    t.error.p50AbsError = rmse * 0.7;
    t.error.p95AbsError = rmse * 1.9;
    t.error.p99AbsError = rmse * 2.6;
    return t;
}

inline core::ScanSummary fixtureSummary(const std::string& scheme, int layer, double relError)
{
    core::ScanSummary s;
    s.scheme = scheme;
    s.layer = layer;
    s.tensors = 2;
    s.parameters = 4096;
    s.originalBytes = 8192;
    s.bitsPerParameter = scheme == "nf4" ? 4.5 : 8.25;
    s.quantizedBytes = static_cast<std::uint64_t>(4096 * s.bitsPerParameter / 8);
    s.error.relError = relError;
    s.error.rmse = relError / 10;
    s.error.sqnrDb = -20 * std::log10(relError);
    s.error.cosine = 0.99;
    return s;
}

inline core::ReportData reportFixture()
{
    using core::TensorRole;
    core::ReportData d;
    d.title = "Fixture report";
    d.generatedAt = "2026-01-02T03:04:05Z";
    d.commandLine = "quantlens-cli report --params 7B --method qlora --gpu rtx-4090 -o report.html";
    d.environment.appVersion = "0.1.0";
    d.environment.os = "Linux 6.8 x86_64";
    d.environment.cpuModel = "Fixture CPU";
    d.environment.cpuThreads = 2;
    d.environment.gpuNote = "built without CUDA";

    core::ModelSummary m;
    m.path = "models/fixture.safetensors";
    m.format = "safetensors";
    m.files = {m.path};
    m.architecture.name = "llama";
    m.architecture.layers = 2;
    m.tensors = 3;
    m.parameters = 3 * 64 * 32;
    m.bytes = m.parameters * 2;
    m.byRole = {{"attn_q", 1, 2048, 4096}, {"mlp_up", 2, 4096, 8192}};
    m.byDtype = {{"BF16", 3, 6144, 12288}};
    m.metadata = {{"note", "<b>bold</b> | pipe\nnext line"}};
    d.model = m;

    core::PlanInput in;
    in.model = core::modelSpecFromParameterCount(7000000000ull);
    in.method = core::TrainingMethod::Qlora;
    in.gpu = "rtx-4090";
    d.plans.push_back(core::makePlanScenario({}, in)); // named by its subject
    d.teaching = core::teachingTable(7000000000ull);

    core::ScanResult scan;
    for (const std::string scheme : {"nf4", "int8"}) {
        const double f = scheme == "nf4" ? 1.0 : 0.125;
        scan.tensors.push_back(fixtureTensor(kScriptTensor, scheme, 0, TensorRole::AttentionQ, 0.25 * f, 0.0125 * f));
        scan.tensors.push_back(
            fixtureTensor("model.layers.1.mlp.up_proj.weight", scheme, 1, TensorRole::MlpUp, 0.1 * f, 0.00625 * f));
        scan.tensors.push_back(fixtureTensor(kCommaTensor, scheme, 1, TensorRole::MlpUp, 0.4 * f, 0.02 * f));
        scan.layers.push_back(fixtureSummary(scheme, 0, 0.25 * f));
        scan.layers.push_back(fixtureSummary(scheme, 1, 0.3 * f));
        scan.models.push_back(fixtureSummary(scheme, -1, 0.28 * f));
    }
    scan.parameters = 3 * 64 * 32;
    d.scan = scan;

    core::BenchSection bench;
    bench.title = "CPU scan benchmark";
    bench.rows = {{"read", "memory read bound", 12.5, "GB/s"}, {"scan nf4", "full scan", 3.25, "GB/s"}};
    bench.notes = {"measured one after the other in the same run"};
    d.bench.push_back(bench);
    return d;
}

} // namespace quantlens::reportfixture
