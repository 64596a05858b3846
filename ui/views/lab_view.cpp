#include "ui/views/lab_view.h"

#include "core/util/units.h"
#include "ui/charts/histogram_chart.h"
#include "ui/models/model_session.h"
#include "ui/models/scheme_catalog.h"
#include "ui/views/lab_teaching.h"
#include "ui/views/levels_ruler.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPointer>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <algorithm>
#include <cmath>
#include <set>

namespace quantlens::ui {

namespace {

// The schemes of an analysis that measured its values (not those that cannot store them).
std::vector<std::size_t> measuredSchemes(const LabAnalysis& a)
{
    std::vector<std::size_t> shown;
    for (std::size_t k = 0; k < a.schemes.size(); ++k)
        if (a.schemes[k].unavailable.isEmpty())
            shown.push_back(k);
    return shown;
}

QList<double> toList(std::span<const std::uint64_t> counts)
{
    QList<double> list;
    list.reserve(qsizetype(counts.size()));
    for (auto c : counts)
        list << double(c);
    return list;
}

QString metricsText(const LabSchemeResult& r, std::uint64_t elements)
{
    return QObject::tr("<b>%1</b>: %2 bits/param (%3 for these %4 values)<br>"
                       "RMSE %5 · max |err| %6 · mean |err| %7<br>"
                       "rel. error %8 % · SQNR %9 dB · cosine %10<br>|err| p50 %11 · p95 %12 · p99 %13%14")
        .arg(r.scheme.toHtmlEscaped())
        .arg(r.bitsPerParameter, 0, 'f', 3)
        .arg(QString::fromStdString(core::formatBinaryBytes(r.bitsPerParameter * double(elements) / 8.0)))
        .arg(QString::fromStdString(core::formatThousands(elements)))
        .arg(r.error.rmse, 0, 'g', 4)
        .arg(r.error.maxAbsError, 0, 'g', 4)
        .arg(r.error.meanAbsError, 0, 'g', 4)
        .arg(r.error.relError * 100, 0, 'f', 3)
        .arg(r.error.sqnrDb, 0, 'f', 2)
        .arg(r.error.cosine, 0, 'f', 6)
        .arg(r.error.p50AbsError, 0, 'g', 3)
        .arg(r.error.p95AbsError, 0, 'g', 3)
        .arg(r.error.p99AbsError, 0, 'g', 3)
        .arg(r.error.nonFinite() > 0
                 ? QObject::tr("<br><span style='color:#c00000'>%1 non-finite values excluded</span>")
                       .arg(r.error.nonFinite())
                 : QString());
}

} // namespace

LabView::LabView(ModelSession* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    setObjectName(QStringLiteral("labView"));
    m_source = new QLabel(this);
    m_source->setWordWrap(true);
    m_syntheticCombo = new QComboBox(this);
    m_syntheticCombo->addItem(tr("tensor from the Inspector"), -1);
    m_syntheticCombo->addItem(tr("synthetic: normal"), int(SyntheticKind::Normal));
    m_syntheticCombo->addItem(tr("synthetic: heavy-tailed"), int(SyntheticKind::HeavyTailed));
    m_syntheticCombo->addItem(tr("synthetic: with outliers"), int(SyntheticKind::Outliers));
    m_syntheticCombo->setToolTip(tr("Analyse the tensor chosen in the Model Inspector, or a synthetic distribution"));

    const auto choices = schemeChoices();
    for (int side = 0; side < 2; ++side) {
        m_schemeCombos[side] = new QComboBox(this);
        // Long scheme names must not widen the window past a laptop's screen: the combo shows about
        // 28 characters (its tooltip and the list that drops down show the name in full).
        m_schemeCombos[side]->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        m_schemeCombos[side]->setMinimumContentsLength(28);
        if (side == 1)
            m_schemeCombos[side]->addItem(tr("(none)"), QString());
        for (const auto& c : choices)
            m_schemeCombos[side]->addItem(c.label, c.id);
        m_schemeCombos[side]->setToolTip(side == 0 ? tr("The scheme on the left")
                                                   : tr("A second scheme to compare, on the right"));
        m_metrics[side] = new QLabel(this);
        m_metrics[side]->setWordWrap(true);
        m_metrics[side]->setTextInteractionFlags(Qt::TextSelectableByMouse);
        m_weightCharts[side] = new HistogramChart(this);
        m_errorCharts[side] = new HistogramChart(this);
    }
    m_schemeCombos[0]->setCurrentIndex(std::max(0, m_schemeCombos[0]->findData(QStringLiteral("nf4"))));
    m_schemeCombos[1]->setCurrentIndex(std::max(0, m_schemeCombos[1]->findData(QStringLiteral("q4_0"))));
    m_blockSize = new QSpinBox(this);
    m_blockSize->setObjectName(QStringLiteral("blockSizeSpin"));
    // 0 is each scheme's own block size (64 for NF4/FP4, 4096 for 8-bit dynamic), as in the Inspector.
    m_blockSize->setRange(0, 4096);
    m_blockSize->setSpecialValueText(tr("scheme default"));
    m_blockSize->setValue(0);
    m_blockSize->setToolTip(tr("Block size of the bitsandbytes schemes (powers of two, 32 to 4096), or each scheme's "
                               "default (64 for NF4/FP4, 4096 for 8-bit dynamic)"));
    m_doubleQuant = new QCheckBox(tr("double quantization"), this);
    m_doubleQuant->setToolTip(tr("Quantize the absmax constants to 8 bits (QLoRA's DQ)"));

    m_block = new QSpinBox(this);
    m_block->setObjectName(QStringLiteral("blockSpin"));
    m_block->setRange(0, 0);
    m_block->setToolTip(tr("Which block's values, levels and codes to show"));
    m_allBlocks = new QCheckBox(tr("levels of all blocks"), this);
    m_allBlocks->setObjectName(QStringLiteral("allBlocks"));
    m_allBlocks->setToolTip(tr("Draw the levels of the whole tensor's blocks instead of one block's"));
    m_blockInfo = new QLabel(this);
    m_blockInfo->setObjectName(QStringLiteral("blockInfo"));
    m_blockInfo->setWordWrap(true);
    m_blockTable = new QTableWidget(this);
    m_blockTable->setObjectName(QStringLiteral("blockTable"));
    m_blockTable->verticalHeader()->hide();
    m_blockTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_blockTable->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);

