#pragma once

#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <vector>

// JSON shapes of plans, shared by `quantlens-cli plan --json`, the reports and the GUI's export.
// Keys are snake_case and byte counts are integers (bytes); see docs/planner-validation.md.
namespace quantlens::core {

nlohmann::json toJson(const ModelSpec& model);
nlohmann::json toJson(const GpuSpec& gpu);
nlohmann::json toJson(const PlanInput& input);
// model.*, breakdown_bytes (at peak), component_bytes (full sizes), formulas, peak_bytes, gpu.*
nlohmann::json toJson(const PlanInput& input, const PlanResult& result);
nlohmann::json toJson(const TeachingTable& table);

// What `plan --json` and the reports add around one plan: max_micro_batch and max_seq_len (null
// without a GPU) with max_*_at_search_limit (the search stopped at its limit: "at least"),
// suggestions, and gpus_that_fit (the catalogue GPUs the plan fits, smallest first).
void addPlanAnswers(nlohmann::json& plan, const PlanInput& input, std::optional<std::int64_t> maxMicroBatch,
                    std::optional<std::int64_t> maxSeqLen, const std::vector<Suggestion>& suggestions);

} // namespace quantlens::core
