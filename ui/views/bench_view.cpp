#include "ui/views/bench_view.h"

#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan_schemes.h"
#include "core/util/error.h"
#include "core/util/units.h"
#include "gpu/benchmark.h"
#include "gpu/device.h"
#include "ui/charts/bar_limit_chart.h"
#include "ui/views/device_info_panel.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QShortcut>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <cmath>
#include <optional>

namespace quantlens::ui {

struct BenchRun {
    core::ProgressSink sink;
};

struct BenchView::Outcome {
    std::optional<core::CpuBenchmarkResult> cpu;
    std::optional<gpu::GpuBenchmarkResult> gpu;
    QString error;
    bool cancelled = false;
};

BenchView::BenchView(QWidget* parent)
    : QWidget(parent)
    , m_device(new DeviceInfoPanel(this))
{
    setObjectName(QStringLiteral("benchView"));
    m_run = new QPushButton(gpu::available() ? tr("&Run GPU benchmark") : tr("&Run CPU benchmark"), this);
    m_run->setToolTip(
        gpu::available()
            ? tr("Time NF4 dequantize/quantize and the fused GEMV against the copy bandwidth and cuBLAS")
            : tr("No GPU: time the NF4 scan on the CPU against the rate of merely reading the same bytes"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    m_cancel->setToolTip(tr("Stop the benchmark (Esc)"));
    auto* escape = new QShortcut(QKeySequence(Qt::Key_Escape), this); // active while the Bench is shown
    connect(escape, &QShortcut::activated, this, &BenchView::cancel);
    m_open = new QPushButton(tr("&Open saved results…"), this);
    m_open->setToolTip(tr("Show GPU results saved with `quantlens-cli bench --device cuda --json`, measured on "
                          "this machine or another"));
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_summary
        = new QLabel(gpu::available() ? tr("Press Run to measure.")
                                      : tr("No GPU available: %1. The CPU benchmark runs instead.")
                                            .arg(QString::fromStdString(gpu::unavailableReason()).toHtmlEscaped()),
                     this);
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText); // every text put in is escaped
    m_summary->setObjectName(QStringLiteral("benchSummary"));
    m_chart = new BarLimitChart(this);
    m_table = new QTableWidget(this);
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_run);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_open);
    buttons->addWidget(m_progress, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_device);
    layout->addLayout(buttons);
    layout->addWidget(m_summary);
    layout->addWidget(m_chart, 3);
    layout->addWidget(m_table, 2);

    connect(m_run, &QPushButton::clicked, this, &BenchView::run);
    connect(m_cancel, &QPushButton::clicked, this, &BenchView::cancel);
    connect(m_open, &QPushButton::clicked, this, &BenchView::openResultsDialog);
}

BenchView::~BenchView()
{
    cancel();
    if (m_watcher)
        m_watcher->waitForFinished();
}

bool BenchView::isRunning() const
{
    return m_watcher && m_watcher->isRunning();
}

QString BenchView::summaryText() const
{
    return m_summary->text();
}

void BenchView::setCpuParameters(quint64 parameters)
{
    m_cpuParameters = parameters;
}

void BenchView::cancel()
{
    if (m_runState)
        m_runState->sink.cancel();
}

void BenchView::run()
{
    if (isRunning())
        return;
    m_run->setEnabled(false);
    m_open->setEnabled(false);
    m_cancel->setEnabled(true);
    m_progress->setRange(0, 0);
    m_summary->setText(tr("Measuring… (the machine should be otherwise idle)"));
    auto state = std::make_shared<BenchRun>();
    m_runState = state;
    auto outcome = std::make_shared<Outcome>();
    const bool useGpu = gpu::available();
    const quint64 cpuParameters = m_cpuParameters;
    m_watcher = new QFutureWatcher<void>(this);
    connect(m_watcher, &QFutureWatcher<void>::finished, this, [this, outcome] {
        m_watcher->deleteLater();
        m_watcher = nullptr;
        m_run->setEnabled(true);
        m_open->setEnabled(true);
        m_cancel->setEnabled(false);
        m_progress->setRange(0, 1);
        m_progress->setValue(1);
        showOutcome(*outcome);
        Q_EMIT benchmarkFinished();
    });
    m_watcher->setFuture(QtConcurrent::run([state, outcome, useGpu, cpuParameters] {
        try {
            if (useGpu) {
                outcome->gpu = gpu::runGpuBenchmark(gpu::GpuBenchmarkOptions {}, &state->sink);
            } else {
                core::CpuBenchmarkOptions options;
                options.parameters = cpuParameters;
                options.moreSchemes = core::makeScanSchemes("q4_k,q6_k", 64, false);
                auto schemes = core::makeScanSchemes("nf4", 64, false);
                outcome->cpu = core::runCpuBenchmark(options, schemes.front(), state->sink);
            }
        } catch (const CancelledError&) {
            outcome->cancelled = true;
        } catch (const std::exception& e) {
            outcome->error = QString::fromStdString(e.what());
        }
    }));
}

