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
    // The values written under the ruler: -1, -0.5, 0, 0.5, 1, and each level when there are 16 or
    // fewer; a value that is both is written once, as a level (#17: the k-bit tab wrote them twice).
    struct Label {
        double value = 0;
        bool level = false; // on the levels' row, in their colour
    };
    QList<Label> labels() const;

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
