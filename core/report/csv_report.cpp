#include "core/report/csv_report.h"

#include "core/report/text_escape.h"

#include <cmath>
#include <cstdio>

namespace quantlens::core {

namespace {

std::string number(double v)
{
    if (std::isinf(v))
        return v > 0 ? "inf" : "-inf";
    if (std::isnan(v))
        return "nan";
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}

std::string shapeText(const std::vector<std::uint64_t>& shape)
{
    std::string out;
    for (std::size_t i = 0; i < shape.size(); ++i)
        out += (i ? "x" : "") + std::to_string(shape[i]);
    return out;
}

} // namespace

std::string tensorErrorsCsv(const ScanResult& scan)
{
    std::string out = "tensor,scheme,layer,role,dtype,shape,elements,original_bytes,quantized_bytes,"
                      "bits_per_parameter,mse,rmse,max_abs_error,mean_abs_error,rel_error,sqnr_db,cosine,"
                      "p50_abs_error,p95_abs_error,p99_abs_error,non_finite,stored_as,policy_note,skipped\r\n";
    for (const auto& scheme : scanSchemes(scan)) {
        for (const auto* t : worstTensors(scan, scheme)) {
            const auto& e = t->error;
            out += csvField(t->name) + ',' + csvField(t->scheme) + ',' + std::to_string(t->layer) + ','
                + std::string(roleName(t->role)) + ',' + std::string(dtypeName(t->dtype)) + ',' + shapeText(t->shape)
                + ',' + std::to_string(t->elements) + ',' + std::to_string(t->originalBytes) + ','
                + std::to_string(t->quantizedBytes) + ',' + number(t->bitsPerParameter) + ',' + number(e.mse) + ','
                + number(e.rmse) + ',' + number(e.maxAbsError) + ',' + number(e.meanAbsError) + ',' + number(e.relError)
                + ',' + number(e.sqnrDb) + ',' + number(e.cosine) + ',' + number(e.p50AbsError) + ','
                + number(e.p95AbsError) + ',' + number(e.p99AbsError) + ',' + std::to_string(e.nonFinite()) + ','
                + csvField(t->skipped.empty() ? (t->storedAs.empty() ? "kept" : t->storedAs) : "") + ','
                + csvField(t->policyNote) + ',' + csvField(t->skipped) + "\r\n";
        }
    }
    return out;
}

std::string plannerBreakdownCsv(const std::vector<PlanScenario>& plans)
{
    std::string out = "scenario,component,label,bytes_at_peak,bytes,formula\r\n";
    for (const auto& p : plans) {
        for (const auto& c : p.result.components) {
            if (c.bytes == 0 && c.bytesAtPeak == 0)
                continue;
            out += csvField(p.name) + ',' + componentKey(c.component) + ',' + csvField(componentLabel(c.component))
                + ',' + std::to_string(c.bytesAtPeak) + ',' + std::to_string(c.bytes) + ',' + csvField(c.formula)
                + "\r\n";
        }
        out += csvField(p.name) + ",peak," + csvField("Peak (" + p.result.peakPhase + ")") + ','
            + std::to_string(p.result.peakBytes) + ',' + std::to_string(p.result.peakBytes) + ",\r\n";
    }
    return out;
}

std::string qualityCsv(const EvalResult& q)
{
    std::string out = "row,name,bits_per_parameter,perplexity,kl_mean,kl_median,kl_p99,kl_max,top1_agreement,"
                      "mean_delta_logprob,policy\r\n";
    out += "baseline," + csvField(q.model) + ',' + number(q.baselineBitsPerParameter) + ','
        + number(q.baselinePerplexity) + ",,,,,,," + csvField(q.input) + "\r\n";
    for (const auto& c : q.results)
        out += csvField(c.kind) + ',' + csvField(c.name) + ',' + number(c.bitsPerParameter) + ',' + number(c.perplexity)
            + ',' + number(c.kl.mean) + ',' + number(c.kl.median) + ',' + number(c.kl.p99) + ',' + number(c.kl.max)
            + ',' + number(c.top1Agreement) + ',' + number(c.meanDeltaLogProb) + ',' + csvField(c.policy) + "\r\n";
    for (const auto& s : q.sensitivity)
        out += "sensitivity," + csvField(s.group + " under " + s.scheme) + ",,," + number(s.klMean) + ",,,,"
            + number(s.top1Agreement) + ",,\r\n";
    return out;
}

std::string adviceCsv(const AdvisorResult& a)
{
    const auto bits
        = [&](std::uint64_t bytes) { return number(a.parameters ? double(bytes) * 8.0 / double(a.parameters) : 0.0); };
    std::string out = "row,name,layer,role,scheme,bytes,bits_per_parameter,cost,cost_kind\r\n";
    const std::string kind = csvField(a.costId);
    for (const auto& t : a.assignment)
        out += "tensor," + csvField(t.tensor) + ',' + (t.layer < 0 ? std::string() : std::to_string(t.layer)) + ','
            + csvField(t.role) + ',' + csvField(t.scheme) + ',' + std::to_string(t.bytes) + ",," + number(t.cost) + ','
            + kind + "\r\n";
    out += "mix," + csvField(a.model) + ",,," + csvField(a.fourBitType) + ',' + std::to_string(a.totalBytes) + ','
        + bits(a.totalBytes) + ',' + number(a.predictedCost) + ',' + kind + "\r\n";
    for (const auto& u : a.uniform)
        out += "alone," + csvField(u.scheme) + ",,," + csvField(u.scheme) + ',' + std::to_string(u.bytes) + ','
            + bits(u.bytes) + ',' + number(u.cost) + ',' + kind + "\r\n";
    for (const auto& u : a.llamaCppMixes)
        out += "llama.cpp," + csvField(u.scheme) + ",,,," + std::to_string(u.bytes) + ',' + bits(u.bytes) + ','
            + number(u.cost) + ',' + kind + "\r\n";
    for (const auto& p : a.frontier)
        out += "frontier,,,,," + std::to_string(p.bytes) + ',' + bits(p.bytes) + ',' + number(p.cost) + ',' + kind
            + "\r\n";
    return out;
}

} // namespace quantlens::core