    m_bits = new QSlider(Qt::Horizontal, this);
    m_bits->setRange(2, 8);
    m_bits->setValue(3);
    m_bits->setTickPosition(QSlider::TicksBelow);
    m_bits->setObjectName(QStringLiteral("bitsSlider"));
    m_bits->setToolTip(tr("Bits of the teaching scheme: 2^k levels on [-1, 1]"));
    m_grid = new QComboBox(this);
    for (const auto& g : teachingGrids())
        m_grid->addItem(g.label, int(g.grid));
    m_grid->setToolTip(tr("Which level grid is drawn"));
    m_ruler = new LevelsRuler(this);
    m_teachingText = new QLabel(this);
    m_teachingText->setWordWrap(true);

    // Layout.
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Values:"), this));
    controls->addWidget(m_syntheticCombo);
    controls->addWidget(new QLabel(tr("Left:"), this));
    controls->addWidget(m_schemeCombos[0]);
    controls->addWidget(new QLabel(tr("Right:"), this));
    controls->addWidget(m_schemeCombos[1]);
    // The block options on a row of their own: on one row with the schemes the Lab alone was
    // 1,423 px wide, the window 1,567 (#17: every workspace usable at 1280 x 720).
    auto* blockOptions = new QHBoxLayout;
    blockOptions->addWidget(new QLabel(tr("Block size:"), this));
    blockOptions->addWidget(m_blockSize);
    blockOptions->addWidget(m_doubleQuant);
    blockOptions->addStretch();
    controls->addStretch();

