#include "ui/charts/error_by_layer_chart.h"

#include "ui/charts/chart_style.h"

#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantlens::ui {

ErrorByLayerChart::ErrorByLayerChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignRight);
    setObjectName(QStringLiteral("errorByLayerChart"));
}

void ErrorByLayerChart::setData(const ErrorByLayerData& data)
{
    m_data = data;
    QChart* chart = this->chart();
    clearChart(chart);
    chart->setTitle(tr("%1 by layer").arg(data.metric));

    double xMin = std::numeric_limits<double>::max();
    double xMax = std::numeric_limits<double>::lowest();
    double yMin = std::numeric_limits<double>::max();
    double yMax = 0;
    for (const auto& s : data.series) {
        for (const QPointF& p : s.points) {
            xMin = std::min(xMin, p.x());
            xMax = std::max(xMax, p.x());
            if (p.y() > 0)
                yMin = std::min(yMin, p.y());
            yMax = std::max(yMax, p.y());
        }
    }
    if (xMin > xMax)
        return;

    auto* xAxis = new QValueAxis;
    xAxis->setTitleText(tr("layer"));
    xAxis->setLabelFormat(QStringLiteral("%d"));
    xAxis->setRange(xMin, std::max(xMax, xMin + 1));
    xAxis->setTickCount(std::min(12, int(xMax - xMin) + 1 < 2 ? 2 : int(xMax - xMin) + 1));
    chart->addAxis(xAxis, Qt::AlignBottom);

    QAbstractAxis* yAxis = nullptr;
    if (data.logY && yMin > 0 && yMin < std::numeric_limits<double>::max()) {
        auto* axis = new QLogValueAxis;
        axis->setLabelFormat(QStringLiteral("%.2g"));
        axis->setRange(yMin / 1.5, yMax * 1.5);
        yAxis = axis;
    } else {
        auto* axis = new QValueAxis;
        axis->setLabelFormat(QStringLiteral("%.3g"));
        axis->setRange(0, yMax > 0 ? yMax * 1.1 : 1);
        yAxis = axis;
    }
    yAxis->setTitleText(data.metric);
    chart->addAxis(yAxis, Qt::AlignLeft);

    int index = 0;
    for (const auto& s : data.series) {
        auto* line = new QLineSeries;
        line->setName(s.name);
        line->setPointsVisible(true);
        // Eight colours, then the same colours dashed, then dotted: no two lines alike up to 24.
        QPen pen(seriesColor(index));
        pen.setWidth(2);
        if (index >= 8)
            pen.setStyle(index >= 16 ? Qt::DotLine : Qt::DashLine);
        ++index;
        line->setPen(pen);
        QList<QPointF> points = s.points;
        // A layer with nothing measured (NaN) or an infinite error has no place on the axis.
        const bool logY = data.logY;
        points.erase(std::remove_if(points.begin(), points.end(),
                                    [logY](const QPointF& p) { return !std::isfinite(p.y()) || (logY && p.y() <= 0); }),
                     points.end());
        line->replace(points);
        chart->addSeries(line);
        line->attachAxis(xAxis);
        line->attachAxis(yAxis);
    }
}

} // namespace quantlens::ui
