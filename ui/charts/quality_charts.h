#pragma once

#include <QChartView>
#include <QList>
#include <QString>

namespace quantlens::ui {

// One compared model of a Quality run.
struct QualityPoint {
    QString name; // "nf4", "model-q4_0.gguf"
    double bitsPerParameter = 0.0;
    double klMean = 0.0;
    double top1Agreement = 0.0; // 0..1
};

// The error-versus-size picture people choose a format from: mean KL (log scale, left) and top-1
// agreement (right) against bits per parameter, one labelled point per model.
class QualitySizeChart : public QChartView {
    Q_OBJECT
public:
    explicit QualitySizeChart(QWidget* parent = nullptr);
    void setPoints(const QList<QualityPoint>& points);
    const QList<QualityPoint>& points() const { return m_points; }

private:
    QList<QualityPoint> m_points;
};

// KL by group from a sensitivity run: one bar per layer (or role), the worst stands out.
struct SensitivityBar {
    QString group;
    double klMean = 0.0;
};

class SensitivityChart : public QChartView {
    Q_OBJECT
public:
    explicit SensitivityChart(QWidget* parent = nullptr);
    void setBars(const QString& title, const QList<SensitivityBar>& bars);
    const QList<SensitivityBar>& bars() const { return m_bars; }

private:
    QList<SensitivityBar> m_bars;
};

} // namespace quantlens::ui
