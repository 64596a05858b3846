#include "ui/charts/breakdown_chart.h"

#include "core/util/units.h"
#include "ui/charts/chart_style.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QCursor>
#include <QHorizontalStackedBarSeries>
#include <QLegendMarker>
#include <QLineSeries>
#include <QToolTip>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace quantlens::ui {

namespace {

QString gbAndGib(double bytes)
{
    return QString::fromStdString(core::formatGBAndGiB(bytes));
}

// A round axis maximum a little above `value` (in GB): 1, 2, 5 steps.
double niceCeiling(double value)
{
    if (value <= 0)
        return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(value)));
    for (double step : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        if (step * magnitude >= value)
            return step * magnitude;
    }
    return 10 * magnitude;
}

} // namespace

BreakdownChart::BreakdownChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignRight);
    setObjectName(QStringLiteral("breakdownChart"));
}

void BreakdownChart::setData(const BreakdownData& data)
{
    m_data = data;
    QChart* chart = this->chart();
    clearChart(chart);
    m_sets.clear();
    m_setKeys.clear();

    m_series = new QHorizontalStackedBarSeries;
    QStringList keys;
    QStringList labels;
    for (const auto& scenario : data.scenarios) {
        for (const auto& segment : scenario.segments) {
            if (!keys.contains(segment.key)) {
                keys << segment.key;
                labels << segment.label;
            }
        }
    }
    double maxTotal = 0;
    for (const auto& scenario : data.scenarios) {
        double total = 0;
        for (const auto& segment : scenario.segments)
            total += segment.bytes;
        maxTotal = std::max(maxTotal, total);
    }
    for (int k = 0; k < keys.size(); ++k) {
        double firstScenarioBytes = 0;
        auto* set = new QBarSet(labels[k]);
        for (int s = 0; s < data.scenarios.size(); ++s) {
            double bytes = 0;
            for (const auto& segment : data.scenarios[s].segments) {
                if (segment.key == keys[k])
                    bytes = segment.bytes;
            }
            if (s == 0)
                firstScenarioBytes = bytes;
            *set << core::toGB(bytes);
        }
        // GB only: the legend has about 220 px on a laptop and cut "(0.10 GiB)" to "(0.10 …"; the
        // tooltip and the breakdown table give GiB too.
        set->setLabel(
            QStringLiteral("%1: %2").arg(labels[k], QString::fromStdString(core::formatGB(firstScenarioBytes))));
        set->setColor(componentColor(keys[k]));
        set->setBorderColor(componentColor(keys[k]).darker(130));
        connect(set, &QBarSet::hovered, this,
                [this, set](bool status, int index) { showSegmentTooltip(set, status, index); });
        m_series->append(set);
        m_sets << set;
        m_setKeys << keys[k];
    }
    m_series->setBarWidth(0.6);
    chart->addSeries(m_series);

    m_categoryAxis = new QBarCategoryAxis;
    QStringList categories;
    for (const auto& scenario : data.scenarios)
        categories << scenario.name;
    m_categoryAxis->append(categories);
    chart->addAxis(m_categoryAxis, Qt::AlignLeft);
    m_series->attachAxis(m_categoryAxis);

    m_valueAxis = new QValueAxis;
    m_valueAxis->setTitleText(tr("GB (10⁹ bytes)"));
    m_valueAxis->setLabelFormat(QStringLiteral("%.0f"));
    const double axisMax = niceCeiling(core::toGB(std::max(maxTotal, data.capacityBytes) * 1.08));
    m_valueAxis->setRange(0, axisMax);
    m_valueAxis->setTickCount(6);
    chart->addAxis(m_valueAxis, Qt::AlignBottom);
    m_series->attachAxis(m_valueAxis);

    m_capacity = nullptr;
    if (data.capacityBytes > 0) {
        m_capacity = new QLineSeries;
        m_capacity->setName(data.capacityLabel);
        const double x = core::toGB(data.capacityBytes);
        const double n = double(std::max<qsizetype>(1, data.scenarios.size()));
        m_capacity->append(x, -0.5);
        m_capacity->append(x, n - 0.5);
        QPen pen(isDarkPalette() ? QColor(0xff, 0x6b, 0x6b) : QColor(0xc0, 0x00, 0x00));
        pen.setWidth(3);
        pen.setStyle(Qt::DashLine);
        m_capacity->setPen(pen);
        chart->addSeries(m_capacity);
        m_capacityPositionAxis = new QValueAxis;
        m_capacityPositionAxis->setRange(-0.5, n - 0.5);
        m_capacityPositionAxis->setVisible(false);
        chart->addAxis(m_capacityPositionAxis, Qt::AlignRight);
        m_capacity->attachAxis(m_valueAxis);
        m_capacity->attachAxis(m_capacityPositionAxis);
    }
}

double BreakdownChart::drawnBytes(const QString& key, int scenario) const
{
    const auto index = m_setKeys.indexOf(key);
    if (index < 0 || scenario >= m_sets[index]->count())
        return -1;
    return m_sets[index]->at(scenario) * core::kBytesPerGB;
}

double BreakdownChart::drawnCapacityBytes() const
{
    if (!m_capacity || m_capacity->count() == 0)
        return 0;
    return m_capacity->at(0).x() * core::kBytesPerGB;
}

void BreakdownChart::showSegmentTooltip(QBarSet* set, bool status, int index)
{
    if (!status) {
        QToolTip::hideText();
        return;
    }
    const auto k = m_sets.indexOf(set);
    if (k < 0 || index < 0 || index >= m_data.scenarios.size())
        return;
    for (const auto& segment : m_data.scenarios[index].segments) {
        if (segment.key == m_setKeys[k]) {
            QToolTip::showText(
                QCursor::pos(),
                QStringLiteral("<b>%1</b>: %2<br>%3")
                    .arg(segment.label.toHtmlEscaped(), gbAndGib(segment.bytes), segment.formula.toHtmlEscaped()),
                this);
            return;
        }
    }
}

} // namespace quantlens::ui
