#include "ui/views/advisor_view.h"

#include "core/advise/recipe.h"
#include "core/quant/scheme.h"
#include "core/report/atomic_write.h"
#include "core/util/error.h"
#include "core/util/text_list.h"
#include "core/util/units.h"
#include "ui/charts/advisor_charts.h"
#include "ui/jobs/advisor_job.h"
#include "ui/jobs/eval_job.h"
#include "ui/models/model_session.h"

#include <nlohmann/json.hpp>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QShortcut>
#include <QSlider>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace quantlens::ui {

namespace {

constexpr int kSliderSteps = 1000;

QString bytesText(std::uint64_t bytes)
{
    return QString::fromStdString(core::formatBinaryBytes(double(bytes)));
}

} // namespace

AdvisorView::AdvisorView(ModelSession* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
    , m_job(new AdvisorJob(this))
    , m_verifyJob(new EvalJob(this))
{
    setObjectName(QStringLiteral("advisorView"));
    m_family = new QComboBox(this);
    m_family->addItems({tr("GGUF mix (llama-quantize)"), tr("bitsandbytes (transformers)")});
    m_cost = new QComboBox(this);
    m_cost->setObjectName(QStringLiteral("advisorCost"));
    m_cost->addItem(tr("weight error"), int(core::AdvisorCostKind::Weight));
    m_cost->addItem(tr("activation-weighted (one model run)"), int(core::AdvisorCostKind::Activation));
    m_cost->addItem(tr("output KL (a model run per tensor and type)"), int(core::AdvisorCostKind::Kl));
    m_cost->setToolTip(tr("What each tensor's choice costs: its squared weight error; that error weighted by each "
                          "input channel's mean square over 8 x 256 tokens sampled from the model (llama.cpp's "
                          "importance matrix); or the output KL with that tensor alone quantized, the most faithful "
                          "and by far the slowest. The activation and KL costs need a model the forward pass runs."));
    m_candidates = new QLineEdit(this);
    m_candidates->setPlaceholderText(tr("default: q2_k … q8_0 and fp16 (GGUF); nf4, nf4-dq, fp4 (bitsandbytes)"));
    m_candidates->setToolTip(tr("Candidate types, comma-separated"));
    m_measure = new QPushButton(tr("&Measure"), this);
    m_measure->setObjectName(QStringLiteral("advisorMeasure"));
    m_measure->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_measure->setToolTip(tr("Measure every tensor under every candidate (Ctrl+R); then move the budget freely"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    auto* escape = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    escape->setContext(Qt::WidgetWithChildrenShortcut);
    connect(escape, &QShortcut::activated, this, &AdvisorView::cancel);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setRange(0, kSliderSteps);
    m_slider->setEnabled(false);
    m_bits = new QDoubleSpinBox(this);
    m_bits->setDecimals(3);
    m_bits->setSuffix(tr(" bits/param"));
    m_bits->setSingleStep(0.05);
    m_bits->setEnabled(false);
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setObjectName(QStringLiteral("advisorStatus"));
    m_save = new QPushButton(tr("Save recipe…"), this);
    m_save->setEnabled(false);
    m_save->setToolTip(tr("The mix as a llama-quantize command (.sh), a BitsAndBytesConfig (.json) or Python (.py)"));
    m_verify = new QPushButton(tr("Verify by running the model"), this);
    m_verify->setEnabled(false);
    m_verify->setToolTip(tr("Measure KL and top-1 agreement of this mix and of the one type alone nearest its size "
                            "(8 x 256 tokens sampled from the model)"));
    m_measured = new QLabel(this);
    m_measured->setWordWrap(true);
    m_measured->setObjectName(QStringLiteral("advisorMeasured"));
    m_strip = new AdvisorStrip(this);
    m_chart = new FrontierChart(this);
    m_chart->setMinimumSize(320, 240);
    m_table = new QTableWidget(0, 4, this);
    m_table->setObjectName(QStringLiteral("advisorComparison"));
    m_table->setHorizontalHeaderLabels({tr("mix"), tr("size"), tr("bits/param"), tr("weight error")});
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->verticalHeader()->hide();

    auto* top = new QGridLayout;
    top->addWidget(new QLabel(tr("Format:"), this), 0, 0);
    top->addWidget(m_family, 0, 1);
    top->addWidget(new QLabel(tr("Candidates:"), this), 0, 2);
    top->addWidget(m_candidates, 0, 3);
    top->addWidget(new QLabel(tr("Cost:"), this), 0, 4);
    top->addWidget(m_cost, 0, 5);
    top->addWidget(m_measure, 0, 6);
    top->addWidget(m_cancel, 0, 7);
    top->addWidget(new QLabel(tr("Budget:"), this), 1, 0);
    top->addWidget(m_slider, 1, 1, 1, 5);
    top->addWidget(m_bits, 1, 6, 1, 2);
    top->setColumnStretch(3, 1);

    auto* stripScroll = new QScrollArea(this);
    stripScroll->setWidget(m_strip);
    stripScroll->setWidgetResizable(true);
    stripScroll->setMinimumHeight(150);
    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(new QLabel(tr("The mix, tensor by tensor (hover for its cost):"), right));
    rightLayout->addWidget(stripScroll, 1);
    rightLayout->addWidget(m_table, 1);
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(m_chart);
    split->addWidget(right);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    auto* bottom = new QHBoxLayout;
    bottom->addWidget(m_save);
    bottom->addWidget(m_verify);
    bottom->addWidget(m_status, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_progress);
    layout->addWidget(m_summary);
    layout->addWidget(split, 1);
    layout->addWidget(m_measured);
    layout->addLayout(bottom);

    connect(m_measure, &QPushButton::clicked, this, &AdvisorView::measure);
    connect(m_cancel, &QPushButton::clicked, this, &AdvisorView::cancel);
    connect(m_slider, &QSlider::valueChanged, this, [this] {
        if (!m_updating)
            solve();
    });
    connect(m_bits, &QDoubleSpinBox::valueChanged, this, [this](double bits) {
        if (!m_updating)
            setBudgetBitsPerParameter(bits);
    });
    connect(m_save, &QPushButton::clicked, this, [this] {
        const bool ggml = m_result && m_result->family == "ggml";
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Save the mix"), ggml ? QStringLiteral("mix.sh") : QStringLiteral("bnb-config.json"),
            ggml ? tr("llama-quantize command (*.sh)") : tr("BitsAndBytesConfig (*.json);;Python (*.py)"));
        if (!path.isEmpty())
            saveRecipe(path);
    });
    connect(m_verify, &QPushButton::clicked, this, &AdvisorView::verify);
    connect(m_verifyJob, &EvalJob::progressChanged, this, [this](const QString& what, quint64, quint64) {
        m_measured->setText(tr("Running the model: %1").arg(what));
    });
    connect(m_verifyJob, &EvalJob::evalFinished, this, [this] {
        m_verify->setEnabled(m_result.has_value());
        m_measured->setText(verification());
        Q_EMIT verified();
    });
    connect(m_verifyJob, &EvalJob::evalFailed, this, [this](const QString& message) {
        m_verify->setEnabled(m_result.has_value());
        m_measured->setText(tr("Could not run the model: %1").arg(message));
    });
    connect(m_verifyJob, &EvalJob::evalCancelled, this, [this] { m_verify->setEnabled(m_result.has_value()); });
    connect(m_job, &AdvisorJob::progressChanged, this, [this](quint64 done, quint64 total, const QString& what) {
        // Bytes can exceed an int: show per mille.
        m_progress->setRange(0, 1000);
        m_progress->setValue(total ? int(1000.0 * double(done) / double(total)) : 0);
        m_status->setText(what);
    });
    connect(m_job, &AdvisorJob::measured, this, [this] {
        m_measure->setEnabled(true);
        m_cancel->setEnabled(false);
        m_progress->setRange(0, 1);
        m_progress->setValue(1);
        m_slider->setEnabled(true);
        m_bits->setEnabled(true);
        m_save->setEnabled(true);
        solve();
    });
    connect(m_job, &AdvisorJob::cancelled, this, [this] {
        m_measure->setEnabled(true);
        m_cancel->setEnabled(false);
        m_status->setText(tr("Cancelled."));
    });
    connect(m_job, &AdvisorJob::failed, this, [this](const QString& message) {
        m_measure->setEnabled(true);
        m_cancel->setEnabled(false);
        m_status->setText(tr("Failed: %1").arg(message));
    });
    connect(m_session, &ModelSession::modelOpened, this, [this] { modelChanged(); });
    modelChanged();
}

AdvisorView::~AdvisorView() = default;

void AdvisorView::setFamily(core::AdvisorFamily family)
{
    m_family->setCurrentIndex(family == core::AdvisorFamily::Ggml ? 0 : 1);
}

void AdvisorView::setCost(core::AdvisorCostKind cost)
{
    m_cost->setCurrentIndex(m_cost->findData(int(cost)));
}

void AdvisorView::setCandidates(const QString& list)
{
    m_candidates->setText(list);
}

void AdvisorView::modelChanged()
{
    m_job->reset();
    m_verifyJob->reset();
    m_measured->clear();
    m_verify->setEnabled(false);
    m_result.reset();
    m_slider->setEnabled(false);
    m_bits->setEnabled(false);
    m_save->setEnabled(false);
    m_strip->setCells({});
    m_table->setRowCount(0);
    m_summary->clear();
    m_measure->setEnabled(m_session->model() != nullptr);
    m_status->setText(m_session->model() ? tr("Measure to see the mixes this model allows.")
                                         : tr("Open a model (Ctrl+O)."));
}

void AdvisorView::measure()
{
    const auto model = m_session->model();
    if (!model || m_job->isRunning())
        return;
    core::AdvisorOptions options;
    options.family = m_family->currentIndex() == 0 ? core::AdvisorFamily::Ggml : core::AdvisorFamily::Bitsandbytes;
    options.cost = core::AdvisorCostKind(m_cost->currentData().toInt());
    const QString list = m_candidates->text().simplified().remove(QLatin1Char(' '));
    if (!list.isEmpty())
        for (const auto& s : splitCommaList(list.toStdString()))
            options.schemes.push_back(s);
    m_result.reset();
    m_measure->setEnabled(false);
    m_cancel->setEnabled(true);
    m_progress->setRange(0, 0);
    m_status->setText(tr("Measuring…"));
    m_job->start(model, options);
}

void AdvisorView::cancel()
{
    m_job->cancel();
}

void AdvisorView::setBudgetBitsPerParameter(double bits)
{
    if (!m_job->hasResult())
        return;
    const auto& m = m_job->measurements();
    const auto [least, most] = core::adviceSpan(m);
    const double bytes = std::clamp(bits * double(m.base.parameters) / 8.0, double(least), double(most));
    m_updating = true;
    m_slider->setValue(int(std::lround((bytes - double(least)) / std::max(1.0, double(most - least)) * kSliderSteps)));
    m_updating = false;
    solve();
}

void AdvisorView::solve()
{
    if (!m_job->hasResult())
        return;
    const auto& m = m_job->measurements();
    const auto [least, most] = core::adviceSpan(m);
    const auto budget = least + std::uint64_t(double(most - least) * double(m_slider->value()) / kSliderSteps);
    const double parameters = double(std::max<std::uint64_t>(m.base.parameters, 1));
    const auto bitsOf = [parameters](std::uint64_t bytes) { return double(bytes) * 8.0 / parameters; };
    try {
        m_result = core::solveAdvice(m, budget);
    } catch (const Error& e) {
        m_result.reset();
        m_status->setText(tr("No mix: %1").arg(QString::fromStdString(e.what())));
        return;
    }
    const auto& r = *m_result;
    m_updating = true;
    m_bits->setRange(bitsOf(least), bitsOf(most));
    m_bits->setValue(bitsOf(budget));
    m_updating = false;
    m_summary->setText(tr("<b>%1 (%2 bits/param)</b> for a budget of %3; total %9 %4%5. Mixes of these candidates run "
                          "from %6 to %7. Minimised: %8.")
                           .arg(bytesText(r.totalBytes), QString::number(bitsOf(r.totalBytes), 'f', 3),
                                bytesText(r.budgetBytes), QString::number(r.predictedCost, 'g', 5),
                                r.exact ? tr(" (optimal)")
                                        : tr(" (at most %1 above the optimum)")
                                              .arg(QString::number(r.predictedCost - r.lowerBound, 'g', 3)),
                                bytesText(least), bytesText(most), QString::fromStdString(r.costKind).toHtmlEscaped(),
                                QString::fromStdString(core::costLabel(r.costId))));
    m_table->setHorizontalHeaderLabels(
        {tr("mix"), tr("size"), tr("bits/param"), QString::fromStdString(core::costLabel(r.costId))});
    QList<AdvisorStrip::Cell> cells;
    for (const auto& a : r.assignment)
        cells.append({QString::fromStdString(a.role), a.layer, QString::fromStdString(a.scheme),
                      tr("%1\n%2: %3, cost %4")
                          .arg(QString::fromStdString(a.tensor), QString::fromStdString(a.scheme), bytesText(a.bytes),
                               QString::number(a.cost, 'g', 4))});
    m_strip->setCells(cells);
    QList<QPointF> frontier;
    for (const auto& p : r.frontier)
        frontier.append({bitsOf(p.bytes), p.cost});
    QList<FrontierChart::Point> alone, llama;
    for (const auto& u : r.uniform)
        alone.append({QString::fromStdString(u.scheme), bitsOf(u.bytes), u.cost});
    for (const auto& u : r.llamaCppMixes)
        llama.append({QString::fromStdString(u.scheme), bitsOf(u.bytes), u.cost});
    m_chart->setData(frontier, alone, llama, {tr("this mix"), bitsOf(r.totalBytes), r.predictedCost},
                     QString::fromStdString(r.costId));
    // Each type alone and llama.cpp's mixes, then this mix, smallest first.
    std::vector<core::UniformPoint> rows(r.uniform.begin(), r.uniform.end());
    rows.insert(rows.end(), r.llamaCppMixes.begin(), r.llamaCppMixes.end());
    rows.push_back({"this mix", r.totalBytes, r.predictedCost, ""});
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
    m_table->setRowCount(int(rows.size()));
    for (int i = 0; i < int(rows.size()); ++i) {
        const auto& u = rows[std::size_t(i)];
        const auto item = [&](const QString& text, bool numeric) {
            auto* it = new QTableWidgetItem(text);
            it->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
            if (numeric)
                it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (!u.note.empty())
                it->setToolTip(QString::fromStdString(u.note));
            if (u.scheme == "this mix") {
                QFont bold = it->font();
                bold.setBold(true);
                it->setFont(bold);
            }
            return it;
        };
        m_table->setItem(i, 0, item(QString::fromStdString(u.scheme), false));
        m_table->setItem(i, 1, item(bytesText(u.bytes), true));
        m_table->setItem(i, 2, item(QString::number(bitsOf(u.bytes), 'f', 3), true));
        m_table->setItem(i, 3, item(QString::number(u.cost, 'g', 5), true));
    }
    m_status->setText(tr("Move the budget; save the mix as a recipe."));
    m_verify->setEnabled(!m_verifyJob->isRunning());
    Q_EMIT solved();
}

void AdvisorView::verify()
{
    const auto model = m_session->model();
    if (!m_result || !model || m_verifyJob->isRunning())
        return;
    const auto& r = *m_result;
    core::EvalOptions options;
    core::EvalRecipe mix {"this mix", {}};
    for (const auto& a : r.assignment)
        if (a.scheme != "keep")
            mix.schemes[a.tensor] = a.scheme;
    options.recipes = {mix};
    // The one type alone nearest the mix's size: the smallest at or above it, else the largest below.
    const core::UniformPoint* nearest = nullptr;
    for (const auto& u : r.uniform) {
        if (u.scheme.find(' ') != std::string::npos)
            continue; // "keep (16-bit)"
        const bool above = u.bytes >= r.totalBytes;
        if (!nearest || (above && (nearest->bytes < r.totalBytes || u.bytes < nearest->bytes))
            || (!above && nearest->bytes < r.totalBytes && u.bytes > nearest->bytes))
            nearest = &u;
    }
    if (nearest)
        options.schemes = {core::makeScheme(nearest->scheme)};
    m_verify->setEnabled(false);
    m_measured->setText(tr("Running the model…"));
    m_verifyJob->start(model, core::EvalInputSpec {}, std::move(options));
}

QString AdvisorView::verification() const
{
    if (!m_verifyJob->hasResult())
        return {};
    const auto& e = m_verifyJob->result();
    QStringList parts;
    for (const auto& c : e.results)
        parts << tr("%1 (%2 bits/param): KL %3, top-1 %4%")
                     .arg(QString::fromStdString(c.kind == "recipe" ? std::string("this mix") : c.name + " alone"),
                          QString::number(c.bitsPerParameter, 'f', 3), QString::number(c.kl.mean, 'g', 4),
                          QString::number(100.0 * c.top1Agreement, 'f', 1));
    return tr("Measured on %1: %2.").arg(QString::fromStdString(e.input), parts.join(QStringLiteral("; ")));
}

bool AdvisorView::saveRecipe(const QString& path)
{
    if (!m_result)
        return false;
    try {
        const std::string file = path.toStdString();
        std::string text;
        if (path.endsWith(QStringLiteral(".sh")))
            text = core::llamaQuantizeScript(*m_result, "model-f16.gguf", "model-mix.gguf");
        else if (path.endsWith(QStringLiteral(".json")))
            text = core::bitsandbytesConfig(*m_result).dump(2) + "\n";
        else if (path.endsWith(QStringLiteral(".py")))
            text = core::bitsandbytesPython(*m_result, QFileInfo(m_session->path()).absolutePath().toStdString());
        else
            throw UsageError("save the recipe as .sh, .json or .py");
        core::writeFileAtomically(file, text, true);
        m_status->setText(tr("Saved %1").arg(path));
        return true;
    } catch (const Error& e) {
        m_status->setText(tr("Cannot save: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

} // namespace quantlens::ui