    auto* compare = new QWidget(this);
    auto* grid = new QGridLayout(compare);
    for (int side = 0; side < 2; ++side) {
        grid->addWidget(m_weightCharts[side], 0, side);
        grid->addWidget(m_errorCharts[side], 1, side);
        grid->addWidget(m_metrics[side], 2, side);
    }
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);

    auto* blocks = new QWidget(this);
    auto* blockLayout = new QVBoxLayout(blocks);
    auto* blockControls = new QHBoxLayout;
    blockControls->addWidget(new QLabel(tr("Block:"), this));
    blockControls->addWidget(m_block);
    blockControls->addWidget(m_allBlocks);
    blockControls->addStretch();
    blockLayout->addLayout(blockControls);
    blockLayout->addWidget(m_blockInfo);
    blockLayout->addWidget(m_blockTable);

    auto* teaching = new QWidget(this);
    auto* teachingLayout = new QVBoxLayout(teaching);
    auto* teachingControls = new QHBoxLayout;
    teachingControls->addWidget(new QLabel(tr("Bits:"), this));
    teachingControls->addWidget(m_bits, 1);
    teachingControls->addWidget(m_grid);
    teachingLayout->addLayout(teachingControls);
    teachingLayout->addWidget(m_ruler);
    teachingLayout->addWidget(m_teachingText);
    teachingLayout->addStretch();

    auto* tabs = new QTabWidget(this);
    tabs->addTab(compare, tr("Histograms && error"));
    tabs->addTab(blocks, tr("Block browser"));
    tabs->addTab(teaching, tr("k-bit levels (course)"));

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_source);
    layout->addLayout(controls);
    layout->addLayout(blockOptions);
    layout->addWidget(tabs, 1);

    connect(m_syntheticCombo, &QComboBox::activated, this, [this] {
        const int kind = m_syntheticCombo->currentData().toInt();
        if (kind < 0 && m_tensorIndex >= 0)
            showTensor(m_tensorIndex);
        else if (kind >= 0)
            showSynthetic(SyntheticKind(kind));
    });
    for (QComboBox* c : m_schemeCombos)
        connect(c, &QComboBox::activated, this, &LabView::rerun);
    connect(m_blockSize, &QSpinBox::editingFinished, this, &LabView::rerun);
    connect(m_doubleQuant, &QCheckBox::toggled, this, &LabView::rerun);
    connect(m_block, &QSpinBox::valueChanged, this, &LabView::showBlock);
    connect(m_allBlocks, &QCheckBox::toggled, this, &LabView::showBlock);
    connect(m_bits, &QSlider::valueChanged, this, &LabView::updateTeaching);
    connect(m_grid, &QComboBox::activated, this, &LabView::updateTeaching);
    connect(m_session, &ModelSession::modelOpened, this, [this] { m_tensorIndex = -1; });

    updateTeaching();
    showSynthetic(SyntheticKind::Normal);
}

LabView::~LabView()
{
    if (m_watcher)
        m_watcher->waitForFinished();
}

void LabView::showTensor(int index)
{
    m_tensorIndex = index;
    m_useSynthetic = false;
    m_syntheticCombo->setCurrentIndex(0);
    rerun();
}

void LabView::showSynthetic(SyntheticKind kind)
{
    m_synthetic = kind;
    m_useSynthetic = true;
    m_syntheticCombo->setCurrentIndex(m_syntheticCombo->findData(int(kind)));
    rerun();
}

void LabView::setSchemes(const QString& left, const QString& right)
{
    m_schemeCombos[0]->setCurrentIndex(std::max(0, m_schemeCombos[0]->findData(left)));
    m_schemeCombos[1]->setCurrentIndex(std::max(0, m_schemeCombos[1]->findData(right)));
    rerun();
}

bool LabView::isBusy() const
{
    return m_watcher && m_watcher->isRunning();
}

LabRequest LabView::currentRequest() const
{
    LabRequest request;
    if (!m_useSynthetic && m_session->model() && m_tensorIndex >= 0) {
        request.model = m_session->model();
        request.tensorIndex = m_tensorIndex;
    }
    request.synthetic = m_synthetic;
    for (QComboBox* c : m_schemeCombos) {
        const QString id = c->currentData().toString();
        if (!id.isEmpty())
            request.schemes << id;
    }
    request.blockSize = m_blockSize->value();
    request.doubleQuant = m_doubleQuant->isChecked();
    return request;
}

