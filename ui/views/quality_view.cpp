#include "ui/views/quality_view.h"

#include "core/eval/llama_config.h"
#include "core/quant/scheme.h"
#include "core/report/text_escape.h"
#include "core/util/error.h"
#include "core/util/text_list.h"
#include "ui/charts/quality_charts.h"
#include "ui/jobs/eval_job.h"
#include "ui/models/model_session.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace quantlens::ui {

namespace {

QString number(const char* format, double value)
{
    if (!std::isfinite(value))
        return QStringLiteral("n/a");
    return QString::asprintf(format, value);
}

QTableWidgetItem* cell(const QString& text, const QString& tip = {}, bool numeric = true)
{
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (numeric)
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    if (!tip.isEmpty())
        item->setToolTip(tip);
    return item;
}

} // namespace

QualityView::QualityView(ModelSession* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
    , m_job(new EvalJob(this))
{
    setObjectName(QStringLiteral("qualityView"));
    m_schemes = new QLineEdit(QStringLiteral("nf4,fp4,q4_0,q8_0"), this);
    m_schemes->setObjectName(QStringLiteral("qualitySchemes"));
    m_schemes->setToolTip(tr("Comma-separated schemes, each simulated on the model's weights as its tool applies it "
                             "(bitsandbytes: Linear weights only; GGUF: every 2-D weight)"));
    m_compare = new QListWidget(this);
    m_compare->setMaximumHeight(52);
    m_compare->setToolTip(tr("Other files of the same model (a GGUF q4_0, a bitsandbytes checkpoint…) measured "
                             "against the open one"));
    auto* addCompare = new QPushButton(tr("Add file…"), this);
    auto* removeCompare = new QPushButton(tr("Remove"), this);

    m_input = new QComboBox(this);
    m_input->addItems({tr("Sample from the model"), tr("Token-id file"), tr("Text file (the model's tokenizer)")});
    m_sequences = new QSpinBox(this);
    m_sequences->setRange(1, 4096);
    m_sequences->setValue(8);
    m_sequences->setSuffix(tr(" sequences"));
    m_length = new QSpinBox(this);
    m_length->setRange(2, 1 << 20);
    m_length->setValue(256);
    m_length->setSuffix(tr(" tokens"));
    m_seed = new QSpinBox(this);
    m_seed->setRange(0, 1 << 30);
    m_seed->setValue(1);
    m_seed->setPrefix(tr("seed "));
    m_tokenFile = new QLineEdit(this);
    m_tokenFile->setPlaceholderText(tr("token ids (one sequence per line), or plain text"));
    auto* browse = new QPushButton(tr("Browse…"), this);

    m_sensitivity = new QComboBox(this);
    m_sensitivity->addItems({tr("No sensitivity run"), tr("One layer at a time"), tr("One role at a time")});
    m_sensitivityScheme = new QLineEdit(this);
    m_sensitivityScheme->setPlaceholderText(tr("scheme (default: the first)"));

    m_run = new QPushButton(tr("&Run"), this);
    m_run->setObjectName(QStringLiteral("qualityRun"));
    m_run->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_run->setToolTip(tr("Run the model and measure (Ctrl+R)"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    m_cancel->setToolTip(tr("Stop (Esc)"));
    auto* escape = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    escape->setContext(Qt::WidgetWithChildrenShortcut);
    connect(escape, &QShortcut::activated, this, &QualityView::cancelEval);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setObjectName(QStringLiteral("qualityStatus"));
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_table = new QTableWidget(0, 9, this);
    m_table->setObjectName(QStringLiteral("qualityTable"));
    m_table->setHorizontalHeaderLabels({tr("model"), tr("bits/param"), tr("perplexity"), tr("KL mean"),
                                        tr("KL median"), tr("KL p99"), tr("KL max"), tr("top-1"),
                                        tr("mean Δ log p")});
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(false);
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_sizeChart = new QualitySizeChart(this);
    m_sensitivityChart = new SensitivityChart(this);
    m_sizeChart->setMinimumHeight(240);
    m_sensitivityChart->setMinimumHeight(240);
    m_table->setMinimumHeight(90);

    auto* grid = new QGridLayout;
    grid->addWidget(new QLabel(tr("Schemes:"), this), 0, 0);
    grid->addWidget(m_schemes, 0, 1, 1, 3);
    grid->addWidget(new QLabel(tr("Input:"), this), 1, 0);
    grid->addWidget(m_input, 1, 1);
    auto* sampling = new QHBoxLayout;
    sampling->addWidget(m_sequences);
    sampling->addWidget(m_length);
    sampling->addWidget(m_seed);
    grid->addLayout(sampling, 1, 2, 1, 2);
    auto* tokens = new QHBoxLayout;
    tokens->addWidget(m_tokenFile, 1);
    tokens->addWidget(browse);
    grid->addLayout(tokens, 2, 1, 1, 3);
    grid->addWidget(new QLabel(tr("Sensitivity:"), this), 3, 0);
    grid->addWidget(m_sensitivity, 3, 1);
    grid->addWidget(m_sensitivityScheme, 3, 2, 1, 2);
    grid->addWidget(new QLabel(tr("Compare files:"), this), 0, 4);
    grid->addWidget(m_compare, 1, 4, 2, 1);
    auto* compareButtons = new QHBoxLayout;
    compareButtons->addWidget(addCompare);
    compareButtons->addWidget(removeCompare);
    grid->addLayout(compareButtons, 3, 4);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(2, 1);
    grid->setColumnStretch(4, 2);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_run);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_progress, 1);

    auto* charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(m_sizeChart);
    charts->addWidget(m_sensitivityChart);
    auto* split = new QSplitter(Qt::Vertical, this);
    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(m_summary);
    topLayout->addWidget(m_table);
    split->addWidget(top);
    split->addWidget(charts);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 3);
    split->setSizes({180, 420});

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(grid);
    layout->addLayout(buttons);
    layout->addWidget(m_status);
    layout->addWidget(split, 1);

    const auto updateInput = [this] {
        const int mode = m_input->currentIndex(); // 0 sample, 1 token ids, 2 text
        m_sequences->setEnabled(mode != 1);
        m_length->setEnabled(mode != 1);
        m_seed->setEnabled(mode == 0);
        m_tokenFile->setEnabled(mode != 0);
        m_sequences->setPrefix(mode == 2 ? tr("at most ") : QString());
    };
    connect(m_input, &QComboBox::currentIndexChanged, this, updateInput);
    updateInput();
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Token ids or text"), m_tokenFile->text(),
                                                          tr("Text files (*.txt *.raw);;All files (*)"));
        if (!path.isEmpty()) {
            m_tokenFile->setText(path);
            if (m_input->currentIndex() == 0)
                m_input->setCurrentIndex(1);
        }
    });
    connect(addCompare, &QPushButton::clicked, this, [this] {
        const QString start = m_session->path().isEmpty() ? QString() : QFileInfo(m_session->path()).absolutePath();
        const QString path = QFileDialog::getOpenFileName(this, tr("Another file of the same model"), start,
                                                          tr("Models (*.safetensors *.gguf *.json);;All files (*)"));
        if (!path.isEmpty())
            addCompareFile(path);
    });
    connect(removeCompare, &QPushButton::clicked, this, [this] { delete m_compare->currentItem(); });
    connect(m_run, &QPushButton::clicked, this, &QualityView::startEval);
    connect(m_cancel, &QPushButton::clicked, this, &QualityView::cancelEval);
    connect(m_job, &EvalJob::progressChanged, this, [this](const QString& what, quint64 done, quint64 total) {
        m_progress->setRange(0, int(std::max<quint64>(total, 1)));
        m_progress->setValue(int(std::min(done, total)));
        m_status->setText(what);
    });
    connect(m_job, &EvalJob::evalFinished, this, [this] {
        setRunning(false);
        m_lastArguments = m_runningArguments;
        m_lastReportArguments = m_runningReportArguments;
        showResult();
        Q_EMIT evalFinished();
    });
    connect(m_job, &EvalJob::evalCancelled, this, [this] {
        setRunning(false);
        m_status->setText(tr("Cancelled; the table shows the last finished run, if any."));
    });
    connect(m_job, &EvalJob::evalFailed, this, [this](const QString& message) {
        setRunning(false);
        m_status->setText(tr("Failed: %1").arg(message));
    });
    connect(m_session, &ModelSession::modelOpened, this, [this] { modelChanged(); });
    modelChanged();
}

