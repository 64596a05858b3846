#pragma once

#include <QChartView>
#include <QList>
#include <QString>

namespace quantlens::ui {

// A histogram (equal-width bins) drawn as a filled step outline, with optional vertical marks
// (the quantization levels, scaled to the block's absmax).
struct HistogramData {
    QString title;
    QString xTitle;
    double lo = 0; // left edge of the first bin
    double hi = 1; // right edge of the last bin
    QList<double> counts;
    QList<double> marks; // x positions of vertical marks
    QString marksName; // legend text for the marks, e.g. "NF4 levels × absmax"
    bool logY = false;
};

class HistogramChart : public QChartView {
    Q_OBJECT
public:
    explicit HistogramChart(QWidget* parent = nullptr);
    void setData(const HistogramData& data);
    const HistogramData& data() const { return m_data; }

private:
    HistogramData m_data;
};

} // namespace quantlens::ui
