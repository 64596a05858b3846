#include "ui/charts/advisor_charts.h"

#include "ui/charts/chart_style.h"

#include <QHelpEvent>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPainter>
#include <QScatterSeries>
#include <QToolTip>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantlens::ui {

namespace {

constexpr int kCell = 14;
constexpr int kLabelWidth = 78;
constexpr int kTop = 16;

} // namespace

AdvisorStrip::AdvisorStrip(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("advisorStrip"));
    setMouseTracking(true);
}

void AdvisorStrip::setCells(const QList<Cell>& cells)
{
    m_cells = cells;
    m_roles.clear();
    m_layers.clear();
    QStringList schemes;
    for (const auto& c : cells) {
        if (!m_roles.contains(c.role))
            m_roles << c.role;
        if (!m_layers.contains(c.layer))
            m_layers << c.layer;
        if (!schemes.contains(c.scheme))
            schemes << c.scheme;
    }
    std::sort(m_layers.begin(), m_layers.end());
    // Colours by name order of a fixed list, so a type keeps its colour between budgets.
    static const QStringList order {QStringLiteral("q2_k"),   QStringLiteral("q3_k"), QStringLiteral("q4_0"),
                                    QStringLiteral("q4_1"),   QStringLiteral("q4_k"), QStringLiteral("nf4"),
                                    QStringLiteral("nf4-dq"), QStringLiteral("fp4"),  QStringLiteral("q5_0"),
                                    QStringLiteral("q5_1"),   QStringLiteral("q5_k"), QStringLiteral("q6_k"),
                                    QStringLiteral("q8_0"),   QStringLiteral("fp16"), QStringLiteral("keep")};
    std::sort(schemes.begin(), schemes.end(), [](const QString& a, const QString& b) {
        const auto ia = order.indexOf(a), ib = order.indexOf(b);
        return ia != ib ? (ia < 0 ? 99 : ia) < (ib < 0 ? 99 : ib) : a < b;
    });
    m_schemes = schemes;
    updateGeometry();
    update();
}

QColor AdvisorStrip::colorOf(const QString& scheme) const
{
    if (scheme == QStringLiteral("fp16") || scheme == QStringLiteral("keep"))
        return QColor(0x99, 0x99, 0x99);
    // Few bits warm, many bits cool, each type of the mix its own colour (Okabe-Ito order).
    static const QColor ramp[]
        = {QColor(0xD5, 0x5E, 0x00), QColor(0xE6, 0x9F, 0x00), QColor(0xF0, 0xE4, 0x42), QColor(0x00, 0x9E, 0x73),
           QColor(0x56, 0xB4, 0xE9), QColor(0x00, 0x72, 0xB2), QColor(0xCC, 0x79, 0xA7), QColor(0x33, 0x33, 0x33)};
    const auto i = m_schemes.indexOf(scheme);
    return ramp[(i < 0 ? 0 : i) % 8];
}

QRect AdvisorStrip::cellRect(int row, int column) const
{
    return QRect(kLabelWidth + column * kCell, kTop + row * kCell, kCell - 1, kCell - 1);
}

QSize AdvisorStrip::sizeHint() const
{
    return QSize(kLabelWidth + int(m_layers.size()) * kCell + 8, kTop + int(m_roles.size()) * kCell + 24);
}

QSize AdvisorStrip::minimumSizeHint() const
{
    return QSize(kLabelWidth + 8 * kCell, kTop + int(m_roles.size()) * kCell + 24);
}

void AdvisorStrip::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing, false);
    const QFontMetrics fm = fontMetrics();
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRect(0, 0, kLabelWidth, kTop), Qt::AlignLeft | Qt::AlignVCenter, tr("role \\ layer"));
    for (int c = 0; c < m_layers.size(); ++c) {
        if (m_layers[c] >= 0 && (m_layers[c] % 4 == 0 || m_layers.size() <= 16))
            p.drawText(QRect(kLabelWidth + c * kCell - 8, 0, kCell + 16, kTop), Qt::AlignCenter,
                       QString::number(m_layers[c]));
    }
    for (int r = 0; r < m_roles.size(); ++r)
        p.drawText(QRect(0, kTop + r * kCell, kLabelWidth - 4, kCell), Qt::AlignLeft | Qt::AlignVCenter,
                   fm.elidedText(m_roles[r], Qt::ElideRight, kLabelWidth - 4));
    for (const auto& cell : m_cells)
        p.fillRect(cellRect(int(m_roles.indexOf(cell.role)), int(m_layers.indexOf(cell.layer))), colorOf(cell.scheme));
    // The legend.
    int x = kLabelWidth;
    const int y = kTop + int(m_roles.size()) * kCell + 6;
    for (const auto& s : m_schemes) {
        p.fillRect(QRect(x, y + 2, 10, 10), colorOf(s));
        p.setPen(palette().color(QPalette::WindowText));
        p.drawText(QPoint(x + 13, y + 11), s);
        x += 13 + fm.horizontalAdvance(s) + 12;
    }
}

