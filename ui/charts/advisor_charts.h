#pragma once

#include "core/advise/advisor.h"

#include <QChartView>
#include <QList>
#include <QMap>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <QWidget>

namespace quantlens::ui {

// The advisor's mix at a glance: one cell per tensor, a row per role and a column per layer
// (tensors outside the blocks in a column of their own), coloured by the type it gets.
class AdvisorStrip : public QWidget {
    Q_OBJECT
public:
    struct Cell {
        QString role; // "attn_q", "embedding"
        int layer = -1; // -1: outside the blocks
        QString scheme;
        QString tooltip;
    };
    explicit AdvisorStrip(QWidget* parent = nullptr);
    void setCells(const QList<Cell>& cells);
    const QList<Cell>& cells() const { return m_cells; }
    // The colour each scheme is drawn in (the same order every time: by increasing size).
    QColor colorOf(const QString& scheme) const;
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;

private:
    QRect cellRect(int row, int column) const;
    QList<Cell> m_cells;
    QStringList m_roles;
    QList<int> m_layers;
    QStringList m_schemes;
};

// Cost against size: the advisor's frontier, each type alone, llama.cpp's own mixes, and the mix
// chosen now.
class FrontierChart : public QChartView {
    Q_OBJECT
public:
    struct Point {
        QString name;
        double bitsPerParameter = 0.0;
        double cost = 0.0;
    };
    explicit FrontierChart(QWidget* parent = nullptr);
    void setData(const QList<QPointF>& frontier, const QList<Point>& uniform, const QList<Point>& llamaCpp,
                 const Point& chosen, const QString& costId = QStringLiteral("weight"));
    int uniformCount() const { return m_uniform; }

private:
    int m_uniform = 0;
};

} // namespace quantlens::ui