QualityView::~QualityView() = default;

void QualityView::setSchemes(const QString& list)
{
    m_schemes->setText(list);
}

void QualityView::setSampling(int sequences, int length, int seed)
{
    m_input->setCurrentIndex(0);
    m_sequences->setValue(sequences);
    m_length->setValue(length);
    m_seed->setValue(seed);
}

void QualityView::setTokenFile(const QString& path)
{
    m_tokenFile->setText(path);
    m_input->setCurrentIndex(path.isEmpty() ? 0 : 1);
}

void QualityView::setTextFile(const QString& path, int length, int maxSequences)
{
    m_tokenFile->setText(path);
    m_input->setCurrentIndex(2);
    m_length->setValue(length);
    m_sequences->setValue(maxSequences);
}

void QualityView::setSensitivity(const QString& mode)
{
    m_sensitivity->setCurrentIndex(mode == QStringLiteral("layer") ? 1 : mode == QStringLiteral("role") ? 2 : 0);
}

void QualityView::addCompareFile(const QString& path)
{
    auto* item = new QListWidgetItem(QFileInfo(path).fileName(), m_compare);
    item->setData(Qt::UserRole, QFileInfo(path).absoluteFilePath());
    item->setToolTip(QFileInfo(path).absoluteFilePath());
}

