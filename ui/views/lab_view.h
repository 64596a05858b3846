#pragma once

#include "ui/jobs/lab_analysis.h"

#include <QFutureWatcher>
#include <QWidget>

class QComboBox;
class QSpinBox;
class QCheckBox;
class QLabel;
class QSlider;
class QTableWidget;
class QPushButton;

namespace quantlens::ui {

class ModelSession;
class HistogramChart;
class LevelsRuler;

// The Quantization Lab: one tensor (or a synthetic distribution) under one or two schemes side by
// side: weight histogram with the scheme's levels, error histogram and metrics, a block browser,
// and the course's k-bit picture with a bits slider.
class LabView : public QWidget {
    Q_OBJECT
public:
    explicit LabView(ModelSession* session, QWidget* parent = nullptr);
    ~LabView() override;

    // Analyses tensor `index` of the session's model (what selecting a tensor in the Inspector does).
    void showTensor(int index);
    void showSynthetic(SyntheticKind kind);
    void setSchemes(const QString& left, const QString& right);
    bool isBusy() const;
    ModelSession* session() const { return m_session; }
    const LabAnalysis& analysis() const { return m_analysis; }
    HistogramChart* weightChart(int side) const { return m_weightCharts[side]; }
    HistogramChart* errorChart(int side) const { return m_errorCharts[side]; }
    LevelsRuler* ruler() const { return m_ruler; }
    QSlider* bitsSlider() const { return m_bits; }

Q_SIGNALS:
    void analysisReady();
    void analysisFailed(const QString& message);

private:
    void rerun();
    void showAnalysis();
    void showBlock();
    void showNoBlock(const QString& info);
    void updateTeaching();
    LabRequest currentRequest() const;

    ModelSession* m_session;
    int m_tensorIndex = -1;
    SyntheticKind m_synthetic = SyntheticKind::Normal;
    bool m_useSynthetic = true;
    LabAnalysis m_analysis;
    QFutureWatcher<void>* m_watcher = nullptr;
    quint64 m_generation = 0;
    std::shared_ptr<LabAnalysis> m_pending;
    std::shared_ptr<QString> m_pendingError;

    QLabel* m_source;
    QComboBox* m_syntheticCombo;
    QComboBox* m_schemeCombos[2];
    QSpinBox* m_blockSize;
    QCheckBox* m_doubleQuant;
    QLabel* m_metrics[2];
    HistogramChart* m_weightCharts[2];
    HistogramChart* m_errorCharts[2];
    QSpinBox* m_block;
    QCheckBox* m_allBlocks;
    QTableWidget* m_blockTable;
    QLabel* m_blockInfo;
    QSlider* m_bits;
    QComboBox* m_grid;
    LevelsRuler* m_ruler;
    QLabel* m_teachingText;
};

} // namespace quantlens::ui
