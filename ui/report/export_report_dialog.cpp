#include "ui/report/export_report_dialog.h"

#include "core/report/csv_report.h"
#include "core/report/markdown_report.h"
#include "core/report/report_format.h"
#include "core/report/report_json.h"
#include "core/util/error.h"
#include "ui/report/report_charts.h"
#include "ui/report_builder.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QSettings>
#include <QLineEdit>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QSvgRenderer>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

namespace quantlens::ui {

namespace {

QCheckBox* sectionBox(const QString& text, bool available, QWidget* parent)
{
    auto* box = new QCheckBox(text, parent);
    box->setChecked(available);
    box->setEnabled(available);
    if (!available)
        box->setToolTip(ExportReportDialog::tr("Nothing to include: this analysis has not been run"));
    return box;
}

QImage rasterize(const std::string& svg, int width)
{
    QSvgRenderer renderer(QByteArray::fromStdString(svg));
    const QSize natural = renderer.defaultSize().isEmpty() ? kReportChartSize : renderer.defaultSize();
    QImage image(width, width * natural.height() / natural.width(), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter painter(&image);
    renderer.render(&painter);
    return image;
}

} // namespace

ExportReportDialog::ExportReportDialog(core::ReportData data, QWidget* parent)
    : QDialog(parent)
    , m_data(std::move(data))
{
    setWindowTitle(tr("Export report"));
    setObjectName(QStringLiteral("exportReportDialog"));

    auto* sections = new QGroupBox(tr("Include"), this);
    auto* sectionsLayout = new QVBoxLayout(sections);
    m_model = sectionBox(tr("Model summary"), m_data.model.has_value(), sections);
    m_plans = sectionBox(tr("Memory plan (breakdown, suggestions, sweep)"), !m_data.plans.empty(), sections);
    m_teaching = sectionBox(tr("Teaching table"), m_data.teaching.has_value(), sections);
    m_errors = sectionBox(tr("Quantization error (per layer, worst tensors)"), m_data.scan.has_value(), sections);
    m_quality = sectionBox(tr("Model quality (perplexity, KL, top-1 agreement)"), m_data.quality.has_value(), sections);
    m_advice = sectionBox(tr("Mixed precision advisor"), m_data.advice.has_value(), sections);
    m_bench = sectionBox(tr("Benchmarks"), !m_data.bench.empty(), sections);
    m_environment = sectionBox(tr("Environment"), true, sections);
    for (auto* box : {m_model, m_plans, m_teaching, m_errors, m_quality, m_advice, m_bench, m_environment}) {
        sectionsLayout->addWidget(box);
        connect(box, &QCheckBox::toggled, this, &ExportReportDialog::updatePreview);
    }
    sectionsLayout->addStretch();

    // Where the last report went (its folder and format), else the home folder.
    const QString last = QSettings().value(QStringLiteral("export/lastReport")).toString();
    const QFileInfo lastInfo(last);
    const QString start = !last.isEmpty() && lastInfo.dir().exists()
        ? lastInfo.dir().filePath(QStringLiteral("quantlens-report.") + lastInfo.suffix())
        : QDir::home().filePath(QStringLiteral("quantlens-report.html"));
    m_path = new QLineEdit(start, this);
    m_path->setObjectName(QStringLiteral("reportPath"));
    auto* browse = new QPushButton(tr("Browse..."), this);
    connect(browse, &QPushButton::clicked, this, &ExportReportDialog::browse);
    connect(m_path, &QLineEdit::textChanged, this, &ExportReportDialog::updatePreview);
    m_format = new QLabel(this);
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(m_path, 1);
    pathRow->addWidget(browse);
    auto* form = new QFormLayout;
    form->addRow(tr("File:"), pathRow);
    form->addRow(tr("Format:"), m_format);

    m_preview = new QTextBrowser(this);
    m_preview->setObjectName(QStringLiteral("reportPreview"));
    m_preview->setOpenLinks(false);
    m_preview->setMinimumSize(520, 420);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    auto* exportButton = m_buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
    exportButton->setDefault(true);
    connect(m_buttons, &QDialogButtonBox::accepted, this, [this] {
        if (exportNow())
            accept();
    });
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* left = new QVBoxLayout;
    left->addWidget(sections);
    auto* body = new QHBoxLayout;
    body->addLayout(left);
    body->addWidget(m_preview, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(body, 1);
    layout->addWidget(m_buttons);
    updatePreview();
}

ReportOptions ExportReportDialog::options() const
{
    ReportOptions o;
    o.sections.model = m_model->isChecked();
    o.sections.plans = m_plans->isChecked();
    o.sections.teaching = m_teaching->isChecked();
    o.sections.errors = m_errors->isChecked();
    o.sections.bench = m_bench->isChecked();
    o.sections.quality = m_quality->isChecked();
    o.sections.advice = m_advice->isChecked();
    o.sections.environment = m_environment->isChecked();
    return o;
}

QString ExportReportDialog::path() const
{
    return m_path->text().trimmed();
}

void ExportReportDialog::setPath(const QString& path)
{
    m_path->setText(path);
}

QString ExportReportDialog::previewText() const
{
    return m_preview->toPlainText();
}

const core::ReportCharts& ExportReportDialog::charts()
{
    if (!m_charts)
        m_charts = renderReportCharts(m_data);
    return *m_charts;
}

void ExportReportDialog::browse()
{
    const QString chosen
        = QFileDialog::getSaveFileName(this, tr("Export report"), path(),
                                       tr("HTML (*.html);;PDF (*.pdf);;Markdown (*.md);;CSV (*.csv);;JSON (*.json)"),
                                       nullptr, QFileDialog::DontConfirmOverwrite);
    if (!chosen.isEmpty())
        setPath(chosen);
}

void ExportReportDialog::updatePreview()
{
    const ReportOptions o = options();
    core::ReportFormat format;
    try {
        format = core::reportFormatFromPath(path().toStdString());
    } catch (const Error& e) {
        m_format->setText(QString::fromStdString(e.what()));
        m_preview->setPlainText(QString());
        return;
    }
    m_format->setText(QString::fromLatin1(core::toString(format)).toUpper());
    const core::ReportData data = withOutputPath(m_data, path(), o.sections); // its command line writes this file
    switch (format) {
    case core::ReportFormat::Html:
    case core::ReportFormat::Pdf: {
        core::HtmlReportOptions html;
        html.inlineCharts = false;
        const int width = std::max(320, m_preview->viewport()->width() - 40);
        auto* document = m_preview->document();
        for (const auto& [id, svg] : charts().svg)
            document->addResource(QTextDocument::ImageResource,
                                  QUrl(QStringLiteral("chart:") + QString::fromStdString(id)), rasterize(svg, width));
        m_preview->setHtml(QString::fromStdString(core::htmlReport(data, charts(), o.sections, html)));
        break;
    }
    case core::ReportFormat::Markdown:
        m_preview->setMarkdown(QString::fromStdString(core::markdownReport(data, o.sections)));
        break;
    case core::ReportFormat::Json:
        m_preview->setPlainText(QString::fromStdString(core::reportToJson(data, o.sections).dump(2)));
        break;
    case core::ReportFormat::Csv: {
        std::string text;
        if (o.sections.errors && m_data.scan)
            text += core::tensorErrorsCsv(*m_data.scan);
        if (o.sections.plans && !m_data.plans.empty())
            text += (text.empty() ? "" : "\n") + core::plannerBreakdownCsv(m_data.plans);
        if (o.sections.quality && m_data.quality)
            text += (text.empty() ? "" : "\n") + core::qualityCsv(*m_data.quality);
        if (o.sections.advice && m_data.advice)
            text += (text.empty() ? "" : "\n") + core::adviceCsv(*m_data.advice);
        m_preview->setPlainText(QString::fromStdString(text));
        break;
    }
    }
}

bool ExportReportDialog::exportNow()
{
    ReportOptions o = options();
    const QString target = path();
    try {
        QStringList existing;
        for (const QString& file : reportOutputFiles(m_data, target, o)) {
            if (QFileInfo::exists(file))
                existing << QFileInfo(file).fileName();
        }
        if (!existing.isEmpty()) {
            const auto answer
                = QMessageBox::question(this, tr("Replace file?"),
                                        tr("%1 already exists. Replace it?").arg(existing.join(QStringLiteral(", "))),
                                        QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
            if (answer != QMessageBox::Yes)
                return false;
            o.force = true;
        }
        exportReport(withOutputPath(m_data, target, o.sections), target, o);
    } catch (const std::exception& e) {
        QMessageBox::critical(this, tr("Export failed"), QString::fromStdString(e.what()));
        return false;
    }
    QSettings().setValue(QStringLiteral("export/lastReport"), QFileInfo(target).absoluteFilePath());
    Q_EMIT reportExported(target);
    return true;
}

} // namespace quantlens::ui
