#include "ui/charts/sweep_chart.h"

#include "core/util/units.h"
#include "ui/charts/chart_style.h"

#include <QCategoryAxis>
#include <QLegendMarker>
#include <QLineSeries>
#include <QScatterSeries>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace quantlens::ui {

QString compactPowerOfTwo(int exponent)
{
    if (exponent >= 30)
        return QStringLiteral("%1G").arg(std::uint64_t(1) << (exponent - 30));
    if (exponent >= 20)
        return QStringLiteral("%1M").arg(std::uint64_t(1) << (exponent - 20));
    if (exponent >= 10)
        return QStringLiteral("%1K").arg(std::uint64_t(1) << (exponent - 10));
    return exponent >= 0 ? QString::number(std::uint64_t(1) << exponent) : QString::number(std::ldexp(1.0, exponent));
}

SweepChart::SweepChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignBottom);
}

void SweepChart::setData(const SweepData& data)
{
    m_data = data;
    QChart* chart = this->chart();
    clearChart(chart);
    chart->setTitle(data.title);
    if (data.points.isEmpty())
        return;

    auto* peak = new QLineSeries;
    peak->setName(tr("peak"));
    peak->setPointsVisible(true);
    QPen pen(seriesColor(0));
    pen.setWidth(2);
    peak->setPen(pen);
    double xMin = data.points.front().x();
    double xMax = xMin;
    double yMax = core::toGB(data.capacityBytes);
    for (const QPointF& p : data.points) {
        xMin = std::min(xMin, p.x());
        xMax = std::max(xMax, p.x());
        yMax = std::max(yMax, core::toGB(p.y()));
    }
    const bool logX = data.logX && xMin > 0;
    // Where a value is drawn: log2 of it on the log scale.
    const auto at = [logX](double x) { return logX ? std::log2(x) : x; };
    QList<QPointF> gbPoints;
    for (const QPointF& p : data.points)
        gbPoints << QPointF(at(p.x()), core::toGB(p.y()));
    peak->replace(gbPoints);
    chart->addSeries(peak);
    // The title says what the line is ("Peak vs ..."): its legend entry would only take room.
    for (QLegendMarker* legendMarker : chart->legend()->markers(peak))
        legendMarker->setVisible(false);

    QAbstractAxis* xAxis = nullptr;
    if (logX) {
        // Powers of two on a log scale, drawn at log2(x) on a category axis so that the labels can
        // be short (256, 1K, 64K, 1M): a stories260K sweep runs from 256 to 2 million tokens, and
        // plain numbers were cut to "1048..." or "1...". A label per power of two, or of 4, 16, ...
        // when the range spans more than 5 of them: Qt Charts cuts a label wider than its category,
        // and a sweep chart is about 250 px wide on a laptop.
        auto* axis = new QCategoryAxis;
        axis->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
        const double lo = std::log2(xMin), hi = std::log2(xMax);
        int step = 1;
        while ((hi - lo) / step > 5.0)
            step *= 2;
        const int first = int(std::ceil(lo - 1e-9));
        // The first category reaches one step below the first label, so that it is as wide as the others.
        axis->setStartValue(first - step);
        for (int e = first; e <= int(std::floor(hi + 1e-9)); ++e)
            if ((e - first) % step == 0)
                axis->append(compactPowerOfTwo(e), e);
        axis->setRange(lo, hi);
        xAxis = axis;
    } else {
        auto* axis = new QValueAxis;
        axis->setLabelFormat(QStringLiteral("%g"));
        axis->setRange(xMin, xMax);
        xAxis = axis;
    }
    xAxis->setTitleText(data.xTitle);
    chart->addAxis(xAxis, Qt::AlignBottom);
    auto* yAxis = new QValueAxis;
    yAxis->setTitleText(tr("GB"));
    yAxis->setLabelFormat(QStringLiteral("%.0f"));
    yAxis->setRange(0, yMax * 1.1);
    yAxis->applyNiceNumbers(); // ticks at round GB (0, 20, 40 …) rather than fifths of the range
    chart->addAxis(yAxis, Qt::AlignLeft);
    peak->attachAxis(xAxis);
    peak->attachAxis(yAxis);

    if (data.capacityBytes > 0) {
        auto* capacity = new QLineSeries;
        // Short legend entries: a sweep chart is about 290 px wide on a laptop, and Qt Charts cuts an
        // entry wider than its share ("usable cap…"). The GPU and its capacity are in the headline.
        capacity->setName(tr("usable %1").arg(QString::fromStdString(core::formatGB(data.capacityBytes, 0))));
        capacity->append(at(xMin), core::toGB(data.capacityBytes));
        capacity->append(at(xMax), core::toGB(data.capacityBytes));
        QPen capPen(isDarkPalette() ? QColor(0xff, 0x6b, 0x6b) : QColor(0xc0, 0x00, 0x00));
        capPen.setStyle(Qt::DashLine);
        capPen.setWidth(2);
        capacity->setPen(capPen);
        chart->addSeries(capacity);
        capacity->attachAxis(xAxis);
        capacity->attachAxis(yAxis);
    }
    if (data.largestFitting > 0) {
        auto* marker = new QScatterSeries;
        const QString value = QString::fromStdString(core::formatThousands(std::uint64_t(data.largestFitting)));
        marker->setName(data.largestFittingAtSearchLimit ? tr("fits: ≥ %1").arg(value)
                            : data.largestFittingIsExact ? tr("largest fit: %1").arg(value)
                                                         : tr("largest swept fit: %1").arg(value));
        marker->setMarkerSize(14);
        marker->setColor(componentColor(QStringLiteral("adapters")));
        for (const QPointF& p : data.points) {
            if (p.x() == data.largestFitting)
                marker->append(at(p.x()), core::toGB(p.y()));
        }
        chart->addSeries(marker);
        marker->attachAxis(xAxis);
        marker->attachAxis(yAxis);
    }
}

} // namespace quantlens::ui
