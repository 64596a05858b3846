#pragma once

#include "core/report/html_report.h"
#include "core/report/report_data.h"
#include "ui/report/report_exporter.h"

#include <QDialog>
#include <QString>

#include <optional>

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QTextBrowser;

namespace quantlens::ui {

// File > Export report...: which sections to include, the output file (its extension picks the
// format), a live preview, and a confirmation before replacing a file. The report is written with
// exportReport(), the same function as `quantlens-cli report`.
class ExportReportDialog : public QDialog {
    Q_OBJECT
public:
    explicit ExportReportDialog(core::ReportData data, QWidget* parent = nullptr);

    ReportOptions options() const;
    QString path() const;
    void setPath(const QString& path);
    // What the preview shows now (plain text of the document), for tests.
    QString previewText() const;

    // Writes the report; asks before replacing an existing file. Returns false when the user
    // declined or the export failed (the error is shown).
    bool exportNow();

Q_SIGNALS:
    void reportExported(const QString& path);

private:
    void browse();
    void updatePreview();
    const core::ReportCharts& charts();

    core::ReportData m_data;
    std::optional<core::ReportCharts> m_charts;
    QCheckBox* m_model = nullptr;
    QCheckBox* m_plans = nullptr;
    QCheckBox* m_teaching = nullptr;
    QCheckBox* m_errors = nullptr;
    QCheckBox* m_bench = nullptr;
    QCheckBox* m_quality = nullptr;
    QCheckBox* m_advice = nullptr;
    QCheckBox* m_environment = nullptr;
    QLineEdit* m_path = nullptr;
    QLabel* m_format = nullptr;
    QTextBrowser* m_preview = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace quantlens::ui