void LabView::rerun()
{
    const LabRequest request = currentRequest();
    const quint64 generation = ++m_generation;
    auto pending = std::make_shared<LabAnalysis>();
    auto error = std::make_shared<QString>();
    m_source->setText(tr("Analysing…"));
    auto* watcher = new QFutureWatcher<void>(this);
    connect(watcher, &QFutureWatcher<void>::finished, this, [this, watcher, generation, pending, error] {
        watcher->deleteLater();
        if (m_watcher == watcher)
            m_watcher = nullptr;
        if (generation != m_generation)
            return; // a newer request replaced this one
        if (!error->isEmpty()) {
            m_source->setText(tr("<span style='color:#c00000'>%1</span>").arg(error->toHtmlEscaped()));
            Q_EMIT analysisFailed(*error);
            return;
        }
        m_analysis = std::move(*pending);
        showAnalysis();
        Q_EMIT analysisReady();
    });
    m_watcher = watcher;
    watcher->setFuture(QtConcurrent::run([request, pending, error] {
        try {
            *pending = analyse(request);
        } catch (const std::exception& e) {
            *error = QString::fromStdString(e.what());
        }
    }));
}

void LabView::showAnalysis()
{
    const LabAnalysis& a = m_analysis;
    m_source->setText(
        tr("<b>%1</b> · %2 values")
            .arg(a.source.toHtmlEscaped(), QString::fromStdString(core::formatThousands(a.values.size()))));
    for (int side = 0; side < 2; ++side) {
        const bool has = std::size_t(side) < a.schemes.size();
        m_weightCharts[side]->setVisible(has);
        m_errorCharts[side]->setVisible(has);
        m_metrics[side]->setVisible(has);
        if (!has)
            continue;
        const LabSchemeResult& r = a.schemes[std::size_t(side)];
        if (!r.unavailable.isEmpty()) {
            m_weightCharts[side]->setVisible(false);
            m_errorCharts[side]->setVisible(false);
            m_metrics[side]->setText(tr("<b>%1</b> cannot store these values: %2")
                                         .arg(r.scheme.toHtmlEscaped(), r.unavailable.toHtmlEscaped()));
            continue;
        }
        m_metrics[side]->setText(
            (r.policy.isEmpty() ? QString() : QStringLiteral("<i>%1</i><br>").arg(r.policy.toHtmlEscaped()))
            + metricsText(r, a.values.size()));
        HistogramData err;
        err.title = tr("Error Q(w) − w under %1").arg(r.scheme);
        err.xTitle = tr("error");
        err.lo = r.errorHistogram.lo();
        err.hi = r.errorHistogram.hi();
        err.counts = toList(r.errorHistogram.counts());
        err.logY = true;
        m_errorCharts[side]->setData(err);
    }
    const std::vector<std::size_t> shown = measuredSchemes(a);
    const std::uint64_t length = shown.empty()
        ? 1
        : viewBlockLength(a.schemes[shown.front()].scheme, a.shape, m_blockSize->value(), m_doubleQuant->isChecked());
    m_block->setRange(0, std::max(0, int((a.values.size() + length - 1) / length) - 1));
    showBlock();
}

// An empty block browser with `info` under it: no rows of an earlier block stay behind.
void LabView::showNoBlock(const QString& info)
{
    m_blockTable->clear();
    m_blockTable->setRowCount(0);
    m_blockTable->setColumnCount(0);
    m_blockInfo->setText(info);
}

