#pragma once

#include <QChartView>
#include <QList>
#include <QPointF>
#include <QString>

namespace quantlens::ui {

// Error by layer index: one line per series (a scheme, or a scheme × role).
struct ErrorByLayerSeries {
    QString name; // "nf4", "nf4 · attn_q"
    QList<QPointF> points; // layer index, error value
};

struct ErrorByLayerData {
    QString metric; // "relative error", "RMSE", ...
    bool logY = false;
    QList<ErrorByLayerSeries> series;
};

class ErrorByLayerChart : public QChartView {
    Q_OBJECT
public:
    explicit ErrorByLayerChart(QWidget* parent = nullptr);
    void setData(const ErrorByLayerData& data);
    const ErrorByLayerData& data() const { return m_data; }

private:
    ErrorByLayerData m_data;
};

} // namespace quantlens::ui
