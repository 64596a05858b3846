#pragma once

#include "core/quant/quant_policy.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QComboBox;
class QTableView;
class QPushButton;
class QProgressBar;
class QListWidget;
class QSpinBox;
class QCheckBox;
class QTableWidget;

namespace quantlens::ui {

class ModelSession;
class TensorTableModel;
class TensorFilterModel;
class TotalsTable;
class ErrorByLayerChart;
class ScanJob;

// The Model Inspector: the open model's tensors in a sortable, filterable table with totals by role
// and dtype; a scan of the chosen schemes fills the error columns as results arrive, draws error by
// layer and sums up each scheme.
class InspectorView : public QWidget {
    Q_OBJECT
public:
    explicit InspectorView(ModelSession* session, QWidget* parent = nullptr);
    ~InspectorView() override;

    TensorTableModel* tableModel() const { return m_model; }
    TensorFilterModel* filterModel() const { return m_filter; }
    ScanJob* scanJob() const { return m_job; }
    QTableView* tableView() const { return m_table; }

    // The scheme ids ticked in the list (e.g. "nf4", "q4_0").
    QStringList selectedSchemes() const;
    void setSelectedSchemes(const QStringList& ids);
    int blockSize() const;
    bool doubleQuant() const;
    // Which tensors each scheme quantizes in the next scan: as its tool does (default) or every one.
    core::TensorSelection tensorSelection() const;
    // Of the finished scan whose result is shown (the report's --policy).
    core::TensorSelection scannedTensorSelection() const;
    QString nameFilter() const;
    QString progressText() const; // the line under the progress bar
    QString storedQuantizationBanner() const; // empty when hidden
    // The scheme list's search (hides the schemes that do not match) and presets ("bitsandbytes",
    // "gguf", "integer"): tick that set and nothing else.
    void setSchemeSearch(const QString& text);
    void applySchemePreset(const QString& preset);
    QStringList visibleSchemes() const;
    QString roleFilter() const; // a roleName, or empty for every role
    // The filters the last scan ran with (empty when it scanned every tensor): what the report says
    // was scanned, whatever the filters show now.
    QString scannedNameFilter() const { return m_scannedNameFilter; }
    QString scannedRoleFilter() const { return m_scannedRoleFilter; }
    bool scansOnGpu() const; // NF4/FP4 measured on the GPU

public Q_SLOTS:
    void startScan();
    void cancelScan();

Q_SIGNALS:
    // The user picked a tensor (double-click or Enter): the Lab should show it.
    void tensorActivated(int tensorIndex);

private:
    void onModelOpened();
    void normaliseBlockSize();
    void updateSummary();
    void updateChart();
    void onScanProgress();
    void onScanFinished();

    ModelSession* m_session;
    TensorTableModel* m_model;
    TensorFilterModel* m_filter;
    ScanJob* m_job;
    QLabel* m_title;
    QLabel* m_storedBanner = nullptr; // shown when the model is stored quantized
    QLineEdit* m_schemeSearch = nullptr;
    QComboBox* m_schemePreset = nullptr;
    QLineEdit* m_nameFilter;
    QComboBox* m_roleFilter;
    QListWidget* m_schemes;
    QSpinBox* m_blockSize;
    QCheckBox* m_doubleQuant;
    QCheckBox* m_onGpu;
    QComboBox* m_policy = nullptr;
    QCheckBox* m_calibrate = nullptr;
    QComboBox* m_shownScheme;
    QComboBox* m_chartMetric;
    QCheckBox* m_chartByRole = nullptr;
    QTableView* m_table;
    TotalsTable* m_totals;
    QTableWidget* m_summary;
    ErrorByLayerChart* m_chart;
    QString m_scannedNameFilter; // of the finished scan whose result the job holds
    QString m_scannedRoleFilter;
    QString m_pendingNameFilter; // of the scan running, until it finishes
    QString m_pendingRoleFilter;
    QPushButton* m_scanButton;
    QPushButton* m_cancelButton;
    QProgressBar* m_progress;
    QLabel* m_progressLabel;
};

} // namespace quantlens::ui
