#include "ui/charts/bar_limit_chart.h"

#include "ui/charts/chart_style.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>

#include <algorithm>

namespace quantlens::ui {

BarLimitChart::BarLimitChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignBottom);
}

void BarLimitChart::setData(const BarLimitData& data)
{
    m_data = data;
    QChart* chart = this->chart();
    clearChart(chart);
    chart->setTitle(data.title);
    if (data.categories.isEmpty())
        return;

    auto* bars = new QBarSeries;
    double maxValue = data.limit;
    int index = 0;
    for (const auto& set : data.sets) {
        auto* barSet = new QBarSet(set.name);
        for (double v : set.values) {
            *barSet << v;
            maxValue = std::max(maxValue, v);
        }
        barSet->setColor(seriesColor(index++));
        bars->append(barSet);
    }
    bars->setLabelsVisible(true);
    bars->setLabelsFormat(QStringLiteral("@value"));
    bars->setLabelsPrecision(6);
    bars->setLabelsPosition(QAbstractBarSeries::LabelsInsideEnd);
    chart->addSeries(bars);

    auto* categories = new QBarCategoryAxis;
    categories->append(data.categories);
    chart->addAxis(categories, Qt::AlignBottom);
    bars->attachAxis(categories);
    QAbstractAxis* values = nullptr;
    if (data.logScale) {
        double minValue = maxValue;
        for (const auto& set : data.sets) {
            for (double v : set.values) {
                if (v > 0)
                    minValue = std::min(minValue, v);
            }
        }
        auto* axis = new QLogValueAxis;
        axis->setRange(minValue / 2, maxValue * 2);
        axis->setLabelFormat(QStringLiteral("%g"));
        values = axis;
    } else {
        auto* axis = new QValueAxis;
        axis->setRange(0, maxValue * 1.12);
        axis->applyNiceNumbers(); // ticks at round values (0, 500, 1000 …) rather than fifths of the range
        axis->setLabelFormat(QStringLiteral("%.0f"));
        values = axis;
    }
    values->setTitleText(data.valueTitle);
    chart->addAxis(values, Qt::AlignLeft);
    bars->attachAxis(values);

    if (data.limit > 0) {
        auto* limit = new QLineSeries;
        limit->setName(data.limitLabel);
        const double n = double(data.categories.size());
        limit->append(-0.5, data.limit);
        limit->append(n - 0.5, data.limit);
        QPen pen(isDarkPalette() ? QColor(0xff, 0x6b, 0x6b) : QColor(0xc0, 0x00, 0x00));
        pen.setWidth(2);
        pen.setStyle(Qt::DashLine);
        limit->setPen(pen);
        chart->addSeries(limit);
        auto* position = new QValueAxis;
        position->setRange(-0.5, n - 0.5);
        position->setVisible(false);
        chart->addAxis(position, Qt::AlignTop);
        limit->attachAxis(position);
        limit->attachAxis(values);
    }
}

} // namespace quantlens::ui
