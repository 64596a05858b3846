#include "ui/charts/histogram_chart.h"

#include "ui/charts/chart_style.h"

#include <QAreaSeries>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QValueAxis>

#include <algorithm>

namespace quantlens::ui {

namespace {

constexpr int kMaxMarkLines = 32; // beyond this, levels are drawn as markers on top, not lines

} // namespace

HistogramChart::HistogramChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignBottom);
}

void HistogramChart::setData(const HistogramData& data)
{
    m_data = data;
    QChart* chart = this->chart();
    clearChart(chart);
    chart->setTitle(data.title);
    if (data.counts.isEmpty() || !(data.hi > data.lo))
        return;

    const double width = (data.hi - data.lo) / double(data.counts.size());
    const double floorValue = data.logY ? 0.5 : 0.0;
    double maxCount = 1;
    auto* upper = new QLineSeries;
    auto* lower = new QLineSeries;
    upper->append(data.lo, floorValue);
    for (int i = 0; i < data.counts.size(); ++i) {
        const double c = std::max(floorValue, data.counts[i]);
        maxCount = std::max(maxCount, c);
        upper->append(data.lo + i * width, c);
        upper->append(data.lo + (i + 1) * width, c);
    }
    upper->append(data.hi, floorValue);
    lower->append(data.lo, floorValue);
    lower->append(data.hi, floorValue);
    auto* area = new QAreaSeries(upper, lower);
    area->setName(QObject::tr("count"));
    QColor fill = seriesColor(0);
    fill.setAlphaF(0.55);
    area->setBrush(fill);
    area->setPen(QPen(seriesColor(0), 1));
    chart->addSeries(area);

    auto* xAxis = new QValueAxis;
    xAxis->setTitleText(data.xTitle);
    xAxis->setLabelFormat(QStringLiteral("%g"));
    xAxis->setRange(data.lo, data.hi);
    // Round ticks anchored at 0 (-0.4, -0.2, 0, 0.2 ...), not the range cut in fifths.
    if (const double interval = niceTickInterval(data.hi - data.lo, 6); interval > 0.0) {
        xAxis->setTickType(QValueAxis::TicksDynamic);
        xAxis->setTickAnchor(0.0);
        xAxis->setTickInterval(interval);
    }
    chart->addAxis(xAxis, Qt::AlignBottom);
    QAbstractAxis* yAxis = nullptr;
    if (data.logY) {
        auto* axis = new QLogValueAxis;
        axis->setLabelFormat(QStringLiteral("%g"));
        axis->setRange(floorValue, maxCount * 2);
        yAxis = axis;
    } else {
        auto* axis = new QValueAxis;
        axis->setLabelFormat(QStringLiteral("%.0f"));
        axis->setRange(0, maxCount * 1.08);
        yAxis = axis;
    }
    yAxis->setTitleText(QObject::tr("count"));
    chart->addAxis(yAxis, Qt::AlignLeft);
    area->attachAxis(xAxis);
    area->attachAxis(yAxis);

    if (data.marks.isEmpty())
        return;
    const QColor markColor = seriesColor(1);
    if (data.marks.size() <= kMaxMarkLines) {
        bool first = true;
        for (double x : data.marks) {
            auto* line = new QLineSeries;
            line->append(x, floorValue);
            line->append(x, maxCount * (data.logY ? 1.5 : 1.04));
            QPen pen(markColor);
            pen.setWidthF(1.5);
            line->setPen(pen);
            line->setName(data.marksName);
            chart->addSeries(line);
            line->attachAxis(xAxis);
            line->attachAxis(yAxis);
            if (!first) {
                const auto markers = chart->legend()->markers(line);
                for (auto* marker : markers)
                    marker->setVisible(false);
            }
            first = false;
        }
    } else {
        auto* scatter = new QScatterSeries;
        scatter->setName(data.marksName);
        scatter->setMarkerSize(6);
        scatter->setColor(markColor);
        scatter->setBorderColor(markColor);
        for (double x : data.marks)
            scatter->append(x, maxCount * (data.logY ? 1.5 : 1.04));
        chart->addSeries(scatter);
        scatter->attachAxis(xAxis);
        scatter->attachAxis(yAxis);
    }
}

} // namespace quantlens::ui