bool AdvisorStrip::event(QEvent* e)
{
    if (e->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(e);
        for (const auto& cell : m_cells) {
            if (cellRect(int(m_roles.indexOf(cell.role)), int(m_layers.indexOf(cell.layer))).contains(help->pos())) {
                QToolTip::showText(help->globalPos(), cell.tooltip, this);
                return true;
            }
        }
        QToolTip::hideText();
        return true;
    }
    return QWidget::event(e);
}

FrontierChart::FrontierChart(QWidget* parent)
    : QChartView(parent)
{
    installStyledChart(this, Qt::AlignBottom);
    setObjectName(QStringLiteral("frontierChart"));
    chart()->setTitle(tr("Error against size"));
}

void FrontierChart::setData(const QList<QPointF>& frontier, const QList<Point>& uniform, const QList<Point>& llamaCpp,
                            const Point& chosen, const QString& costId)
{
    QChart* c = chart();
    clearChart(c);
    QString label = QString::fromStdString(core::costLabel(costId.toStdString()));
    label[0] = label[0].toUpper();
    c->setTitle(tr("%1 against bits/param").arg(label));
    m_uniform = int(uniform.size());
    double xMin = std::numeric_limits<double>::max(), xMax = 0, yMin = std::numeric_limits<double>::max(), yMax = 0;
    const auto see = [&](double x, double y) {
        xMin = std::min(xMin, x);
        xMax = std::max(xMax, x);
        if (y > 0) {
            yMin = std::min(yMin, y);
            yMax = std::max(yMax, y);
        }
    };
    for (const auto& p : frontier)
        see(p.x(), p.y());
    for (const auto& p : uniform)
        see(p.bitsPerParameter, p.cost);
    for (const auto& p : llamaCpp)
        see(p.bitsPerParameter, p.cost);
    if (xMin > xMax || yMin > yMax)
        return;
    // A lossless type (16-bit of a 16-bit model) has an error of 1e-15: the axis stops six decades
    // below the largest error, and what lies under it is not drawn.
    yMin = std::max(yMin, yMax * 1e-6);
    auto* x = new QValueAxis;
    x->setTitleText(tr("bits per parameter"));
    x->setRange(std::floor(xMin), std::ceil(xMax));
    x->setLabelFormat(QStringLiteral("%.0f"));
    c->addAxis(x, Qt::AlignBottom);
    auto* y = new QLogValueAxis;
    y->setTitleText(QString::fromStdString(core::costFormula(costId.toStdString())));
    y->setLabelFormat(QStringLiteral("%.0e"));
    y->setRange(std::pow(10.0, std::floor(std::log10(yMin))), std::pow(10.0, std::ceil(std::log10(yMax))));
    c->addAxis(y, Qt::AlignLeft);
    const auto attach = [&](QXYSeries* s) {
        c->addSeries(s);
        s->attachAxis(x);
        s->attachAxis(y);
    };
    auto* line = new QLineSeries;
    line->setName(tr("advisor"));
    QPen pen(seriesColor(0));
    pen.setWidth(2);
    line->setPen(pen);
    for (const auto& p : frontier)
        if (p.y() >= yMin)
            line->append(p);
    attach(line);
    auto* alone = new QScatterSeries;
    alone->setName(tr("alone"));
    alone->setColor(seriesColor(1));
    alone->setMarkerSize(8);
    for (const auto& p : uniform)
        if (p.cost >= yMin)
            alone->append(p.bitsPerParameter, p.cost);
    attach(alone);
    if (!llamaCpp.isEmpty()) {
        auto* mixes = new QScatterSeries;
        mixes->setName(tr("llama.cpp"));
        mixes->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
        mixes->setColor(seriesColor(2));
        mixes->setMarkerSize(8);
        for (const auto& p : llamaCpp)
            if (p.cost >= yMin)
                mixes->append(p.bitsPerParameter, p.cost);
        attach(mixes);
    }
    auto* now = new QScatterSeries;
    now->setName(tr("mix"));
    now->setColor(seriesColor(3));
    now->setMarkerSize(13);
    if (chosen.cost >= yMin)
        now->append(chosen.bitsPerParameter, chosen.cost);
    attach(now);
}

} // namespace quantlens::ui
