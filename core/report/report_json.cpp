#include "core/report/report_json.h"

#include "core/planner/plan_json.h"
#include "core/scan/scan_json.h"

namespace quantlens::core {

namespace {

nlohmann::json groupsToJson(const std::vector<ModelGroupTotal>& groups)
{
    auto out = nlohmann::json::array();
    for (const auto& g : groups)
        out.push_back({{"name", g.name}, {"tensors", g.tensors}, {"parameters", g.parameters}, {"bytes", g.bytes}});
    return out;
}

nlohmann::json modelToJson(const ModelSummary& m)
{
    const auto& a = m.architecture;
    return {
        {"path", m.path},
        {"format", m.format},
        {"files", m.files},
        {"tensors", m.tensors},
        {"parameters", m.parameters},
        {"bytes", m.bytes},
        {"architecture",
         {{"name", a.name},
          {"hidden_size", a.hiddenSize},
          {"intermediate_size", a.intermediateSize},
          {"layers", a.layers},
          {"attention_heads", a.attentionHeads},
          {"kv_heads", a.kvHeads},
          {"head_dim", a.headDim},
          {"vocab_size", a.vocabSize},
          {"context_length", a.contextLength},
          {"experts", a.experts},
          {"experts_per_token", a.expertsPerToken},
          {"tied_embeddings", a.tiedEmbeddings}}},
        {"by_role", groupsToJson(m.byRole)},
        {"by_dtype", groupsToJson(m.byDtype)},
        {"metadata", m.metadata},
        {"stored_quantization",
         m.storedQuantization.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.storedQuantization)},
    };
}

nlohmann::json planToJson(const PlanScenario& s)
{
    nlohmann::json j = toJson(s.input, s.result);
    j["name"] = s.name;
    addPlanAnswers(j, s.input, s.maxMicroBatch, s.maxSeqLen, s.suggestions); // as `plan --json` gives them
    j["seq_sweep"] = nlohmann::json::array();
    for (const auto& p : s.seqSweep)
        j["seq_sweep"].push_back({{"seq_len", p.value}, {"peak_bytes", p.result.peakBytes}, {"fits", p.result.fits}});
    return j;
}

} // namespace

nlohmann::json reportToJson(const ReportData& data, const ReportSections& sections)
{
    nlohmann::json out;
    out["schema_version"] = kReportSchemaVersion;
    out["title"] = data.title;
    out["generated_at"] = data.generatedAt;
    out["command_line"] = data.commandLine;
    if (sections.environment) {
        const auto& e = data.environment;
        out["environment"] = {{"app_version", e.appVersion}, {"os", e.os},
                              {"cpu_model", e.cpuModel},     {"cpu_threads", e.cpuThreads},
                              {"gpu_name", e.gpuName},       {"gpu_driver", e.gpuDriver},
                              {"gpu_note", e.gpuNote}};
    }
    if (sections.model && data.model)
        out["model"] = modelToJson(*data.model);
    if (sections.plans && !data.plans.empty()) {
        out["plans"] = nlohmann::json::array();
        for (const auto& p : data.plans)
            out["plans"].push_back(planToJson(p));
    }
    if (sections.teaching && data.teaching)
        out["teaching"] = toJson(*data.teaching);
    if (sections.errors && data.scan)
        out["errors"] = scanResultToJson(*data.scan);
    if (sections.quality && data.quality) {
        out["quality"] = evalToJson(*data.quality);
        out["quality"]["command_line"] = data.qualityCommandLine;
    }
    if (sections.advice && data.advice) {
        out["advice"] = adviceToJson(*data.advice);
        out["advice"]["command_line"] = data.adviceCommandLine;
    }
    if (sections.bench && !data.bench.empty()) {
        out["bench"] = nlohmann::json::array();
        for (const auto& b : data.bench) {
            nlohmann::json section = {{"title", b.title}, {"notes", b.notes}, {"rows", nlohmann::json::array()}};
            for (const auto& r : b.rows)
                section["rows"].push_back({{"name", r.name}, {"what", r.what}, {"value", r.value}, {"unit", r.unit}});
            out["bench"].push_back(std::move(section));
        }
    }
    return out;
}

} // namespace quantlens::core
