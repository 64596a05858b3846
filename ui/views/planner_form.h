#pragma once

#include "core/planner/planner.h"

#include <QWidget>

class QComboBox;
class QSpinBox;
class QDoubleSpinBox;
class QCheckBox;
class QPushButton;
class QLabel;

namespace quantlens::ui {

// The planner's inputs as a form. Every change emits inputChanged() with the new PlanInput; a bad
// model source (unreadable config.json) emits modelFailed and keeps the previous model.
class PlannerForm : public QWidget {
    Q_OBJECT
public:
    explicit PlannerForm(QWidget* parent = nullptr);

    const core::PlanInput& input() const { return m_input; }
    // Puts `input` into the widgets (applying a suggestion) and emits inputChanged once.
    void setInput(const core::PlanInput& input);
    // Uses a config.json (or a model preset id) as the model. Returns false and emits modelFailed on error.
    bool setModelSource(const QString& presetOrConfigPath);
    void setGpu(const QString& gpuId);

    QComboBox* modelCombo() const { return m_model; }
    QComboBox* gpuCombo() const { return m_gpu; }

Q_SIGNALS:
    void inputChanged(const quantlens::core::PlanInput& input);
    void modelFailed(const QString& source, const QString& message);

private:
    void buildWidgets();
    void readWidgets();
    void widgetsChanged();
    void gpuTextEntered();
    void showAllocatorFraction();
    void writeWidgets();
    void updateEnabledState();
    void modelTextEntered();
    void openConfig();

    core::PlanInput m_input;
    bool m_updating = false;

    QComboBox* m_model;
    QPushButton* m_openConfig;
    QLabel* m_modelInfo;
    QComboBox* m_method;
    QComboBox* m_precision;
    QComboBox* m_weights;
    QCheckBox* m_doubleQuant;
    QComboBox* m_optimizer;
    QSpinBox* m_seq;
    QSpinBox* m_batch;
    QCheckBox* m_checkpointing;
    QCheckBox* m_freeOutputs;
    QComboBox* m_kvCacheBits;
    QCheckBox* m_expandable;
    QCheckBox* m_tensorParallel;
    QComboBox* m_attention;
    QSpinBox* m_rank;
    QDoubleSpinBox* m_alpha;
    QList<QCheckBox*> m_targets;
    QComboBox* m_gpu;
    QSpinBox* m_gpus;
    QComboBox* m_zero;
    QDoubleSpinBox* m_contextMiB;
    QDoubleSpinBox* m_allocator;
};

} // namespace quantlens::ui
