#include "ui/charts/quality_charts.h"

#include "ui/charts/chart_style.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QLegendMarker>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantlens::ui {

QualitySizeChart::QualitySizeChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignBottom);
    setObjectName(QStringLiteral("qualitySizeChart"));
    chart()->setTitle(tr("Output error against size"));
}

void QualitySizeChart::setPoints(const QList<QualityPoint>& points)
{
    m_points = points;
    QChart* chart = this->chart();
    clearChart(chart);
    chart->setTitle(tr("Mean KL (●, nats) and top-1 agreement (■) against size"));
    double xMin = std::numeric_limits<double>::max(), xMax = 0;
    double yMin = std::numeric_limits<double>::max(), yMax = 0;
    for (const auto& p : points) {
        if (!std::isfinite(p.bitsPerParameter))
            continue;
        xMin = std::min(xMin, p.bitsPerParameter);
        xMax = std::max(xMax, p.bitsPerParameter);
        if (p.klMean > 0 && std::isfinite(p.klMean)) {
            yMin = std::min(yMin, p.klMean);
            yMax = std::max(yMax, p.klMean);
        }
    }
    if (xMin > xMax)
        return;
    auto* x = new QValueAxis;
    x->setTitleText(tr("bits per parameter (whole model)"));
    x->setLabelFormat(QStringLiteral("%.1f"));
    const double pad = std::max(0.5, 0.08 * (xMax - xMin));
    x->setRange(std::max(0.0, xMin - pad), xMax + pad);
    x->applyNiceNumbers();
    chart->addAxis(x, Qt::AlignBottom);

    QAbstractAxis* kl = nullptr;
    if (yMin <= yMax) {
        auto* axis = new QLogValueAxis;
        axis->setLabelFormat(QStringLiteral("%.0e"));
        const double low = std::pow(10.0, std::floor(std::log10(yMin)));
        const double high = std::pow(10.0, std::ceil(std::log10(yMax * 1.01)));
        axis->setRange(low, std::max(high, low * 10));
        kl = axis;
    } else { // every KL is 0: identical models
        auto* axis = new QValueAxis;
        axis->setRange(0, 1);
        kl = axis;
    }
    kl->setTitleText(tr("KL (●)"));
    chart->addAxis(kl, Qt::AlignLeft);
    auto* top1 = new QValueAxis;
    top1->setTitleText(tr("top-1 % (■)"));
    top1->setRange(0, 100);
    top1->setLabelFormat(QStringLiteral("%d"));
    chart->addAxis(top1, Qt::AlignRight);

    int index = 0;
    for (const auto& p : points) {
        const QColor color = seriesColor(index++);
        auto* klPoint = new QScatterSeries;
        klPoint->setName(p.name);
        klPoint->setColor(color);
        klPoint->setMarkerSize(11);
        klPoint->setPointLabelsVisible(true);
        klPoint->setPointLabelsFormat(p.name);
        klPoint->setPointLabelsClipping(false);
        if (p.klMean > 0 && std::isfinite(p.klMean))
            klPoint->append(p.bitsPerParameter, p.klMean);
        chart->addSeries(klPoint);
        klPoint->attachAxis(x);
        klPoint->attachAxis(kl);
        auto* agreement = new QScatterSeries;
        agreement->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
        agreement->setColor(color);
        agreement->setMarkerSize(8);
        agreement->append(p.bitsPerParameter, 100.0 * p.top1Agreement);
        chart->addSeries(agreement);
        agreement->attachAxis(x);
        agreement->attachAxis(top1);
        chart->legend()->markers(agreement).front()->setVisible(false);
    }
}

SensitivityChart::SensitivityChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignBottom);
    setObjectName(QStringLiteral("sensitivityChart"));
    chart()->setTitle(tr("Sensitivity: run with --sensitivity layer or role"));
    chart()->legend()->hide();
}

void SensitivityChart::setBars(const QString& title, const QList<SensitivityBar>& bars)
{
    m_bars = bars;
    QChart* chart = this->chart();
    clearChart(chart);
    chart->setTitle(title);
    chart->legend()->hide();
    if (bars.isEmpty())
        return;
    auto* set = new QBarSet(tr("mean KL"));
    set->setColor(seriesColor(0));
    QStringList categories;
    double top = 0;
    for (const auto& b : bars) {
        // Short tick labels: "layer 12" reads "12" (the axis title says layer).
        categories << (b.group.startsWith(QStringLiteral("layer ")) ? b.group.mid(6) : b.group);
        *set << b.klMean;
        top = std::max(top, b.klMean);
    }
    auto* series = new QBarSeries;
    series->append(set);
    chart->addSeries(series);
    auto* x = new QBarCategoryAxis;
    x->append(categories);
    x->setTitleText(bars.front().group.startsWith(QStringLiteral("layer ")) ? tr("layer") : tr("role"));
    chart->addAxis(x, Qt::AlignBottom);
    series->attachAxis(x);
    auto* y = new QValueAxis;
    y->setTitleText(tr("KL (nats)"));
    y->setRange(0, top > 0 ? top * 1.1 : 1);
    y->applyNiceNumbers();
    y->setLabelFormat(QStringLiteral("%.2g"));
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(y);
}

} // namespace quantlens::ui
