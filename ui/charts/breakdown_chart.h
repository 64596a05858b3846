#pragma once

#include <QChartView>
#include <QList>
#include <QString>

class QBarSet;
class QHorizontalStackedBarSeries;
class QLineSeries;
class QValueAxis;
class QBarCategoryAxis;

namespace quantlens::ui {

// What the breakdown chart draws: one stacked bar per scenario (usually one), each segment a
// memory component, and the GPU's usable capacity as a vertical line.
struct BreakdownSegment {
    QString key; // "weights", "gradients", ... (picks the colour)
    QString label; // "Weights"
    double bytes = 0;
    QString formula; // shown on hover, with its numbers
};

struct BreakdownScenario {
    QString name; // category label, e.g. "This plan"
    QList<BreakdownSegment> segments;
};

struct BreakdownData {
    QList<BreakdownScenario> scenarios;
    double capacityBytes = 0; // usable; 0 draws no line
    QString capacityLabel; // e.g. "H100 SXM usable 79.6 GiB"
};

// A horizontal stacked bar chart in GB with the capacity line; hovering a segment shows its
// formula. setData() replaces everything in one step.
class BreakdownChart : public QChartView {
    Q_OBJECT
public:
    explicit BreakdownChart(QWidget* parent = nullptr);
    void setData(const BreakdownData& data);
    const BreakdownData& data() const { return m_data; }

    // For tests: the bytes drawn for `key` in scenario `scenario` (read back from the bar sets), -1 when absent.
    double drawnBytes(const QString& key, int scenario = 0) const;
    double drawnCapacityBytes() const;

private:
    void showSegmentTooltip(QBarSet* set, bool status, int index);

    BreakdownData m_data;
    QHorizontalStackedBarSeries* m_series = nullptr;
    QLineSeries* m_capacity = nullptr;
    QValueAxis* m_valueAxis = nullptr;
    QValueAxis* m_capacityPositionAxis = nullptr;
    QBarCategoryAxis* m_categoryAxis = nullptr;
    QList<QBarSet*> m_sets;
    QList<QString> m_setKeys;
};

} // namespace quantlens::ui