void QualityView::modelChanged()
{
    m_job->reset();
    m_table->setRowCount(0);
    m_sizeChart->setPoints({});
    m_sensitivityChart->setBars(tr("Sensitivity: choose one layer or one role at a time"), {});
    m_summary->clear();
    m_lastArguments.clear();
    m_lastReportArguments.clear();
    const auto model = m_session->model();
    if (!model) {
        m_run->setEnabled(false);
        m_status->setText(tr("Open a model (Ctrl+O) to run it."));
        return;
    }
    try {
        const auto config = core::llamaConfigFor(*model);
        m_run->setEnabled(true);
        if (config.context != 0)
            m_length->setMaximum(int(std::min<std::uint64_t>(config.context, 1 << 20)));
        m_status->setText(tr("Ready: %1. Runs on the CPU in fp32, one block in memory at a time.")
                              .arg(QString::fromStdString(config.summary())));
    } catch (const Error& e) {
        m_run->setEnabled(false);
        m_status->setText(tr("This model cannot be run: %1").arg(QString::fromStdString(e.what())));
    }
}

void QualityView::setRunning(bool running)
{
    m_run->setEnabled(!running && m_session->model());
    m_cancel->setEnabled(running);
    if (!running) {
        m_progress->setRange(0, 1);
        m_progress->setValue(running ? 0 : 1);
    }
}

void QualityView::startEval()
{
    const auto model = m_session->model();
    if (!model || m_job->isRunning())
        return;
    core::EvalOptions options;
    QStringList arguments {QStringLiteral("eval"), QFileInfo(m_session->path()).absoluteFilePath()};
    try {
        const QString schemes = m_schemes->text().simplified().remove(QLatin1Char(' '));
        if (!schemes.isEmpty()) {
            options.schemes = core::parseSchemeList(schemes.toStdString());
            arguments << QStringLiteral("--scheme") << schemes;
        }
        for (int i = 0; i < m_compare->count(); ++i) {
            const QString path = m_compare->item(i)->data(Qt::UserRole).toString();
            options.compare.emplace_back(path.toStdString());
            arguments << QStringLiteral("--compare") << path;
        }
        const int mode = m_sensitivity->currentIndex();
        if (mode != 0) {
            options.sensitivity = mode == 1 ? core::SensitivityMode::Layer : core::SensitivityMode::Role;
            arguments << QStringLiteral("--sensitivity") << (mode == 1 ? QStringLiteral("layer") : QStringLiteral("role"));
            const QString scheme = m_sensitivityScheme->text().trimmed();
            if (!scheme.isEmpty()) {
                options.sensitivityScheme = core::makeScheme(scheme.toStdString());
                arguments << QStringLiteral("--sensitivity-scheme") << scheme;
            } else if (options.schemes.empty()) {
                throw UsageError("a sensitivity run needs a scheme");
            }
        }
    } catch (const Error& e) {
        m_status->setText(tr("Cannot run: %1").arg(QString::fromStdString(e.what())));
        return;
    }
    core::EvalInputSpec input;
    input.sequences = quint64(m_sequences->value());
    input.length = quint64(m_length->value());
    if (m_input->currentIndex() != 0) {
        const QString file = m_tokenFile->text().trimmed();
        if (file.isEmpty()) {
            m_status->setText(tr("Cannot run: choose a file, or sample from the model"));
            return;
        }
        const bool text = m_input->currentIndex() == 2;
        (text ? input.text : input.tokens) = file.toStdString();
        arguments << (text ? QStringLiteral("--text") : QStringLiteral("--tokens")) << QFileInfo(file).absoluteFilePath();
        if (text)
            arguments << QStringLiteral("--length") << QString::number(input.length) << QStringLiteral("--sample")
                      << QString::number(input.sequences);
    } else {
        input.seed = quint64(m_seed->value());
        arguments << QStringLiteral("--sample") << QString::number(input.sequences) << QStringLiteral("--length")
                  << QString::number(input.length) << QStringLiteral("--seed") << QString::number(input.seed);
    }
    m_runningArguments = arguments;
    // The report command spells the same options --eval-*: --scheme X is --eval-scheme X, ...
    m_runningReportArguments.clear();
    for (int i = 2; i + 1 < arguments.size(); i += 2) {
        const QString option = arguments[i];
        m_runningReportArguments << QStringLiteral("--eval-") + option.mid(2)
                                 << arguments[i + 1];
    }
    setRunning(true);
    m_progress->setRange(0, 0);
    m_status->setText(tr("Starting…"));
    m_job->start(model, input, std::move(options));
}

