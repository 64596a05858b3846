#include "ui/report/report_charts.h"

#include "core/util/str_cat.h"
#include "core/util/units.h"
#include "ui/charts/advisor_charts.h"
#include "ui/charts/breakdown_chart.h"
#include "ui/charts/error_by_layer_chart.h"
#include "ui/charts/quality_charts.h"
#include "ui/charts/sweep_chart.h"

#include <QBuffer>
#include <QChart>
#include <QCoreApplication>
#include <QMap>
#include <QPainter>
#include <QResizeEvent>
#include <QSvgGenerator>

namespace quantlens::ui {

namespace {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

// Lays the chart out at `size` without showing a window: a hidden widget defers its resize event
// until shown, so it is sent here; the chart's own layout then runs from the event loop.
void layOut(QChartView* view, QSize size)
{
    view->setAttribute(Qt::WA_DontShowOnScreen);
    view->setFrameShape(QFrame::NoFrame);
    view->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    view->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    view->resize(size);
    QResizeEvent resize(size, QSize());
    QCoreApplication::sendEvent(view, &resize);
    view->chart()->resize(size);
    QCoreApplication::processEvents();
}

BreakdownData breakdownData(const core::PlanScenario& p)
{
    BreakdownData data;
    BreakdownScenario scenario {qs(p.name), {}};
    for (const auto& c : p.result.components) {
        if (c.bytesAtPeak == 0)
            continue;
        scenario.segments << BreakdownSegment {QString::fromLatin1(core::componentKey(c.component)),
                                               QString::fromLatin1(core::componentLabel(c.component)),
                                               double(c.bytesAtPeak), qs(c.formula)};
    }
    data.scenarios << scenario;
    if (p.result.gpu) {
        data.capacityBytes = double(p.result.gpu->memoryBytesUsable);
        // GB first: the axis is in GB. Without the GPU's name, which the text above the chart gives:
        // "NVIDIA GeForce RTX 4090 usable: ..." was cut off in the report's narrow legend.
        data.capacityLabel = QStringLiteral("GPU usable: %1 (%2)")
                                 .arg(qs(core::formatGB(double(p.result.gpu->memoryBytesUsable))),
                                      qs(core::formatGiB(double(p.result.gpu->memoryBytesUsable), 1)));
    }
    return data;
}

SweepData sweepData(const core::PlanScenario& p)
{
    SweepData data;
    data.title = QStringLiteral("Peak vs sequence length (batch %1)").arg(p.input.microBatch);
    data.xTitle = QStringLiteral("sequence length (tokens)");
    const std::uint64_t capacity = p.result.gpu ? p.result.gpu->memoryBytesUsable : 0;
    data.capacityBytes = double(capacity);
    for (const auto& point : p.seqSweep)
        data.points << QPointF(double(point.value), double(point.result.peakBytes));
    // The sweep holds the longest sequence that fits (makePlanScenario): the legend gives it exactly.
    if (capacity > 0 && p.maxSeqLen && *p.maxSeqLen > 0) {
        data.largestFitting = double(*p.maxSeqLen);
        data.largestFittingIsExact = true;
        data.largestFittingAtSearchLimit = *p.maxSeqLen >= core::kMaxSeqLenSearched;
    }
    return data;
}

// One line per role, as the inspector's "by role" view draws it. Vectors (norms, biases) are left
// out: they are not quantized in practice, and two norms per layer would draw a zigzag.
ErrorByLayerData errorData(const core::ScanResult& scan, const std::string& scheme)
{
    ErrorByLayerData data;
    data.metric = QStringLiteral("relative error (%1)").arg(qs(scheme));
    data.logY = true;
    QMap<QString, QList<QPointF>> lines;
    for (const auto& t : scan.tensors) {
        if (t.scheme != scheme || t.layer < 0 || !t.skipped.empty() || t.shape.size() < 2)
            continue;
        lines[QString::fromLatin1(core::roleName(t.role).data(), qsizetype(core::roleName(t.role).size()))]
            << QPointF(t.layer, t.error.relError);
    }
    for (auto it = lines.cbegin(); it != lines.cend(); ++it)
        data.series << ErrorByLayerSeries {it.key(), it.value()};
    return data;
}

} // namespace

QString chartToSvg(QChartView* view, QSize size, const QString& title)
{
    layOut(view, size);
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator generator;
    generator.setOutputDevice(&buffer);
    generator.setSize(size);
    generator.setViewBox(QRect(QPoint(0, 0), size));
    generator.setTitle(title);
    generator.setDescription(QStringLiteral("QuantLens chart"));
    {
        QPainter painter(&generator);
        painter.setRenderHint(QPainter::Antialiasing);
        view->render(&painter, QRectF(QPointF(0, 0), QSizeF(size)), view->viewport()->rect());
    }
    return QString::fromUtf8(buffer.data());
}

core::ReportCharts renderReportCharts(const core::ReportData& data, const core::ReportSections& sections, QSize size)
{
    core::ReportCharts charts;
    if (sections.plans) {
        for (std::size_t i = 0; i < data.plans.size(); ++i) {
            const auto& p = data.plans[i];
            BreakdownChart breakdown;
            breakdown.setData(breakdownData(p));
            // As the Planner titles it; the phase of the peak is long ("start of the backward pass
            // (activations + logits; ...)") and was cut off here: the text above the chart gives it.
            breakdown.chart()->setTitle(
                QStringLiteral("Peak GPU memory per GPU: %1").arg(qs(core::formatGB(double(p.result.peakBytes)))));
            charts.svg[strCat("breakdown/", i)]
                = chartToSvg(&breakdown, QSize(size.width(), size.height() * 2 / 3), QStringLiteral("Memory breakdown"))
                      .toStdString();
            if (!p.seqSweep.empty()) {
                SweepChart sweep;
                sweep.setData(sweepData(p));
                charts.svg[strCat("sweep/", i)]
                    = chartToSvg(&sweep, size, QStringLiteral("Peak against sequence length")).toStdString();
            }
        }
    }
    if (sections.errors && data.scan) {
        const auto schemes = core::scanSchemes(*data.scan);
        for (std::size_t k = 0; k < schemes.size(); ++k) {
            const auto lines = errorData(*data.scan, schemes[k]);
            if (lines.series.isEmpty())
                continue;
            ErrorByLayerChart chart;
            chart.setData(lines);
            charts.svg[strCat("errors/", k)]
                = chartToSvg(&chart, size, QStringLiteral("Relative error by layer")).toStdString();
        }
    }
    if (sections.quality && data.quality) {
        const auto& q = *data.quality;
        if (!q.results.empty()) {
            QList<QualityPoint> points;
            for (const auto& c : q.results)
                points.append({qs(c.name), c.bitsPerParameter, c.kl.mean, c.top1Agreement});
            QualitySizeChart chart;
            chart.setPoints(points);
            charts.svg["quality/size"]
                = chartToSvg(&chart, size, QStringLiteral("Output error against size")).toStdString();
        }
        if (!q.sensitivity.empty()) {
            QList<SensitivityBar> bars;
            for (const auto& s : q.sensitivity)
                bars.append({qs(s.group), s.klMean});
            SensitivityChart chart;
            chart.setBars(QStringLiteral("Mean KL with one %1 at a time in %2")
                              .arg(qs(q.sensitivityMode), qs(q.sensitivity.front().scheme)),
                          bars);
            charts.svg["quality/sensitivity"] = chartToSvg(&chart, size, QStringLiteral("Sensitivity")).toStdString();
        }
    }
    if (sections.advice && data.advice) {
        const auto& a = *data.advice;
        const double parameters = double(std::max<std::uint64_t>(a.parameters, 1));
        const auto bitsOf = [parameters](std::uint64_t bytes) { return double(bytes) * 8.0 / parameters; };
        QList<QPointF> frontier;
        for (const auto& p : a.frontier)
            frontier.append({bitsOf(p.bytes), p.cost});
        QList<FrontierChart::Point> alone, llama;
        for (const auto& u : a.uniform)
            alone.append({qs(u.scheme), bitsOf(u.bytes), u.cost});
        for (const auto& u : a.llamaCppMixes)
            llama.append({qs(u.scheme), bitsOf(u.bytes), u.cost});
        FrontierChart chart;
        chart.setData(frontier, alone, llama, {QStringLiteral("mix"), bitsOf(a.totalBytes), a.predictedCost},
                      qs(a.costId));
        charts.svg["advice/frontier"] = chartToSvg(&chart, size, QStringLiteral("Advisor frontier")).toStdString();
    }
    return charts;
}

} // namespace quantlens::ui
