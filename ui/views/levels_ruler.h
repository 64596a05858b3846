#pragma once

#include <QList>
#include <QPair>
#include <QString>
#include <QWidget>

namespace quantlens::ui {

// The picture introductory courses draw: the interval [-1, 1] as a ruler, the quantization levels
// as ticks, and example values above it with arrows to the level each one snaps to.
class LevelsRuler : public QWidget {
    Q_OBJECT
public:
    explicit LevelsRuler(QWidget* parent = nullptr);

    struct Example {
        double value = 0;
        double snapped = 0;
    };
    void setData(const QString& caption, const QList<double>& levels, const QList<Example>& examples);
    const QList<double>& levels() const { return m_levels; }
    const QList<Example>& examples() const { return m_examples; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QString m_caption;
    QList<double> m_levels;
    QList<Example> m_examples;
};

} // namespace quantlens::ui
