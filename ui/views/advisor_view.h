#pragma once

#include "core/advise/advisor.h"

#include <QWidget>

#include <optional>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QTableWidget;

namespace quantlens::ui {

class AdvisorJob;
class EvalJob;
class AdvisorStrip;
class FrontierChart;
class ModelSession;

// The Advisor workspace: measures the open model's tensors under candidate types once, then a budget
// slider moves along the frontier and shows the mix (a strip coloured by type), the cost against
// each type alone and llama.cpp's mixes, and saves the mix as a recipe.
class AdvisorView : public QWidget {
    Q_OBJECT
public:
    explicit AdvisorView(ModelSession* session, QWidget* parent = nullptr);
    ~AdvisorView() override;

    AdvisorJob* job() const { return m_job; }
    AdvisorStrip* strip() const { return m_strip; }
    FrontierChart* chart() const { return m_chart; }
    QTableWidget* comparison() const { return m_table; }
    const std::optional<core::AdvisorResult>& result() const { return m_result; }

    void setFamily(core::AdvisorFamily family);
    void setCandidates(const QString& list);
    void setCost(core::AdvisorCostKind cost);
    // Moves the budget (clamped to the mixes possible) and solves.
    void setBudgetBitsPerParameter(double bits);
    // Writes the mix: .sh (llama-quantize), .json (BitsAndBytesConfig) or .py. Returns false and
    // says why in the status line.
    bool saveRecipe(const QString& path);
    // The measured side of the prediction: the mix and the one type alone nearest its size, run on
    // 8 x 256 tokens sampled from the model (eval); verified() follows.
    void verify();
    EvalJob* verifyJob() const { return m_verifyJob; }
    QString verification() const;

public Q_SLOTS:
    void measure();
    void cancel();

Q_SIGNALS:
    void solved();
    void verified();

private:
    void modelChanged();
    void solve();

    ModelSession* m_session = nullptr;
    AdvisorJob* m_job = nullptr;
    QComboBox* m_family = nullptr;
    QComboBox* m_cost = nullptr;
    QLineEdit* m_candidates = nullptr;
    QPushButton* m_measure = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_save = nullptr;
    QPushButton* m_verify = nullptr;
    QLabel* m_measured = nullptr;
    EvalJob* m_verifyJob = nullptr;
    QProgressBar* m_progress = nullptr;
    QSlider* m_slider = nullptr;
    QDoubleSpinBox* m_bits = nullptr;
    QLabel* m_summary = nullptr;
    QLabel* m_status = nullptr;
    AdvisorStrip* m_strip = nullptr;
    FrontierChart* m_chart = nullptr;
    QTableWidget* m_table = nullptr;
    std::optional<core::AdvisorResult> m_result;
    bool m_updating = false;
};

} // namespace quantlens::ui
