#include "ui/charts/chart_style.h"

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QHash>
#include <QPalette>

#include <cmath>

namespace quantlens::ui {

QColor componentColor(const QString& key)
{
    static const QHash<QString, QColor> colors {
        {QStringLiteral("weights"), QColor(0x00, 0x72, 0xB2)},
        {QStringLiteral("gradients"), QColor(0xE6, 0x9F, 0x00)},
        {QStringLiteral("optimizer_states"), QColor(0xD5, 0x5E, 0x00)},
        {QStringLiteral("master_weights"), QColor(0xCC, 0x79, 0xA7)},
        {QStringLiteral("adapters"), QColor(0x00, 0x9E, 0x73)},
        {QStringLiteral("activations"), QColor(0x56, 0xB4, 0xE9)},
        {QStringLiteral("logits"), QColor(0xF0, 0xE4, 0x42)},
        {QStringLiteral("kv_cache"), QColor(0x8C, 0x56, 0x4B)},
        {QStringLiteral("temporaries"), QColor(0x6A, 0x3D, 0x9A)},
        {QStringLiteral("overhead"), QColor(0x99, 0x99, 0x99)},
    };
    return colors.value(key, QColor(0x77, 0x77, 0x77));
}

QColor seriesColor(int index)
{
    static const QColor colors[]
        = {QColor(0x00, 0x72, 0xB2), QColor(0xD5, 0x5E, 0x00), QColor(0x00, 0x9E, 0x73), QColor(0xCC, 0x79, 0xA7),
           QColor(0xE6, 0x9F, 0x00), QColor(0x56, 0xB4, 0xE9), QColor(0x8C, 0x56, 0x4B), QColor(0x33, 0x33, 0x33)};
    return colors[index % 8];
}

bool isDarkPalette()
{
    const QPalette palette = QApplication::palette();
    return palette.color(QPalette::Window).lightness() < palette.color(QPalette::WindowText).lightness();
}

void applyChartStyle(QChart* chart)
{
    chart->setTheme(isDarkPalette() ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    chart->setBackgroundRoundness(4);
    chart->setMargins(QMargins(6, 6, 6, 6));
    chart->setAnimationOptions(QChart::NoAnimation);
    QFont font = QApplication::font();
    chart->setTitleFont(QFont(font.family(), font.pointSize() + 1, QFont::DemiBold));
    chart->legend()->setFont(font);
}

void applyChartViewStyle(QChartView* view)
{
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumHeight(220);
}

void installStyledChart(QChartView* view, Qt::Alignment legend)
{
    auto* chart = new QChart;
    applyChartStyle(chart);
    chart->legend()->setAlignment(legend);
    view->setChart(chart);
    applyChartViewStyle(view);
}

void clearChart(QChart* chart)
{
    chart->removeAllSeries();
    for (QAbstractAxis* axis : chart->axes())
        chart->removeAxis(axis);
}

double niceTickInterval(double span, int maxTicks)
{
    if (!(span > 0.0) || !std::isfinite(span) || maxTicks < 1)
        return 0.0;
    const double raw = span / maxTicks;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    for (double step : {1.0, 2.0, 5.0, 10.0})
        if (step * power >= raw * (1.0 - 1e-9))
            return step * power;
    return 10.0 * power;
}

} // namespace quantlens::ui
