#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace quantlens::ui {

class EvalJob;
class ModelSession;
class QualitySizeChart;
class SensitivityChart;

// The Quality workspace: runs the open model (CPU forward pass) and measures what each scheme, or
// another file of the same model, does to its outputs: perplexity, KL divergence and top-1
// agreement, as a table and against bits per parameter; a sensitivity run shows KL by layer or role.
class QualityView : public QWidget {
    Q_OBJECT
public:
    explicit QualityView(ModelSession* session, QWidget* parent = nullptr);
    ~QualityView() override;

    EvalJob* job() const { return m_job; }
    QTableWidget* table() const { return m_table; }
    QualitySizeChart* sizeChart() const { return m_sizeChart; }
    SensitivityChart* sensitivityChart() const { return m_sensitivityChart; }

    void setSchemes(const QString& list);
    void setSampling(int sequences, int length, int seed);
    void setTokenFile(const QString& path); // empty: sample from the model
    void setTextFile(const QString& path, int length, int maxSequences); // through the model's tokenizer
    void setSensitivity(const QString& mode); // "", "layer" or "role"
    void addCompareFile(const QString& path);
    // The quantlens-cli command that reproduces the shown result (for reports); empty before one.
    QString commandLine() const;
    // The same run as `quantlens-cli report` options (--eval-scheme ..., unquoted); empty before one.
    QStringList reportArguments() const { return m_lastReportArguments; }

public Q_SLOTS:
    void startEval();
    void cancelEval();

Q_SIGNALS:
    void evalFinished();

private:
    void modelChanged();
    void showResult();
    void setRunning(bool running);

    ModelSession* m_session = nullptr;
    EvalJob* m_job = nullptr;
    QLineEdit* m_schemes = nullptr;
    QListWidget* m_compare = nullptr;
    QComboBox* m_input = nullptr;
    QSpinBox* m_sequences = nullptr;
    QSpinBox* m_length = nullptr;
    QSpinBox* m_seed = nullptr;
    QLineEdit* m_tokenFile = nullptr;
    QComboBox* m_sensitivity = nullptr;
    QLineEdit* m_sensitivityScheme = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_cancel = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_summary = nullptr;
    QTableWidget* m_table = nullptr;
    QualitySizeChart* m_sizeChart = nullptr;
    SensitivityChart* m_sensitivityChart = nullptr;
    QStringList m_lastArguments; // of the run whose result is shown
    QStringList m_runningArguments;
    QStringList m_lastReportArguments;
    QStringList m_runningReportArguments;
};

} // namespace quantlens::ui
