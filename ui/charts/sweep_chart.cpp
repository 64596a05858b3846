#include "ui/charts/sweep_chart.h"

#include "core/util/units.h"
#include "ui/charts/chart_style.h"

#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace quantlens::ui {

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
    QList<QPointF> gbPoints;
    for (const QPointF& p : data.points) {
        gbPoints << QPointF(p.x(), core::toGB(p.y()));
        xMin = std::min(xMin, p.x());
        xMax = std::max(xMax, p.x());
        yMax = std::max(yMax, core::toGB(p.y()));
    }
    peak->replace(gbPoints);
    chart->addSeries(peak);

    QAbstractAxis* xAxis = nullptr;
    if (data.logX && xMin > 0) {
        auto* axis = new QLogValueAxis;
        // A tick per power of two, or of 4, 8, ... when the range spans more than 8 of them: a
        // stories260K sweep runs from 256 to 2 million tokens, and 14 labels of up to 7 digits
        // were cut to "1048...".
        int base = 2;
        while (std::log2(xMax / xMin) / std::log2(double(base)) > 8.0)
            base *= 2;
        axis->setBase(base);
        axis->setLabelFormat(QStringLiteral("%.0f")); // whole tokens or sequences, also past a million
        axis->setRange(xMin, xMax);
        axis->setMinorTickCount(0);
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
        capacity->setName(tr("usable capacity %1").arg(QString::fromStdString(core::formatGB(data.capacityBytes, 1))));
        capacity->append(xMin, core::toGB(data.capacityBytes));
        capacity->append(xMax, core::toGB(data.capacityBytes));
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
        marker->setName(data.largestFittingAtSearchLimit
                            ? tr("fits up to at least %1 (the search stops there)").arg(value)
                            : data.largestFittingIsExact ? tr("largest that fits: %1").arg(value)
                                                         : tr("largest swept that fits: %1").arg(value));
        marker->setMarkerSize(14);
        marker->setColor(componentColor(QStringLiteral("adapters")));
        for (const QPointF& p : data.points) {
            if (p.x() == data.largestFitting)
                marker->append(p.x(), core::toGB(p.y()));
        }
        chart->addSeries(marker);
        marker->attachAxis(xAxis);
        marker->attachAxis(yAxis);
    }
}

} // namespace quantlens::ui
