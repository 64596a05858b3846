#include "ui/views/inspector_view.h"

#include "core/eval/eval.h"
#include "core/util/units.h"
#include "gpu/device.h"
#include "gpu/scan_acceleration.h"
#include "ui/charts/error_by_layer_chart.h"
#include "ui/error_dialog.h"
#include "ui/jobs/scan_job.h"
#include "ui/models/model_session.h"
#include "ui/models/scheme_catalog.h"
#include "ui/models/tensor_filter_model.h"
#include "ui/models/tensor_table_model.h"
#include "ui/views/frozen_column_table.h"
#include "ui/views/totals_table.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMap>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace quantlens::ui {

namespace {

QString latin(std::string_view s)
{
    return QString::fromLatin1(s.data(), qsizetype(s.size()));
}

QString durationText(double seconds)
{
    if (seconds < 1)
        return QObject::tr("< 1 s");
    if (seconds < 120)
        return QObject::tr("%1 s").arg(int(std::ceil(seconds)));
    return QObject::tr("%1 min %2 s").arg(int(seconds) / 60).arg(int(seconds) % 60);
}

enum class ChartMetric { RelError, Rmse, SqnrDb, MaxAbs };

double metricOf(const core::ErrorStats& e, ChartMetric metric)
{
    switch (metric) {
    case ChartMetric::Rmse:
        return e.rmse;
    case ChartMetric::SqnrDb:
        return e.sqnrDb;
    case ChartMetric::MaxAbs:
        return e.maxAbsError;
    case ChartMetric::RelError:
        break;
    }
    return e.relError;
}

} // namespace