void BenchView::showOutcome(const Outcome& outcome)
{
    // What was shown before stays (and stays in a report), said to be the previous results.
    const QString previous = m_sections.empty() ? QString() : tr(" The results below are the previous ones.");
    if (outcome.cancelled) {
        m_summary->setText(tr("Cancelled.") + previous);
        return;
    }
    if (!outcome.error.isEmpty()) {
        m_summary->setText(
            tr("<span style='color:#c00000'>Benchmark failed: %1</span>").arg(outcome.error.toHtmlEscaped())
            + previous);
        return;
    }
    m_table->clear();
    m_sections.clear();
    if (outcome.cpu) {
        const auto& r = *outcome.cpu;
        m_sections.push_back(core::cpuBenchmarkSection(r));
        m_reportArguments = {QStringLiteral("--bench"), QStringLiteral("cpu"), QStringLiteral("--bench-size"),
                             QString::number(r.parameters)};
        m_summary->setText(tr("CPU, %1 threads, %2 BF16 parameters, scheme %3 on the %7 kernels: the scan runs at "
                              "<b>%4 M params/s</b>, %5% of the memory-read bound (%6 M params/s). The k-quants "
                              "are measured on the first tensor.")
                               .arg(r.threads)
                               .arg(QString::fromStdString(core::formatThousands(r.parameters)))
                               .arg(QString::fromStdString(r.scheme))
                               .arg(r.scanParametersPerSecond / 1e6, 0, 'f', 1)
                               .arg(r.fractionOfReadBound * 100, 0, 'f', 1)
                               .arg(r.readBoundParametersPerSecond / 1e6, 0, 'f', 1)
                               .arg(QString::fromStdString(r.instructionSet)));
        BarLimitData data;
        data.title = tr("CPU rates (M parameters/s)");
        data.valueTitle = tr("M params/s");
        BarLimitData::Set set {tr("measured"), {}};
        m_table->setColumnCount(4);
        m_table->setHorizontalHeaderLabels({tr("Measurement"), tr("What"), tr("M params/s"), tr("GB/s of BF16 read")});
        m_table->setRowCount(int(r.rows.size()));
        int row = 0;
        for (const auto& x : r.rows) {
            const QString label = QString::fromStdString(core::cpuBenchmarkRowLabel(x));
            data.categories << QString::fromStdString(x.name); // the set is in the summary and the table
            set.values << std::round(x.parametersPerSecond / 1e6);
            const QStringList cells {label, QString::fromStdString(x.what),
                                     QString::number(x.parametersPerSecond / 1e6, 'f', 1),
                                     QString::number(x.bytesPerSecond / 1e9, 'f', 2)};
            for (int c = 0; c < cells.size(); ++c)
                m_table->setItem(row, c, new QTableWidgetItem(cells[c]));
            ++row;
        }
        data.sets << set;
        data.limit = r.readBoundParametersPerSecond / 1e6;
        data.limitLabel = tr("memory-read bound");
        data.logScale = true;
        m_chart->setData(data);
        return;
    }
    if (outcome.gpu)
        showGpuResult(*outcome.gpu, QString());
}

void BenchView::openResultsDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open saved GPU benchmark results"), QString(),
                                                      tr("Benchmark results (*.json);;All files (*)"));
    if (!path.isEmpty())
        openResults(path);
}

void BenchView::showSavedResults(const QString& path)
{
    if (isRunning())
        throw UsageError("a benchmark is running; cancel it or let it finish first");
    showGpuResult(gpu::loadGpuBenchmark(path.toStdString()), path);
}

bool BenchView::openResults(const QString& path)
{
    try {
        showSavedResults(path);
        return true;
    } catch (const std::exception& e) {
        m_summary->setText(
            tr("<span style='color:#c00000'>Cannot show %1: %2</span>")
                .arg(QFileInfo(path).fileName().toHtmlEscaped(), QString::fromStdString(e.what()).toHtmlEscaped()));
        return false;
    }
}

