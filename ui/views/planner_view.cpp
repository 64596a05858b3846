#include "ui/views/planner_view.h"

#include "core/util/units.h"
#include "ui/charts/breakdown_chart.h"
#include "ui/charts/chart_style.h"
#include "ui/charts/sweep_chart.h"
#include "ui/error_dialog.h"
#include "ui/views/planner_form.h"
#include "ui/views/teaching_table_view.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace quantlens::ui {

namespace {

QString gbGib(double bytes)
{
    return QString::fromStdString(core::formatGBAndGiB(bytes));
}
QString gb(double bytes)
{
    return QString::fromStdString(core::formatGB(bytes));
}

constexpr int kMaxSuggestions = 6;

} // namespace

PlannerView::PlannerView(QWidget* parent)
    : QWidget(parent)
    , m_form(new PlannerForm(this))
{
    setObjectName(QStringLiteral("plannerView"));
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(m_form);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setMinimumWidth(m_form->sizeHint().width() + 24);

    m_verdict = new QLabel(this);
    m_verdict->setObjectName(QStringLiteral("verdict"));
    m_verdict->setWordWrap(true);
    m_verdict->setMargin(8);
    m_details = new QLabel(this);
    m_details->setWordWrap(true);
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_breakdown = new BreakdownChart(this);
    m_breakdown->setMinimumHeight(260);

    m_suggestionBox = new QGroupBox(tr("Suggestions"), this);
    m_suggestionLayout = new QVBoxLayout(m_suggestionBox);

    m_seqSweep = new SweepChart(this);
    m_batchSweep = new SweepChart(this);
    auto* sweeps = new QWidget(this);
    auto* sweepLayout = new QHBoxLayout(sweeps);
    sweepLayout->addWidget(m_seqSweep);
    sweepLayout->addWidget(m_batchSweep);

    m_table = new QTableWidget(this);
    m_table->setObjectName(QStringLiteral("breakdownTable"));
    m_table->setColumnCount(4);
    m_table->setHorizontalHeaderLabels({tr("Component"), tr("At peak"), tr("Full size"), tr("Formula")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_teaching = new TeachingTableView(this);

    m_tabs = new QTabWidget(this);
    m_tabs->addTab(sweeps, tr("Sweeps"));
    m_tabs->addTab(m_table, tr("Breakdown table"));
    // The teaching inputs and table are taller than the tab gets on a laptop (word-wrapped text above
    // takes more height than its layout reserves): they scroll in the tab instead of being crushed.
    auto* teachingScroll = new QScrollArea(this);
    teachingScroll->setObjectName(QStringLiteral("teachingScroll"));
    teachingScroll->setWidget(m_teaching);
    teachingScroll->setWidgetResizable(true);
    teachingScroll->setFrameShape(QFrame::NoFrame);
    m_tabs->addTab(teachingScroll, tr("Teaching table"));

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_verdict);
    rightLayout->addWidget(m_details);
    rightLayout->addWidget(m_suggestionBox);
    rightLayout->addWidget(m_breakdown, 3);
    rightLayout->addWidget(m_tabs, 3);

    auto* splitter = new QSplitter(this);
    splitter->addWidget(scroll);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QHBoxLayout(this);
    layout->addWidget(splitter);

    connect(m_form, &PlannerForm::inputChanged, this, &PlannerView::recompute);
    connect(m_form, &PlannerForm::modelFailed, this, [this](const QString& source, const QString& message) {
        showError(this, tr("Cannot use this model"), tr("%1\n\n%2").arg(source, message));
    });
    recompute(m_form->input());
}

QString PlannerView::verdictText() const
{
    return m_verdict->text();
}

core::TeachingTable PlannerView::teachingTable() const
{
    return m_teaching->table();
}

void PlannerView::recompute(const core::PlanInput& input)
{
    try {
        m_result = core::evaluate(input);
        m_suggestions = core::suggestions(input);
    } catch (const std::exception& e) {
        m_verdict->setText(tr("Cannot plan: %1").arg(QString::fromStdString(e.what()).toHtmlEscaped()));
        m_verdict->setStyleSheet(QStringLiteral("QLabel { background: #888; color: white; border-radius: 4px; }"));
        return;
    }
    showVerdict(input);
    BreakdownData data;
    BreakdownScenario scenario {tr("Peak per GPU"), {}};
    for (const auto& c : m_result.components) {
        if (c.bytesAtPeak == 0)
            continue;
        scenario.segments << BreakdownSegment {QString::fromLatin1(core::componentKey(c.component)),
                                               QString::fromLatin1(core::componentLabel(c.component)),
                                               double(c.bytesAtPeak), QString::fromStdString(c.formula)};
    }
    data.scenarios << scenario;
    if (m_result.gpu) {
        data.capacityBytes = double(m_result.gpu->memoryBytesUsable);
        // The GPU's name is in the headline; the legend has room for the number only.
        data.capacityLabel
            = tr("usable: %1").arg(QString::fromStdString(core::formatGB(double(m_result.gpu->memoryBytesUsable))));
    }
    m_breakdown->setData(data);
    m_breakdown->chart()->setTitle(tr("Peak GPU memory per GPU: %1").arg(gbGib(double(m_result.peakBytes))));
    showSuggestions();
    showSweeps(input);
    showTable();
    m_teaching->setRealistic(input, m_result);
    Q_EMIT planChanged(input, m_result);
}

void PlannerView::showVerdict(const core::PlanInput& input)
{
    const bool dark = isDarkPalette();
    QString text;
    QString style;
    if (!m_result.gpu) {
        text = tr("Peak %1 per GPU. Choose a GPU to see whether it fits.").arg(gbGib(double(m_result.peakBytes)));
        style = QStringLiteral("background: #555; color: white;");
    } else if (!m_result.cannotRun.empty()) {
        text = tr("✘ %1").arg(QString::fromStdString(m_result.cannotRun).toHtmlEscaped());
        style = dark ? QStringLiteral("background: #7a1f1f; color: white;")
                     : QStringLiteral("background: #fbd5d5; color: #5c0b0b;");
    } else if (m_result.fits) {
        // A margin inside the allocator's run-to-run variation is not a promise.
        const bool tight = !core::fitsComfortably(m_result);
        text = (tight ? tr("⚠ Fits on %1 × %2 only just: %3 to spare (peak %4 of %5 usable), under 2% — the "
                           "allocator's reserve varies that much between runs")
                      : tr("✔ Fits on %1 × %2 with %3 to spare (peak %4 of %5 usable)"))
                   .arg(input.gpus)
                   .arg(QString::fromStdString(m_result.gpu->name).toHtmlEscaped())
                   .arg(gb(double(m_result.headroomBytes)))
                   .arg(gb(double(m_result.peakBytes)))
                   .arg(gb(double(m_result.gpu->memoryBytesUsable)));
        style = tight ? (dark ? QStringLiteral("background: #6b5a00; color: white;")
                              : QStringLiteral("background: #fff4ce; color: #3b2f00;"))
                      : (dark ? QStringLiteral("background: #1e5631; color: white;")
                              : QStringLiteral("background: #d4f4dd; color: #0b3d1b;"));
    } else {
        text = tr("✘ Does not fit on %1: short by %2 (peak %3, usable %4)")
                   .arg(QString::fromStdString(m_result.gpu->name).toHtmlEscaped())
                   .arg(gb(double(-m_result.headroomBytes)))
                   .arg(gb(double(m_result.peakBytes)))
                   .arg(gb(double(m_result.gpu->memoryBytesUsable)));
        style = dark ? QStringLiteral("background: #7a1f1f; color: white;")
                     : QStringLiteral("background: #fbd5d5; color: #5c0b0b;");
    }
    m_verdict->setText(QStringLiteral("<span style='font-size:large; font-weight:600'>%1</span>").arg(text));
    m_verdict->setStyleSheet(QStringLiteral("QLabel { %1 border-radius: 4px; }").arg(style));

    QStringList details;
    details << tr("peak at %1").arg(QString::fromStdString(m_result.peakPhase).toHtmlEscaped());
    details << (m_result.simulated ? tr("PyTorch allocates %1 and reserves %2 (the step simulated through its caching "
                                        "allocator)")
                                   : tr("PyTorch allocates %1 and reserves %2 (reserve as a fraction)"))
                   .arg(gb(double(m_result.allocatedBytes)), gb(double(m_result.reservedBytes)));
    details << tr("%1 parameters, %2 trainable")
                   .arg(QString::fromStdString(core::formatThousands(m_result.totalParameters)),
                        QString::fromStdString(core::formatThousands(m_result.trainableParameters)));
    if (m_result.gpu) {
        const std::int64_t batch = core::maxMicroBatch(input);
        const std::int64_t seq = core::maxSeqLen(input);
        details << tr("largest micro-batch that fits: %1")
                       .arg(QString::fromStdString(core::searchedLimitText(batch, core::kMaxMicroBatchSearched)));
        details << tr("longest sequence that fits: %1")
                       .arg(QString::fromStdString(core::searchedLimitText(seq, core::kMaxSeqLenSearched)));
    }
    if (m_result.pagedOptimizerBytes > 0)
        details << tr("paged optimizer: %1 may spill to CPU RAM").arg(gb(double(m_result.pagedOptimizerBytes)));
    for (const auto& note : m_result.notes)
        details << QString::fromStdString(note).toHtmlEscaped();
    m_details->setText(details.join(QStringLiteral(" · ")));
}

void PlannerView::showSuggestions()
{
    while (QLayoutItem* item = m_suggestionLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    if (m_suggestions.empty()) {
        m_suggestionLayout->addWidget(
            new QLabel(core::fitsComfortably(m_result)
                           ? tr("Nothing to fix: it fits with %1 to spare.").arg(gb(double(m_result.headroomBytes)))
                           : tr("Nothing to suggest: no change lowers this plan's peak by 1% or more."),
                       m_suggestionBox));
    }
    for (int i = 0; i < int(m_suggestions.size()) && i < kMaxSuggestions; ++i) {
        const core::Suggestion& s = m_suggestions[std::size_t(i)];
        auto* row = new QWidget(m_suggestionBox);
        auto* rowLayout = new QHBoxLayout(row);
        rowLayout->setContentsMargins(0, 0, 0, 0);
        auto* label = new QLabel(tr("%1 → <b>%2</b>%3")
                                     .arg(QString::fromStdString(s.text).toHtmlEscaped(), gb(double(s.peakBytes)),
                                          s.fits ? tr(" (fits)") : QString()),
                                 row);
        label->setWordWrap(true);
        auto* apply = new QPushButton(tr("Apply"), row);
        apply->setObjectName(QStringLiteral("applySuggestion%1").arg(i));
        apply->setToolTip(tr("Change the form to this plan"));
        connect(apply, &QPushButton::clicked, this, [this, i] { applySuggestion(i); });
        rowLayout->addWidget(label, 1);
        rowLayout->addWidget(apply);
        m_suggestionLayout->addWidget(row);
    }
}

void PlannerView::applySuggestion(int index)
{
    if (index < 0 || index >= int(m_suggestions.size()))
        return;
    const core::PlanInput input = m_suggestions[std::size_t(index)].input;
    m_form->setInput(input);
}

void PlannerView::showSweeps(const core::PlanInput& input)
{
    const std::uint64_t capacity = m_result.gpu ? m_result.gpu->memoryBytesUsable : 0;
    // `largest` is the headline's largest value that fits (0: none, or no GPU chosen); the sweep
    // holds it, so the marker sits on it and its legend gives the headline's number.
    auto fill = [&](SweepChart* chart, core::SweepAxis axis, const std::vector<std::int64_t>& values,
                    std::int64_t largest, std::int64_t searchLimit, QString title, QString xTitle) {
        SweepData data;
        data.title = std::move(title);
        data.xTitle = std::move(xTitle);
        data.capacityBytes = double(capacity);
        for (std::int64_t value : values) {
            try { // one at a time: a value past the planner's limits (10M tokens, 65,536) is left out
                for (const auto& point : core::sweep(input, axis, {value}))
                    data.points << QPointF(double(point.value), double(point.result.peakBytes));
            } catch (const std::exception&) {
            }
        }
        if (capacity > 0 && largest > 0 && !data.points.isEmpty()) {
            data.largestFitting = double(largest);
            data.largestFittingIsExact = true;
            data.largestFittingAtSearchLimit = largest >= searchLimit;
        }
        chart->setData(data);
    };
    // Powers of two from `first` to at least `last`, and on to the first one past `largest` when it
    // is larger (so that the curve crosses the capacity line after it), plus `largest` itself. The
    // planner takes at most 10 million tokens and 65,536 sequences: at most 25 points.
    auto sweepValues = [](std::int64_t first, std::int64_t last, std::int64_t largest) {
        std::vector<std::int64_t> values;
        for (std::int64_t v = first; v <= std::max(last, largest); v *= 2)
            values.push_back(v);
        if (values.back() <= largest)
            values.push_back(values.back() * 2);
        if (largest > 0 && std::find(values.begin(), values.end(), largest) == values.end()) {
            values.push_back(largest);
            std::sort(values.begin(), values.end());
        }
        return values;
    };
    const std::int64_t maxSeq = capacity > 0 ? core::maxSeqLen(input) : 0;
    const std::int64_t maxBatch = capacity > 0 ? core::maxMicroBatch(input) : 0;
    fill(m_seqSweep, core::SweepAxis::SeqLen, sweepValues(256, 16384, maxSeq), maxSeq, core::kMaxSeqLenSearched,
         tr("Peak vs sequence length (batch %1)").arg(input.microBatch), tr("sequence length (tokens)"));
    fill(m_batchSweep, core::SweepAxis::MicroBatch, sweepValues(1, 64, maxBatch), maxBatch,
         core::kMaxMicroBatchSearched, tr("Peak vs micro-batch (seq %1)").arg(input.seqLen), tr("micro-batch"));
}

void PlannerView::showTable()
{
    m_table->setRowCount(0);
    for (const auto& c : m_result.components) {
        const int row = m_table->rowCount();
        m_table->insertRow(row);
        const QStringList cells {QString::fromLatin1(core::componentLabel(c.component)), gbGib(double(c.bytesAtPeak)),
                                 gbGib(double(c.bytes)), QString::fromStdString(c.formula)};
        for (int col = 0; col < cells.size(); ++col)
            m_table->setItem(row, col, new QTableWidgetItem(cells[col]));
    }
    const int row = m_table->rowCount();
    m_table->insertRow(row);
    auto* total = new QTableWidgetItem(tr("Peak (nvidia-smi)"));
    QFont bold = total->font();
    bold.setBold(true);
    total->setFont(bold);
    m_table->setItem(row, 0, total);
    auto* peak = new QTableWidgetItem(gbGib(double(m_result.peakBytes)));
    peak->setFont(bold);
    m_table->setItem(row, 1, peak);
    m_table->setItem(row, 3, new QTableWidgetItem(QString::fromStdString(m_result.peakPhase)));
}

} // namespace quantlens::ui
