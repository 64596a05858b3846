#pragma once

#include "core/report/report_data.h"

#include <nlohmann/json.hpp>

namespace quantlens::core {

// Bumped whenever a key changes meaning or disappears (new keys keep the version).
inline constexpr int kReportSchemaVersion = 1;

// Everything in the report, machine-readable: {"schema_version", "title", "generated_at",
// "command_line", "environment", "model", "plans": [plan --json shape + "name", "suggestions",
// "max_micro_batch", "max_seq_len", "seq_sweep"], "teaching", "errors" (inspect --json shape),
// "bench"}. Sections left out, or without data, are absent. Bytes are integers.
nlohmann::json reportToJson(const ReportData& data, const ReportSections& sections = {});

} // namespace quantlens::core
