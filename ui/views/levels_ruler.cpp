#include "ui/views/levels_ruler.h"

#include "ui/charts/chart_style.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace quantlens::ui {

namespace {

constexpr double kRulerTicks[] = {-1.0, -0.5, 0.0, 0.5, 1.0};

} // namespace

QList<LevelsRuler::Label> LevelsRuler::labels() const
{
    QList<Label> out;
    const bool levelsLabelled = m_levels.size() <= 16;
    for (double v : kRulerTicks) {
        const bool alsoALevel = levelsLabelled
            && std::any_of(m_levels.begin(), m_levels.end(), [v](double level) { return std::abs(level - v) < 1e-9; });
        if (!alsoALevel)
            out.append({v, false});
    }
    if (levelsLabelled)
        for (double level : m_levels)
            out.append({level, true});
    return out;
}

LevelsRuler::LevelsRuler(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("levelsRuler"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void LevelsRuler::setData(const QString& caption, const QList<double>& levels, const QList<Example>& examples)
{
    m_caption = caption;
    m_levels = levels;
    m_examples = examples;
    update();
}

QSize LevelsRuler::sizeHint() const
{
    return {720, 12 * fontMetrics().height()};
}

QSize LevelsRuler::minimumSizeHint() const
{
    return {360, 10 * fontMetrics().height()};
}

void LevelsRuler::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    const int lineHeight = fontMetrics().height();
    const double left = 3.0 * lineHeight;
    const double right = width() - 3.0 * lineHeight;
    const double axisY = height() - 3.5 * lineHeight;
    const double examplesY = 2.2 * lineHeight;
    auto xOf = [&](double v) { return left + (v + 1.0) / 2.0 * (right - left); };

    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(QRectF(0, 0, width(), lineHeight * 1.2), Qt::AlignHCenter | Qt::AlignTop, m_caption);

    // The ruler: the interval [-1, 1] with 0 marked.
    QPen axisPen(pal.color(QPalette::WindowText));
    axisPen.setWidthF(1.5);
    p.setPen(axisPen);
    p.drawLine(QPointF(xOf(-1.0), axisY), QPointF(xOf(1.0), axisY));
    const QList<Label> written = labels();
    for (double v : kRulerTicks)
        p.drawLine(QPointF(xOf(v), axisY - 3), QPointF(xOf(v), axisY + 3));
    for (const Label& label : written) {
        if (!label.level)
            p.drawText(QRectF(xOf(label.value) - 2 * lineHeight, axisY + 0.9 * lineHeight, 4 * lineHeight, lineHeight),
                       Qt::AlignHCenter, QString::number(label.value, 'g', 3));
    }

    // The levels as tall coloured ticks.
    const QColor levelColor = seriesColor(0);
    QPen levelPen(levelColor);
    levelPen.setWidthF(m_levels.size() > 64 ? 1.0 : 2.5);
    p.setPen(levelPen);
    for (double level : m_levels)
        p.drawLine(QPointF(xOf(level), axisY - 0.8 * lineHeight), QPointF(xOf(level), axisY + 0.4 * lineHeight));
    if (m_levels.size() <= 16) {
        QFont small = font();
        small.setPointSizeF(small.pointSizeF() * 0.8);
        p.setFont(small);
        p.setPen(levelColor);
        for (const Label& label : written) {
            if (label.level)
                p.drawText(
                    QRectF(xOf(label.value) - 2 * lineHeight, axisY + 1.9 * lineHeight, 4 * lineHeight, lineHeight),
                    Qt::AlignHCenter, QString::number(label.value, 'g', 3));
        }
        p.setFont(font());
    }

    // Example values with an arrow to their level.
    const QColor exampleColor = seriesColor(1);
    for (int i = 0; i < m_examples.size(); ++i) {
        const auto& e = m_examples[i];
        const double y = examplesY + (i % 2) * 0.9 * lineHeight;
        const QPointF from(xOf(e.value), y + 0.5 * lineHeight);
        const QPointF to(xOf(e.snapped), axisY - 0.9 * lineHeight);
        p.setPen(exampleColor);
        p.setBrush(exampleColor);
        p.drawEllipse(QPointF(xOf(e.value), y), 3.5, 3.5);
        p.drawText(QRectF(xOf(e.value) - 2.5 * lineHeight, y - 1.3 * lineHeight, 5 * lineHeight, lineHeight),
                   Qt::AlignHCenter, QString::number(e.value, 'g', 3));
        QPen arrowPen(exampleColor);
        arrowPen.setWidthF(1.5);
        p.setPen(arrowPen);
        p.drawLine(from, to);
        const double angle = std::atan2(to.y() - from.y(), to.x() - from.x());
        const double head = 7;
        QPainterPath arrow;
        arrow.moveTo(to);
        arrow.lineTo(to - QPointF(head * std::cos(angle - 0.4), head * std::sin(angle - 0.4)));
        arrow.lineTo(to - QPointF(head * std::cos(angle + 0.4), head * std::sin(angle + 0.4)));
        arrow.closeSubpath();
        p.drawPath(arrow);
    }
}

} // namespace quantlens::ui