InspectorView::InspectorView(ModelSession* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
    , m_model(new TensorTableModel(this))
    , m_filter(new TensorFilterModel(this))
    , m_job(new ScanJob(this))
{
    setObjectName(QStringLiteral("inspectorView"));
    m_filter->setSourceModel(m_model);

    m_title = new QLabel(tr("No model open. File › Open (Ctrl+O), or drop a file here."), this);
    m_title->setWordWrap(true);
    m_title->setTextFormat(Qt::RichText);

    m_nameFilter = new QLineEdit(this);
    m_nameFilter->setPlaceholderText(tr("Filter names (regular expression), e.g. layers\\.[0-3]\\..*proj"));
    m_nameFilter->setClearButtonEnabled(true);
    m_nameFilter->setToolTip(
        tr("Show only tensors whose name matches this regular expression (ignoring case); the scan measures exactly "
           "the tensors shown"));
    m_roleFilter = new QComboBox(this);
    m_roleFilter->addItem(tr("all roles"), QString());
    for (auto role :
         {core::TensorRole::Embedding, core::TensorRole::AttentionQ, core::TensorRole::AttentionK,
          core::TensorRole::AttentionV, core::TensorRole::AttentionO, core::TensorRole::AttentionQKV,
          core::TensorRole::MlpGate, core::TensorRole::MlpUp, core::TensorRole::MlpDown, core::TensorRole::MlpGateUp,
          core::TensorRole::Router, core::TensorRole::Norm, core::TensorRole::LmHead, core::TensorRole::Other})
        m_roleFilter->addItem(latin(core::roleName(role)), latin(core::roleName(role)));
    m_roleFilter->setToolTip(tr("Show only tensors of one role"));

    m_schemes = new QListWidget(this);
    m_schemes->setObjectName(QStringLiteral("schemeList"));
    m_schemes->setToolTip(tr("Tick the quantization schemes to measure; all run in one pass over the data"));
    for (const SchemeChoice& choice : schemeChoices()) {
        auto* item = new QListWidgetItem(choice.label, m_schemes);
        item->setData(Qt::UserRole, choice.id);
        item->setToolTip(choice.description);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(choice.id == QStringLiteral("nf4") || choice.id == QStringLiteral("q4_0")
                                    || choice.id == QStringLiteral("int8")
                                ? Qt::Checked
                                : Qt::Unchecked);
    }
    m_schemes->setMaximumHeight(8 * fontMetrics().height());
    m_schemeSearch = new QLineEdit(this);
    m_schemeSearch->setObjectName(QStringLiteral("schemeSearch"));
    m_schemeSearch->setPlaceholderText(tr("Search schemes: nf4, q4, int, fp8…"));
    m_schemeSearch->setClearButtonEnabled(true);
    connect(m_schemeSearch, &QLineEdit::textChanged, this, &InspectorView::setSchemeSearch);
    m_schemePreset = new QComboBox(this);
    m_schemePreset->setObjectName(QStringLiteral("schemePreset"));
    m_schemePreset->addItem(tr("Presets…"), QString());
    m_schemePreset->addItem(tr("bitsandbytes: nf4, nf4-dq, fp4, LLM.int8"), QStringLiteral("bitsandbytes"));
    m_schemePreset->addItem(tr("GGUF: q4_0, q4_k, q5_k, q6_k, q8_0"), QStringLiteral("gguf"));
    m_schemePreset->addItem(tr("integer: int8, int4 (absmax, per tensor)"), QStringLiteral("integer"));
    m_schemePreset->setToolTip(tr("Tick a set of schemes the way one tool offers them"));
    connect(m_schemePreset, &QComboBox::activated, this, [this](int index) {
        applySchemePreset(m_schemePreset->itemData(index).toString());
        m_schemePreset->setCurrentIndex(0);
    });
    m_blockSize = new QSpinBox(this);
    m_blockSize->setObjectName(QStringLiteral("scanBlockSize"));
    // 0 is each scheme's own block size, as in the CLI: 64 for NF4/FP4 (QLoRA's), 4096 for the 8-bit
    // dynamic one; one number for all would measure the 8-bit optimizer states at 64.
    m_blockSize->setRange(0, 4096);
    m_blockSize->setSpecialValueText(tr("each scheme's default"));
    m_blockSize->setValue(0);
    m_blockSize->setToolTip(tr("Block size of the bitsandbytes schemes (NF4, FP4, 8-bit dynamic): 32 to 4096, "
                               "powers of two, or each scheme's default (64 for NF4/FP4 as QLoRA uses, 4096 for "
                               "8-bit dynamic)"));
    connect(m_blockSize, &QSpinBox::editingFinished, this, &InspectorView::normaliseBlockSize);
    m_doubleQuant = new QCheckBox(tr("Double quantization"), this);
    m_doubleQuant->setToolTip(tr("Quantize the NF4/FP4 absmax constants to 8 bits (QLoRA's DQ), saving ~0.37 bit per "
                                 "parameter"));

    m_policy = new QComboBox(this);
    m_policy->setObjectName(QStringLiteral("scanPolicy"));
    m_policy->addItem(tr("As each tool does"), int(core::TensorSelection::AsTool));
    m_policy->addItem(tr("Every tensor (teaching)"), int(core::TensorSelection::EveryTensor));
    m_policy->setToolTip(
        tr("Which tensors each scheme quantizes.\nAs each tool does: bitsandbytes' formats on the Linear projection "
           "weights only (embeddings, norms and the output head kept, as transformers does); ggml's formats as "
           "llama-quantize --pure (every 2-D weight, with llama.cpp's fallback type for rows that are not whole "
           "blocks).\nEvery tensor: each scheme on every tensor it can store, norms and embeddings included; no tool "
           "does this.\nEither way every scheme's row covers the same tensors: a tensor left alone counts at its "
           "stored size, as exact."));

    m_calibrate = new QCheckBox(tr("Activation-weighted error (run the model)"), this);
    m_calibrate->setObjectName(QStringLiteral("scanCalibrate"));
    m_calibrate->setToolTip(
        tr("Run the model on 16 sequences of up to 256 tokens sampled from it (seed 1234) and add, for every "
           "scheme, ||(W - Q(W)) X||² / ||W X||² over those inputs X: the error GPTQ and AWQ minimise, and what "
           "reaches each layer's output. GPTQ and AWQ schemes do this by themselves."));

    m_onGpu = new QCheckBox(tr("Measure NF4/FP4 on the GPU"), this);
    m_onGpu->setObjectName(QStringLiteral("scanOnGpu"));
    if (gpu::available()) {
        m_onGpu->setToolTip(tr("Quantize, dequantize and reduce the error of the NF4/FP4 schemes on %1; the other "
                               "schemes stay on the CPU. Same codes, sums differ only in rounding order.")
                                .arg(QString::fromStdString(gpu::devices().front().name)));
    } else {
        m_onGpu->setEnabled(false);
        m_onGpu->setToolTip(tr("No GPU scan: %1").arg(QString::fromStdString(gpu::unavailableReason())));
    }

    m_scanButton = new QPushButton(tr("&Scan"), this);
    m_scanButton->setToolTip(tr("Quantize, dequantize and measure every shown tensor under the ticked schemes "
                                "(Ctrl+R)"));
    m_scanButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_cancelButton = new QPushButton(tr("Cancel"), this);
    m_cancelButton->setEnabled(false);
    m_cancelButton->setToolTip(tr("Stop the scan (Esc); results so far stay"));
    auto* escape = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    connect(escape, &QShortcut::activated, this, &InspectorView::cancelScan);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progressLabel = new QLabel(this);
    m_progressLabel->setObjectName(QStringLiteral("scanProgressLabel"));

    // The Name column stays while the metric columns scroll sideways.
    m_table = new FrozenColumnTableView(this);
    m_table->setModel(m_filter);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(-1, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setToolTip(tr("Double-click a tensor (or press Enter) to open it in the Quantization Lab"));
    connect(m_table, &QTableView::activated, this,
            [this](const QModelIndex& index) { Q_EMIT tensorActivated(m_filter->mapToSource(index).row()); });

    m_shownScheme = new QComboBox(this);
    m_shownScheme->setObjectName(QStringLiteral("shownScheme"));
    m_shownScheme->setToolTip(tr("Which scheme's errors the table shows"));
    m_shownScheme->setMinimumContentsLength(12);
    connect(m_shownScheme, &QComboBox::currentTextChanged, this, [this](const QString& id) {
        m_model->setErrorScheme(id);
        if (m_chartByRole && m_chartByRole->isChecked())
            updateChart();
    });
    m_chartMetric = new QComboBox(this);
    m_chartMetric->addItem(tr("relative error"), int(ChartMetric::RelError));
    m_chartMetric->addItem(tr("RMSE"), int(ChartMetric::Rmse));
    m_chartMetric->addItem(tr("SQNR (dB)"), int(ChartMetric::SqnrDb));
    m_chartMetric->addItem(tr("max |error|"), int(ChartMetric::MaxAbs));
    m_chartMetric->setToolTip(tr("The metric drawn by layer"));
    m_chartByRole = new QCheckBox(tr("one line per role"), this);
    m_chartByRole->setObjectName(QStringLiteral("roleLines"));
    m_chartByRole->setToolTip(tr("One line per tensor role (attention q/k/v/o, MLP gate/up/down, norms) for the "
                                 "scheme the table shows"));
    connect(m_chartMetric, &QComboBox::currentIndexChanged, this, &InspectorView::updateChart);
    connect(m_chartByRole, &QCheckBox::toggled, this, &InspectorView::updateChart);

    m_totals = new TotalsTable(this);
    m_summary = new QTableWidget(this);
    m_summary->setObjectName(QStringLiteral("schemeSummary"));
    m_summary->setColumnCount(10);
    m_summary->setHorizontalHeaderLabels({tr("Scheme"), tr("Quantized"), tr("Bits/param"), tr("Base size"), tr("Size"),
                                          tr("RMSE"), tr("Rel. error"), tr("SQNR (dB)"), tr("Non-finite"),
                                          tr("Act. error²")});
    m_summary->horizontalHeaderItem(9)->setToolTip(
        tr("||(W - Q(W)) X||² / ||W X||² over calibration inputs X (squared, unlike Rel. error): with "
           "\"Activation-weighted error\" or a GPTQ or AWQ scheme"));
    m_summary->horizontalHeaderItem(1)->setToolTip(
        tr("Tensors the scheme quantized, of those scanned; the others count at their stored size, as exact, so "
           "every row covers the same tensors"));
    m_summary->horizontalHeaderItem(2)->setToolTip(tr("Over every scanned tensor, quantized or kept"));
    m_summary->verticalHeader()->hide();
    m_summary->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_summary->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_summary->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    m_summary->setMaximumHeight(8 * (fontMetrics().height() + 6));
    m_chart = new ErrorByLayerChart(this);
    m_chart->setObjectName(QStringLiteral("errorByLayerChart"));

    // Layout: controls on top, the table on the left, totals / chart / summary on the right.
    auto* filters = new QHBoxLayout;
    filters->addWidget(m_nameFilter, 3);
    filters->addWidget(m_roleFilter, 1);
    filters->addWidget(new QLabel(tr("Table shows:"), this));
    filters->addWidget(m_shownScheme, 1);

    auto* schemeBox = new QGroupBox(tr("Schemes"), this);
    auto* schemeLayout = new QHBoxLayout(schemeBox);
    auto* schemeColumn = new QVBoxLayout;
    auto* schemeTools = new QHBoxLayout;
    schemeTools->addWidget(m_schemeSearch, 2);
    schemeTools->addWidget(m_schemePreset, 1);
    schemeColumn->addLayout(schemeTools);
    schemeColumn->addWidget(m_schemes);
    schemeLayout->addLayout(schemeColumn, 3);
    auto* options = new QFormLayout;
    options->addRow(tr("Tensors"), m_policy);
    options->addRow(tr("Block size"), m_blockSize);
    options->addRow(m_doubleQuant);
    options->addRow(m_calibrate);
    options->addRow(m_onGpu);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_scanButton);
    buttons->addWidget(m_cancelButton);
    options->addRow(buttons);
    options->addRow(m_progress);
    options->addRow(m_progressLabel);
    schemeLayout->addLayout(options, 2);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    auto* chartControls = new QHBoxLayout;
    chartControls->addWidget(new QLabel(tr("Chart:"), this));
    chartControls->addWidget(m_chartMetric);
    chartControls->addWidget(m_chartByRole);
    chartControls->addStretch();
    rightLayout->addWidget(m_summary);
    rightLayout->addLayout(chartControls);
    rightLayout->addWidget(m_chart, 3);
    rightLayout->addWidget(m_totals, 2);

    auto* splitter = new QSplitter(this);
    splitter->addWidget(m_table);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({900, 520});

    m_storedBanner = new QLabel(this);
    m_storedBanner->setObjectName(QStringLiteral("storedQuantizationBanner"));
    m_storedBanner->setWordWrap(true);
    m_storedBanner->setStyleSheet(
        QStringLiteral("QLabel { background: #fff4ce; color: #3b2f00; border: 1px solid #e0c060; padding: 6px; }"));
    m_storedBanner->hide();

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(m_storedBanner);
    layout->addWidget(schemeBox);
    layout->addLayout(filters);
    layout->addWidget(splitter, 1);

    connect(m_nameFilter, &QLineEdit::textChanged, this, [this](const QString& text) {
        const bool ok = m_filter->setNamePattern(text);
        m_nameFilter->setStyleSheet(ok ? QString() : QStringLiteral("QLineEdit { color: #d00000; }"));
        m_nameFilter->setToolTip(ok ? tr("Regular expression on tensor names") : tr("Not a valid regular expression"));
    });
    connect(m_roleFilter, &QComboBox::currentIndexChanged, this,
            [this] { m_filter->setRole(m_roleFilter->currentData().toString()); });
    connect(m_scanButton, &QPushButton::clicked, this, &InspectorView::startScan);
    connect(m_cancelButton, &QPushButton::clicked, this, &InspectorView::cancelScan);
    connect(m_session, &ModelSession::modelOpened, this, &InspectorView::onModelOpened);

    connect(m_job, &ScanJob::tensorScanned, this, [this](const core::TensorScanResult& r) {
        const QString scheme = QString::fromStdString(r.scheme);
        m_model->setError(int(r.tensorIndex), scheme,
                          {r.error.rmse, r.error.maxAbsError, r.error.sqnrDb, r.error.relError, r.error.cosine,
                           r.error.nonFinite(), QString::fromStdString(r.skipped), r.kept(),
                           r.storedAs == r.scheme ? QString() : QString::fromStdString(r.storedAs),
                           QString::fromStdString(r.policyNote)});
        if (m_shownScheme->findText(scheme) < 0)
            m_shownScheme->addItem(scheme);
    });
    connect(m_job, &ScanJob::progressChanged, this, &InspectorView::onScanProgress);
    connect(m_job, &ScanJob::scanFinished, this, &InspectorView::onScanFinished);
    connect(m_job, &ScanJob::scanCancelled, this, &InspectorView::onScanFinished);
    connect(m_job, &ScanJob::scanFailed, this, [this](const QString& message) {
        m_scanButton->setEnabled(true);
        m_cancelButton->setEnabled(false);
        m_progress->setRange(0, 1);
        m_progressLabel->setText(tr("Scan failed"));
        m_filter->setDynamicSortFilter(true);
        showError(this, tr("Scan failed"), message);
    });

    if (m_session->model())
        onModelOpened();
}

InspectorView::~InspectorView() = default;

QString InspectorView::storedQuantizationBanner() const
{
    return m_storedBanner->isHidden() ? QString() : m_storedBanner->text();
}

QString InspectorView::progressText() const
{
    return m_progressLabel->text();
}

QStringList InspectorView::selectedSchemes() const
{
    QStringList ids;
    for (int i = 0; i < m_schemes->count(); ++i) {
        if (m_schemes->item(i)->checkState() == Qt::Checked)
            ids << m_schemes->item(i)->data(Qt::UserRole).toString();
    }
    return ids;
}

void InspectorView::setSelectedSchemes(const QStringList& ids)
{
    for (int i = 0; i < m_schemes->count(); ++i) {
        QListWidgetItem* item = m_schemes->item(i);
        item->setCheckState(ids.contains(item->data(Qt::UserRole).toString()) ? Qt::Checked : Qt::Unchecked);
    }
}

void InspectorView::setSchemeSearch(const QString& text)
{
    if (m_schemeSearch->text() != text)
        m_schemeSearch->setText(text); // comes back here through textChanged
    const QString key = text.trimmed();
    for (int i = 0; i < m_schemes->count(); ++i) {
        QListWidgetItem* item = m_schemes->item(i);
        const bool match = key.isEmpty() || item->text().contains(key, Qt::CaseInsensitive)
            || item->data(Qt::UserRole).toString().contains(key, Qt::CaseInsensitive);
        item->setHidden(!match);
    }
}

void InspectorView::applySchemePreset(const QString& preset)
{
    static const QMap<QString, QStringList> presets {
        {QStringLiteral("bitsandbytes"),
         {QStringLiteral("nf4"), QStringLiteral("nf4-dq"), QStringLiteral("fp4"), QStringLiteral("llm-int8")}},
        {QStringLiteral("gguf"),
         {QStringLiteral("q4_0"), QStringLiteral("q4_k"), QStringLiteral("q5_k"), QStringLiteral("q6_k"),
          QStringLiteral("q8_0")}},
        {QStringLiteral("integer"), {QStringLiteral("int8"), QStringLiteral("int4")}},
    };
    if (presets.contains(preset))
        setSelectedSchemes(presets.value(preset));
}

QStringList InspectorView::visibleSchemes() const
{
    QStringList ids;
    for (int i = 0; i < m_schemes->count(); ++i)
        if (!m_schemes->item(i)->isHidden())
            ids << m_schemes->item(i)->data(Qt::UserRole).toString();
    return ids;
}

int InspectorView::blockSize() const
{
    return m_blockSize->value();
}

core::TensorSelection InspectorView::tensorSelection() const
{
    return core::TensorSelection(m_policy->currentData().toInt());
}

core::TensorSelection InspectorView::scannedTensorSelection() const
{
    return m_job->result().selection;
}

bool InspectorView::doubleQuant() const
{
    return m_doubleQuant->isChecked();
}

QString InspectorView::nameFilter() const
{
    return m_nameFilter->text();
}

bool InspectorView::scansOnGpu() const
{
    return m_onGpu->isEnabled() && m_onGpu->isChecked();
}

QString InspectorView::roleFilter() const
{
    return m_roleFilter->currentData().toString();
}

void InspectorView::onModelOpened()
{
    m_job->reset(); // the old model's scan, finished or not, says nothing about this one
    m_scannedNameFilter.clear();
    m_scannedRoleFilter.clear();
    m_scanButton->setEnabled(true);
    m_cancelButton->setEnabled(false);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progressLabel->clear();
    m_storedBanner->hide();
    const auto model = m_session->model();
    if (!model)
        return;
    m_model->setTensors(model->tensors());
    m_totals->setTensors(model->tensors());
    const QString stored = QString::fromStdString(core::storedQuantizationNote(*model));
    m_storedBanner->setText(stored);
    m_storedBanner->setVisible(!stored.isEmpty());
    m_shownScheme->clear();
    m_summary->setRowCount(0);
    m_chart->setData({});
    m_table->resizeColumnsToContents();
    m_table->setColumnWidth(TensorTableModel::Name, std::min(m_table->columnWidth(TensorTableModel::Name), 300));
    updateSummary();
}

void InspectorView::updateSummary()
{
    const auto model = m_session->model();
    if (!model)
        return;
    const auto& arch = model->architecture();
    QString archText = arch.name.empty() ? tr("architecture unknown")
                                         : tr("%1, %2 layers, hidden %3")
                                               .arg(QString::fromStdString(arch.name).toHtmlEscaped())
                                               .arg(arch.layers)
                                               .arg(arch.hiddenSize);
    m_title->setText(tr("<b>%1</b> — %2 · %3 tensors · %4 parameters · %5 · %6")
                         .arg(QFileInfo(m_session->path()).fileName().toHtmlEscaped(),
                              QString::fromStdString(model->format()).toHtmlEscaped())
                         .arg(model->tensors().size())
                         .arg(QString::fromStdString(core::formatThousands(model->totalParameters())),
                              QString::fromStdString(core::formatBinaryBytes(double(model->totalBytes()))), archText));
}

// A typed block size becomes the power of two at or below it (32 ... 4096); 0 stays "each scheme's
// default". Also run before a scan, which Ctrl+R can start while the field is still being edited.
void InspectorView::normaliseBlockSize()
{
    const int v = m_blockSize->value();
    if (v == 0)
        return;
    int p = 32;
    while (p * 2 <= v)
        p *= 2;
    m_blockSize->setValue(p);
}

void InspectorView::startScan()
{
    normaliseBlockSize();
    const auto model = m_session->model();
    if (!model) {
        showError(this, tr("Scan"), tr("Open a model first (File › Open)."));
        return;
    }
    const QStringList ids = selectedSchemes();
    if (ids.isEmpty()) {
        showError(this, tr("Scan"), tr("Tick at least one scheme to measure."));
        return;
    }
    // The table keeps filtering with the last valid pattern while the text is not one; a scan then
    // would not be what the filter says (nor could the report's command line repeat it).
    if (const QRegularExpression typed(nameFilter()); !typed.isValid()) {
        showError(this, tr("Scan"),
                  tr("The name filter is not a valid regular expression (%1): correct or clear it.")
                      .arg(typed.errorString()));
        return;
    }
    core::ScanOptions options;
    options.selection = tensorSelection();
    try {
        options.schemes = makeScanSchemes(ids, m_blockSize->value(), m_doubleQuant->isChecked());
        if (m_onGpu->isEnabled() && m_onGpu->isChecked()) {
            options.schemes = gpu::accelerateScanSchemes(options.schemes);
            options.chunkElements = gpu::kGpuScanChunkElements;
        }
    } catch (const std::exception& e) {
        showError(this, tr("Scan"), QString::fromStdString(e.what()));
        return;
    }
    // Exactly the rows shown, whatever the table's filter syntax (Qt's regular expressions, the role
    // column) makes of them; the report's command line gives the same as --filter and --role.
    if (m_filter->rowCount() < m_model->rowCount()) {
        std::vector<std::size_t> shown;
        shown.reserve(std::size_t(m_filter->rowCount()));
        for (int row = 0; row < m_filter->rowCount(); ++row)
            shown.push_back(std::size_t(m_filter->mapToSource(m_filter->index(row, 0)).row()));
        if (shown.empty()) {
            showError(this, tr("Scan"), tr("No tensor is shown: change or clear the filter."));
            return;
        }
        std::sort(shown.begin(), shown.end());
        options.tensorIndices = std::move(shown);
    }
    // Recorded as the scan's own when it finishes: a cancelled or failed scan leaves the result,
    // and so the filters, of the scan before it.
    const bool partial = options.tensorIndices.has_value();
    m_pendingNameFilter = partial ? nameFilter() : QString();
    m_pendingRoleFilter = partial ? roleFilter() : QString();
    m_model->clearErrors();
    m_shownScheme->clear();
    m_summary->setRowCount(0);
    m_scanButton->setEnabled(false);
    m_cancelButton->setEnabled(true);
    m_progress->setRange(0, 0); // indeterminate until the first report
    const bool calibrating = m_calibrate->isChecked() || core::anyNeedsCalibration(options.schemes);
    m_progressLabel->setText(calibrating ? tr("Running the model on 16 sampled sequences for the calibration…")
                                         : tr("Starting…"));
    // Rows do not move under the user while results arrive; the table sorts again when the scan ends.
    m_filter->setDynamicSortFilter(false);
    m_job->start(model, std::move(options), m_calibrate->isChecked());
}

void InspectorView::cancelScan()
{
    m_job->cancel();
}

void InspectorView::onScanProgress()
{
    const core::ScanProgress& p = m_job->lastProgress();
    if (p.progress.bytesTotal > 0) {
        m_progress->setRange(0, 1000);
        m_progress->setValue(int(1000.0 * double(p.progress.bytesDone) / double(p.progress.bytesTotal)));
    }
    m_progressLabel->setText(tr("%1 / %2 tensors · %3 M params/s · %4 left")
                                 .arg(p.progress.done)
                                 .arg(p.progress.total)
                                 .arg(p.parametersPerSecond / 1e6, 0, 'f', 1)
                                 .arg(p.secondsLeft > 0 ? durationText(p.secondsLeft) : tr("?")));
}

void InspectorView::onScanFinished()
{
    m_scannedNameFilter = m_pendingNameFilter;
    m_scannedRoleFilter = m_pendingRoleFilter;
    m_scanButton->setEnabled(true);
    m_cancelButton->setEnabled(false);
    const core::ScanResult& result = m_job->result();
    m_progress->setRange(0, result.cancelled ? int(std::max<std::uint64_t>(result.tensorsSelected, 1)) : 1);
    m_progress->setValue(result.cancelled ? int(result.tensorsMeasured) : 1);
    m_filter->setDynamicSortFilter(true); // sorted again once, now that the numbers stand still
    if (result.cancelled) // the time is the scan's own; the summary and chart cover what finished
        m_progressLabel->setText(tr("Cancelled after %1: %2 of %3 tensors measured, shown below (stopped %4 ms "
                                    "after the click)")
                                     .arg(durationText(result.seconds))
                                     .arg(result.tensorsMeasured)
                                     .arg(result.tensorsSelected)
                                     .arg(m_job->lastCancelLatencyMs()));
    else
        m_progressLabel->setText(
            tr("Done: %1 parameters in %2 (%3 M params/s, %4 threads)")
                .arg(QString::fromStdString(core::formatThousands(result.parameters)))
                .arg(durationText(result.seconds))
                .arg(result.seconds > 0 ? double(result.parameters) / result.seconds / 1e6 : 0.0, 0, 'f', 1)
                .arg(result.threads));
    // The calibration set (and AWQ's choices) every output states: here in the tooltip, the line
    // itself says there is one.
    if (!result.calibration.empty())
        m_progressLabel->setText(m_progressLabel->text() + tr(" · calibrated (hover)"));
    m_progressLabel->setToolTip(
        result.calibration.empty() ? QString() : tr("Calibration: %1").arg(QString::fromStdString(result.calibration)));
    m_summary->setRowCount(0);
    const auto measured = [this](double value, const QString& text) { return std::isnan(value) ? tr("n/a") : text; };
    for (const auto& s : result.models) {
        const int row = m_summary->rowCount();
        m_summary->insertRow(row);
        QStringList notes {QString::fromStdString(core::policyDescription(result.selection, s.scheme))};
        for (const auto& note : core::policyNotes(result, s.scheme))
            notes << QString::fromStdString(note);
        const bool none = s.tensors == 0; // nothing measured: no size to speak of
        const QStringList cells {
            QString::fromStdString(s.scheme),
            tr("%1 of %2").arg(s.tensorsQuantized).arg(s.tensors),
            none ? tr("n/a") : QString::number(s.bitsPerParameter, 'f', 3),
            none ? tr("n/a") : QString::fromStdString(core::formatBinaryBytes(double(s.originalBytes))),
            none ? tr("n/a") : QString::fromStdString(core::formatBinaryBytes(double(s.quantizedBytes))),
            measured(s.error.rmse, QString::number(s.error.rmse, 'g', 4)),
            measured(s.error.relError, QStringLiteral("%1 %").arg(s.error.relError * 100, 0, 'f', 2)),
            measured(s.error.sqnrDb, QString::number(s.error.sqnrDb, 'f', 2)),
            QString::number(s.error.nonFinite()),
            std::isnan(s.activationError) ? QStringLiteral("–") : QString::number(s.activationError, 'g', 4)};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setToolTip(QString::fromStdString(core::coverageText(s)) + QStringLiteral(".\n")
                             + notes.join(QLatin1Char('\n')));
            if (c > 0)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            m_summary->setItem(row, c, item);
        }
    }
    if (m_shownScheme->count() > 0 && m_shownScheme->currentIndex() < 0)
        m_shownScheme->setCurrentIndex(0);
    for (int column = TensorTableModel::StoredAs; column < TensorTableModel::ColumnCount; ++column)
        m_table->resizeColumnToContents(column);
    updateChart();
}

