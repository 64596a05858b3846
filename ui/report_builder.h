#pragma once

#include "core/report/report_data.h"

#include <QString>

namespace quantlens::ui {

class ModelSession;
class PlannerView;
class InspectorView;
class BenchView;
class QualityView;
class AdvisorView;

// What File › Export report… shares: the open model, the planner's current plan, its teaching
// table, the last scan, the last benchmark and the last model-quality run (when `quality` is
// given), with the quantlens-cli line that regenerates the same report (without its -o:
// withOutputPath adds the file the user picks).
core::ReportData buildGuiReport(const ModelSession& session, const PlannerView& planner, const InspectorView& inspector,
                                const BenchView& bench, const QualityView* quality = nullptr,
                                const AdvisorView* advisor = nullptr);

// `data` with its regenerating command line ending in the flags for the sections left out
// (--no-plan, --no-teaching, --no-scan; a quality section left out drops its --eval-* options) and "-o PATH" (shell-quoted; none for an empty path).
core::ReportData withOutputPath(core::ReportData data, const QString& path, const core::ReportSections& sections = {});

} // namespace quantlens::ui
