#pragma once

#include "core/report/report_data.h"

#include <string>

namespace quantlens::core {

// GitHub-flavoured Markdown, for pasting into an issue or a model card. Charts are left out (they
// are in the HTML and PDF reports); every table they draw from is here. Text from model files is
// escaped (escapeMarkdown), so a tensor name cannot inject HTML or break a table.
std::string markdownReport(const ReportData& data, const ReportSections& sections = {});

} // namespace quantlens::core
