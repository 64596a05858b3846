#pragma once

#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"

#include <nlohmann/json.hpp>

// JSON shapes of plans, shared by `quantlens-cli plan --json`, the reports and the GUI's export.
// Keys are snake_case and byte counts are integers (bytes); see docs/planner-validation.md.
namespace quantlens::core {

nlohmann::json toJson(const ModelSpec& model);
nlohmann::json toJson(const GpuSpec& gpu);
nlohmann::json toJson(const PlanInput& input);
// model.*, breakdown_bytes (at peak), component_bytes (full sizes), formulas, peak_bytes, gpu.*
nlohmann::json toJson(const PlanInput& input, const PlanResult& result);
nlohmann::json toJson(const TeachingTable& table);

} // namespace quantlens::core
