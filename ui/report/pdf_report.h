#pragma once

#include "core/report/html_report.h"
#include "core/report/report_data.h"

#include <QByteArray>

namespace quantlens::ui {

// The report as an A4 PDF: the same document as the HTML report, laid out by QTextDocument, with
// the charts drawn as vectors (each SVG replayed through QSvgRenderer onto the PDF painter), page
// numbers in the footer, and table rows kept whole across page breaks. Needs a QGuiApplication.
QByteArray pdfReport(const core::ReportData& data, const core::ReportCharts& charts,
                     const core::ReportSections& sections = {});

} // namespace quantlens::ui
