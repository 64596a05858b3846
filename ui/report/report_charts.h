#pragma once

#include "core/report/html_report.h"
#include "core/report/report_data.h"

#include <QSize>
#include <QString>

class QChartView;

// The report's charts drawn by the app's own chart classes (ui/charts), off-screen, so that a
// report looks like the GUI. Needs a QApplication (the offscreen platform is enough).
namespace quantlens::ui {

// The size charts are laid out at before being scaled into the page (CSS pixels).
inline constexpr QSize kReportChartSize {760, 360};

// Draws `view` as an SVG document (vector: text as text, bars as paths) at `size`.
QString chartToSvg(QChartView* view, QSize size = kReportChartSize, const QString& title = {});

// Every chart of the report, keyed by the chart ids of core/report/report_document.h:
// "breakdown/N" and "sweep/N" per plan, "errors/K" per scheme (relative error by layer, one line
// per role). Charts of sections left out are not drawn.
core::ReportCharts renderReportCharts(const core::ReportData& data, const core::ReportSections& sections = {},
                                      QSize size = kReportChartSize);

} // namespace quantlens::ui