void QualityView::cancelEval()
{
    m_job->cancel();
}

QString QualityView::commandLine() const
{
    if (m_lastArguments.isEmpty())
        return {};
    QString line = QStringLiteral("quantlens-cli");
    for (const QString& a : m_lastArguments)
        line += QLatin1Char(' ') + QString::fromStdString(core::shellQuote(a.toStdString()));
    return line;
}

void QualityView::showResult()
{
    const auto& r = m_job->result();
    m_summary->setText(tr("<b>Baseline perplexity %1</b> (%2 bits/param as stored) on %3; %4 predictions scored in "
                          "%5 s on %6 threads.")
                           .arg(number("%.4f", r.baselinePerplexity), number("%.2f", r.baselineBitsPerParameter),
                                QString::fromStdString(r.input).toHtmlEscaped())
                           .arg(r.tokensScored)
                           .arg(number("%.2f", r.seconds))
                           .arg(r.threads));
    m_table->setRowCount(int(r.results.size()));
    QList<QualityPoint> points;
    for (int row = 0; row < int(r.results.size()); ++row) {
        const auto& c = r.results[std::size_t(row)];
        QString tip = QString::fromStdString(c.policy);
        for (const auto& note : c.notes)
            tip += QStringLiteral("\n") + QString::fromStdString(note);
        m_table->setItem(row, 0, cell(QString::fromStdString(c.name), tip, false));
        m_table->setItem(row, 1, cell(number("%.3f", c.bitsPerParameter), tip));
        m_table->setItem(row, 2, cell(number("%.4f", c.perplexity)));
        m_table->setItem(row, 3, cell(number("%.3e", c.kl.mean)));
        m_table->setItem(row, 4, cell(number("%.3e", c.kl.median)));
        m_table->setItem(row, 5, cell(number("%.3e", c.kl.p99)));
        m_table->setItem(row, 6, cell(number("%.3e", c.kl.max)));
        m_table->setItem(row, 7, cell(number("%.2f%%", 100.0 * c.top1Agreement)));
        m_table->setItem(row, 8, cell(number("%+.4f", c.meanDeltaLogProb)));
        points.append({QString::fromStdString(c.name), c.bitsPerParameter, c.kl.mean, c.top1Agreement});
    }
    m_sizeChart->setPoints(points);
    QList<SensitivityBar> bars;
    for (const auto& s : r.sensitivity)
        bars.append({QString::fromStdString(s.group), s.klMean});
    m_sensitivityChart->setBars(r.sensitivity.empty()
                                    ? tr("Sensitivity: choose one layer or one role at a time")
                                    : tr("Mean KL with one %1 at a time in %2")
                                          .arg(QString::fromStdString(r.sensitivityMode),
                                               QString::fromStdString(r.sensitivity.front().scheme)),
                                bars);
    m_status->setText(tr("Done. Hover a row for which tensors its scheme quantized."));
}

} // namespace quantlens::ui
