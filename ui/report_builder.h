#pragma once

#include "core/report/report_data.h"

namespace quantlens::ui {

class ModelSession;
class PlannerView;
class InspectorView;
class BenchView;

// What File › Export report… shares: the open model, the planner's current plan, its teaching
// table, the last scan and the last benchmark, with the quantlens-cli line that regenerates the
// same report.
core::ReportData buildGuiReport(const ModelSession& session, const PlannerView& planner, const InspectorView& inspector,
                                const BenchView& bench);

} // namespace quantlens::ui
