#pragma once

#include <QChartView>
#include <QList>
#include <QString>
#include <QStringList>

namespace quantlens::ui {

// Grouped bars against a horizontal limit line: achieved GB/s per weight shape against the measured
// copy bandwidth, or CPU rates against the memory-read bound.
struct BarLimitData {
    QString title;
    QString valueTitle; // "GB/s"
    QStringList categories;
    struct Set {
        QString name;
        QList<double> values; // one per category
    };
    QList<Set> sets;
    double limit = 0; // 0: no line
    bool logScale = false; // for rates spanning orders of magnitude
    QString limitLabel;
};

class BarLimitChart : public QChartView {
    Q_OBJECT
public:
    explicit BarLimitChart(QWidget* parent = nullptr);
    void setData(const BarLimitData& data);
    const BarLimitData& data() const { return m_data; }

private:
    BarLimitData m_data;
};

} // namespace quantlens::ui
