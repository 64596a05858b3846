#include "core/scan/scan_json.h"

#include <cmath>

namespace quantlens::core {

namespace {

nlohmann::json number(double value)
{
    return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json summaryToJson(const ScanSummary& s, bool withLayer)
{
    nlohmann::json j = errorStatsToJson(s.error);
    j["scheme"] = s.scheme;
    j["device"] = s.device;
    if (withLayer)
        j["layer"] = s.layer;
    j["tensors"] = s.tensors;
    j["tensors_quantized"] = s.tensorsQuantized;
    j["tensors_fallback"] = s.tensorsFallback;
    j["parameters"] = s.parameters;
    j["parameters_quantized"] = s.parametersQuantized;
    j["original_bytes"] = s.originalBytes;
    j["quantized_bytes"] = s.quantizedBytes;
    j["bits_per_parameter"] = s.bitsPerParameter;
    j["activation_error"] = number(s.activationError);
    return j;
}

} // namespace

nlohmann::json errorStatsToJson(const ErrorStats& s)
{
    return {
        {"count", s.count},
        {"non_finite_inputs", s.nonFiniteInputs},
        {"non_finite_outputs", s.nonFiniteOutputs},
        {"mse", number(s.mse)},
        {"rmse", number(s.rmse)},
        {"max_abs_error", number(s.maxAbsError)},
        {"mean_abs_error", number(s.meanAbsError)},
        {"rel_error", number(s.relError)},
        {"sqnr_db", number(s.sqnrDb)},
        {"cosine", number(s.cosine)},
        {"p50_abs_error", number(s.p50AbsError)},
        {"p95_abs_error", number(s.p95AbsError)},
        {"p99_abs_error", number(s.p99AbsError)},
    };
}

nlohmann::json scanResultToJson(const ScanResult& result)
{
    nlohmann::json out;
    out["tensors"] = nlohmann::json::array();
    for (const auto& t : result.tensors) {
        nlohmann::json j = errorStatsToJson(t.error);
        j["name"] = t.name;
        j["scheme"] = t.scheme;
        j["layer"] = t.layer;
        j["role"] = std::string(roleName(t.role));
        j["dtype"] = std::string(dtypeName(t.dtype));
        j["shape"] = t.shape;
        j["elements"] = t.elements;
        j["original_bytes"] = t.originalBytes;
        j["bits_per_parameter"] = t.bitsPerParameter;
        j["quantized_bytes"] = t.quantizedBytes;
        j["activation_error"] = number(t.activationError);
        j["stored_as"]
            = t.skipped.empty() ? nlohmann::json(t.storedAs.empty() ? "kept" : t.storedAs) : nlohmann::json(nullptr);
        if (!t.policyNote.empty())
            j["policy_note"] = t.policyNote;
        if (!t.skipped.empty())
            j["skipped"] = t.skipped;
        out["tensors"].push_back(std::move(j));
    }
    out["layers"] = nlohmann::json::array();
    for (const auto& s : result.layers)
        out["layers"].push_back(summaryToJson(s, true));
    out["summary"] = nlohmann::json::array();
    for (const auto& s : result.models) {
        out["summary"].push_back(summaryToJson(s, false));
        out["summary"].back()["policy"] = policyDescription(result.selection, s.scheme);
    }
    out["scan"]
        = {{"seconds", result.seconds},
           {"threads", result.threads},
           {"parameters", result.parameters},
           {"bytes", result.bytes},
           {"chunk_elements", result.chunkElements},
           {"working_bytes", result.workingBytes},
           {"policy", selectionName(result.selection)},
           {"calibration", result.calibration.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.calibration)},
           {"filter", result.filter},
           {"role", result.role}};
    return out;
}

} // namespace quantlens::core