void LabView::showBlock()
{
    const LabAnalysis& a = m_analysis;
    // The schemes that measured these values, in side order; views[k] is schemes[shown[k]].
    const std::vector<std::size_t> shown = measuredSchemes(a);
    if (a.values.empty() || shown.empty()) {
        showNoBlock(QString());
        return;
    }
    const auto block = std::uint64_t(m_block->value());
    const bool all = m_allBlocks->isChecked();
    QList<BlockLevels> views;
    try {
        for (const std::size_t k : shown) {
            const auto& r = a.schemes[k];
            // The spin box counts the left scheme's blocks; another scheme shows its block that holds
            // the left block's first element (its blocks may be longer: a row, 256 for the k-quants).
            std::uint64_t own = block;
            if (!views.isEmpty())
                own = views.front().first
                    / viewBlockLength(r.scheme, a.shape, m_blockSize->value(), m_doubleQuant->isChecked());
            views << blockLevels(r.scheme, a.values, a.shape, own, false, m_blockSize->value(),
                                 m_doubleQuant->isChecked());
            if (all) {
                const BlockLevels whole = blockLevels(r.scheme, a.values, a.shape, 0, true, m_blockSize->value(),
                                                      m_doubleQuant->isChecked());
                views.back().levels = whole.levels;
                views.back().description = whole.description;
            }
        }
    } catch (const std::exception& e) {
        showNoBlock(tr("<span style='color:#c00000'>%1</span>").arg(QString::fromStdString(e.what()).toHtmlEscaped()));
        return;
    }

    // Weight histograms with the levels of the chosen block (or of the whole tensor) drawn over them.
    for (int v = 0; v < views.size(); ++v) {
        const int side = int(shown[std::size_t(v)]);
        if (side >= 2)
            break;
        HistogramData weights;
        weights.title = tr("Weights and %1 levels").arg(a.schemes[std::size_t(side)].scheme);
        weights.xTitle = tr("weight value");
        weights.lo = a.weightHistogram.lo();
        weights.hi = a.weightHistogram.hi();
        weights.counts = toList(a.weightHistogram.counts());
        weights.logY = true;
        weights.marks = views[v].levels;
        weights.marksName = views[v].description;
        m_weightCharts[side]->setData(weights);
    }

    // The block browser: the left scheme's block, with every scheme's values after quantization.
    const BlockLevels& left = views.front();
    QStringList headers {tr("index"), tr("value")};
    for (int s = 0; s < views.size(); ++s)
        headers << tr("%1 value").arg(a.schemes[shown[std::size_t(s)]].scheme)
                << tr("%1 code").arg(a.schemes[shown[std::size_t(s)]].scheme);
    m_blockTable->clear();
    m_blockTable->setColumnCount(int(headers.size()));
    m_blockTable->setHorizontalHeaderLabels(headers);
    m_blockTable->setRowCount(int(left.original.size()));
    for (std::size_t i = 0; i < left.original.size(); ++i) {
        const std::uint64_t element = left.first + i;
        const int row = int(i);
        m_blockTable->setItem(row, 0, new QTableWidgetItem(QString::number(element)));
        m_blockTable->setItem(row, 1, new QTableWidgetItem(QString::number(double(left.original[i]), 'g', 6)));
        for (int s = 0; s < views.size(); ++s) {
            const auto& r = a.schemes[shown[std::size_t(s)]];
            m_blockTable->setItem(
                row, 2 + 2 * s,
                new QTableWidgetItem(QString::number(double(r.dequantized[std::size_t(element)]), 'g', 6)));
            const BlockLevels& v = views[s];
            const bool sameRange = element >= v.first && element - v.first < std::uint64_t(v.codes.size());
            m_blockTable->setItem(
                row, 3 + 2 * s,
                new QTableWidgetItem(sameRange ? v.codes[qsizetype(element - v.first)] : QStringLiteral("–")));
        }
    }
    QStringList info;
    for (int s = 0; s < views.size(); ++s)
        info << tr("<b>%1</b>: %2").arg(a.schemes[shown[std::size_t(s)]].scheme.toHtmlEscaped(), views[s].blockSummary);
    m_blockInfo->setText(
        tr("Block %1 of the %2 scheme<br>").arg(block).arg(shown.front() == 0 ? tr("left") : tr("right"))
        + info.join(QStringLiteral("<br>")));
}

void LabView::updateTeaching()
{
    const int bits = m_bits->value();
    const auto grid = TeachingGrid(m_grid->currentData().toInt());
    const TeachingPicture picture = teachingPicture(bits, grid, {-0.75, -0.7, -0.2, 0.05, 0.45});
    QList<LevelsRuler::Example> examples;
    for (const auto& [value, snapped] : picture.examples)
        examples << LevelsRuler::Example {value, snapped};
    m_ruler->setData(picture.caption, picture.levels, examples);
    m_teachingText->setText(picture.explanation);
}

} // namespace quantlens::ui