// `origin` is the file the results were read from; empty when they were just measured here.
void BenchView::showGpuResult(const gpu::GpuBenchmarkResult& r, const QString& origin)
{
    m_table->clear();
    m_sections.clear();
    m_sections.push_back(gpu::toBenchSection(r, origin.toStdString()));
    m_reportArguments = origin.isEmpty() ? QStringList {QStringLiteral("--bench"), QStringLiteral("cuda")}
                                         : QStringList {QStringLiteral("--bench-from"), origin};
    QString summary = tr("%1: device-to-device copy %2 GB/s (read + write). NF4 block size %3, median of %4 runs.")
                          .arg(QString::fromStdString(r.device.name).toHtmlEscaped())
                          .arg(r.copyGbPerSecond, 0, 'f', 0)
                          .arg(r.blocksize)
                          .arg(r.repetitions);
    if (!origin.isEmpty())
        summary = tr("Saved results from <b>%1</b>%2 — %3")
                      .arg(QFileInfo(origin).fileName().toHtmlEscaped(),
                           r.measuredAt.empty()
                               ? QString()
                               : tr(", measured %1").arg(QString::fromStdString(r.measuredAt).toHtmlEscaped()),
                           summary);
    m_summary->setText(summary);
    BarLimitData data;
    data.title = tr("Achieved GB/s per weight shape");
    data.valueTitle = tr("GB/s");
    BarLimitData::Set deq {tr("NF4→bf16 dequantize"), {}};
    BarLimitData::Set deqDq {tr("dequantize (double quant)"), {}};
    BarLimitData::Set quant {tr("bf16→NF4 quantize"), {}};
    // Every figure `bench --from` prints, so that nothing measured is only in the file.
    QStringList headers {
        tr("Shape"),        tr("dequant ms"),     tr("% copy"), tr("DQ % copy"), tr("same-size copy % copy"),
        tr("quant % copy"), tr("quant DQ % copy")};
    int maxBatches = 0;
    for (const auto& s : r.shapes)
        maxBatches = std::max(maxBatches, int(s.gemv.size()));
    for (int b = 0; b < maxBatches && !r.shapes.empty(); ++b) {
        const int batch = r.shapes.front().gemv[std::size_t(b)].batch;
        headers << tr("GEMV b=%1 ms").arg(batch) << tr("cuBLAS b=%1 ms").arg(batch)
                << tr("GEMV b=%1 speedup").arg(batch) << tr("FMA kernel b=%1 ms").arg(batch);
    }
    m_table->setColumnCount(int(headers.size()));
    m_table->setHorizontalHeaderLabels(headers);
    m_table->setRowCount(int(r.shapes.size()));
    int row = 0;
    for (const auto& s : r.shapes) {
        const QString shape = QStringLiteral("%1×%2").arg(s.rows).arg(s.cols);
        data.categories << shape;
        // Whole GB/s: the bars' labels must fit inside them.
        deq.values << std::round(s.dequantize.gbPerSecond);
        deqDq.values << std::round(s.dequantizeDoubleQuant.gbPerSecond);
        quant.values << std::round(s.quantize.gbPerSecond);
        // Results saved before the same-size copy was measured have none: shown as a dash, not 0.
        const QString sameSize = s.sameSizeCopy.milliseconds > 0
            ? QString::number(s.sameSizeCopy.copyFraction * 100, 'f', 1)
            : QStringLiteral("—");
        QStringList cells {shape,
                           QString::number(s.dequantize.milliseconds, 'f', 4),
                           QString::number(s.dequantize.copyFraction * 100, 'f', 1),
                           QString::number(s.dequantizeDoubleQuant.copyFraction * 100, 'f', 1),
                           sameSize,
                           QString::number(s.quantize.copyFraction * 100, 'f', 1),
                           QString::number(s.quantizeDoubleQuant.copyFraction * 100, 'f', 1)};
        for (const auto& g : s.gemv)
            cells << QString::number(g.oursMilliseconds, 'f', 4) << QString::number(g.cublasMilliseconds, 'f', 4)
                  << QStringLiteral("%1×").arg(g.speedup, 0, 'f', 2) << QString::number(g.cudaCoreMilliseconds, 'f', 4);
        for (int c = 0; c < cells.size(); ++c)
            m_table->setItem(row, c, new QTableWidgetItem(cells[c]));
        ++row;
    }
    data.sets << deq << deqDq << quant;
    data.limit = r.copyGbPerSecond;
    data.limitLabel = tr("measured copy bandwidth");
    m_chart->setData(data);
}

} // namespace quantlens::ui
