#pragma once

#include "core/report/report_data.h"

#include <QString>

namespace quantlens::ui {

struct ReportOptions {
    core::ReportSections sections;
    bool force = false; // replace an existing file (the CLI's --force, the GUI's confirmation)
};

// Writes `data` to `path` in the format its extension names (.html, .pdf, .md, .csv, .json), with
// the same code for the CLI and the GUI. HTML and PDF draw their charts with ui/charts off-screen.
// Every file is written atomically (core::writeFileAtomically); a CSV report may write a second
// file, "<stem>-planner.csv" (core::plannerCsvPath), and both are checked for existence before
// either is written. Throws UsageError (unknown extension, existing file without force, nothing to
// write) and IoError (unwritable path). Needs a QApplication for HTML and PDF.
void exportReport(const core::ReportData& data, const QString& path, const ReportOptions& options = {});

// The files exportReport would write for `path` (one, or two for a CSV report with both tables).
QStringList reportOutputFiles(const core::ReportData& data, const QString& path, const ReportOptions& options = {});

} // namespace quantlens::ui
