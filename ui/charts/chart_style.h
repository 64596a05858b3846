#pragma once

#include <QColor>
#include <QString>
#include <Qt>

class QChart;
class QChartView;

namespace quantlens::ui {

// One colour per memory component, the same in every chart and report, chosen to stay apart for
// common colour-vision deficiencies (Okabe-Ito based) and readable on light and dark backgrounds.
QColor componentColor(const QString& key);

// A colour for the n-th series of a multi-series chart (schemes in the error-by-layer chart).
QColor seriesColor(int index);

// Applies the light or dark chart theme that matches the application palette, antialiasing and a
// font size that stays readable at 100% and 200% scaling.
void applyChartStyle(QChart* chart);
void applyChartViewStyle(QChartView* view);

// Gives `view` a new chart in the app's style with its legend at `legend`.
void installStyledChart(QChartView* view, Qt::Alignment legend);
// Removes every series and axis, before a chart is drawn again from new data.
void clearChart(QChart* chart);

// True when the application palette is dark (window colour darker than its text).
bool isDarkPalette();

// A round tick spacing (1, 2 or 5 times a power of ten) that cuts `span` into at most `maxTicks`
// intervals: axis labels read 0.2, 0.4 rather than 0.0313, 0.291 (#17). 0 for an empty span.
double niceTickInterval(double span, int maxTicks);

} // namespace quantlens::ui
