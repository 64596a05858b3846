#pragma once

#include <QChartView>
#include <QList>
#include <QPointF>
#include <QString>

class QLineSeries;
class QScatterSeries;

namespace quantlens::ui {

// Peak memory against one swept input (sequence length or micro-batch).
struct SweepData {
    QString title; // "Peak memory vs sequence length"
    QString xTitle; // "sequence length (tokens)"
    bool logX = true; // powers of two read better on a log2 axis
    QList<QPointF> points; // x, peak bytes
    double capacityBytes = 0;
    double largestFitting = 0; // x of the marker: the largest value that fits; 0 when none fits
    // True when largestFitting is the true maximum (the planner's search), false when it is only
    // the largest of the swept values that fits (a larger unswept value may fit too).
    bool largestFittingIsExact = false;
    // True when largestFitting is the planner search's limit (65,536 / 10,000,000): at least that.
    bool largestFittingAtSearchLimit = false;
};

// 2^exponent as a sweep axis labels it: 256, 1K, 64K, 1M, 2G.
QString compactPowerOfTwo(int exponent);

class SweepChart : public QChartView {
    Q_OBJECT
public:
    explicit SweepChart(QWidget* parent = nullptr);
    void setData(const SweepData& data);
    const SweepData& data() const { return m_data; }

private:
    SweepData m_data;
};

} // namespace quantlens::ui