void InspectorView::updateChart()
{
    const core::ScanResult& result = m_job->result();
    const auto metric = ChartMetric(m_chartMetric->currentData().toInt());
    ErrorByLayerData data;
    data.metric = m_chartMetric->currentText();
    data.logY = metric == ChartMetric::RelError || metric == ChartMetric::Rmse || metric == ChartMetric::MaxAbs;
    if (!m_chartByRole->isChecked()) {
        QMap<QString, QList<QPointF>> lines;
        for (const auto& s : result.layers) {
            if (s.layer >= 0)
                lines[QString::fromStdString(s.scheme)] << QPointF(s.layer, metricOf(s.error, metric));
        }
        // Every scheme's layer covers the same tensors (kept ones as exact); tensors that could not be
        // decoded are left out of all of them alike.
        for (auto it = lines.cbegin(); it != lines.cend(); ++it)
            data.series << ErrorByLayerSeries {it.key(), it.value()};
    } else {
        // One line per role of the scheme the table shows (#17: every scheme × role drew 42 lines
        // in 8 repeating colours with a cut legend); the table's scheme picker chooses it.
        // Of tensors with the same layer and role (a layer's two norms) the larger error is drawn.
        const std::string shown = m_shownScheme->currentText().toStdString();
        QMap<QString, QMap<int, core::ErrorStats>> lines;
        for (const auto& t : result.tensors) {
            if (t.layer < 0 || !t.skipped.empty() || t.kept() || t.scheme != shown)
                continue; // a role the scheme leaves alone has no error to draw
            auto& slot
                = lines[QString::fromStdString(t.scheme) + QStringLiteral(" · ") + latin(core::roleName(t.role))];
            const auto existing = slot.find(t.layer);
            if (existing == slot.end() || metricOf(t.error, metric) > metricOf(existing.value(), metric))
                slot[t.layer] = t.error;
        }
        for (auto it = lines.cbegin(); it != lines.cend(); ++it) {
            ErrorByLayerSeries series {it.key(), {}};
            for (auto layer = it.value().cbegin(); layer != it.value().cend(); ++layer)
                series.points << QPointF(layer.key(), metricOf(layer.value(), metric));
            data.series << series;
        }
    }
    m_chart->setData(data);
}

} // namespace quantlens::ui
