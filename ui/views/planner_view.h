#pragma once

#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"

#include <QWidget>

class QLabel;
class QVBoxLayout;
class QTableWidget;
class QTabWidget;

namespace quantlens::ui {

class PlannerForm;
class BreakdownChart;
class SweepChart;
class TeachingTableView;

// The Planner workspace: the form on the left; on the right the verdict, the breakdown chart
// against the GPU, the suggestions (each with an Apply button), sweeps and the teaching table.
// Every input change recomputes at once: the planner takes microseconds.
class PlannerView : public QWidget {
    Q_OBJECT
public:
    explicit PlannerView(QWidget* parent = nullptr);

    PlannerForm* form() const { return m_form; }
    BreakdownChart* breakdownChart() const { return m_breakdown; }
    SweepChart* seqSweepChart() const { return m_seqSweep; }
    SweepChart* batchSweepChart() const { return m_batchSweep; }
    const core::PlanResult& result() const { return m_result; }
    const std::vector<core::Suggestion>& currentSuggestions() const { return m_suggestions; }
    QString verdictText() const;
    // The teaching table as the user set it in its tab.
    core::TeachingTable teachingTable() const;
    // Applies suggestion `index` (what its button does).
    void applySuggestion(int index);

Q_SIGNALS:
    void planChanged(const quantlens::core::PlanInput& input, const quantlens::core::PlanResult& result);

private:
    void recompute(const core::PlanInput& input);
    void showVerdict(const core::PlanInput& input);
    void showSuggestions();
    void showSweeps(const core::PlanInput& input);
    void showTable();

    PlannerForm* m_form;
    QLabel* m_verdict;
    QLabel* m_details;
    BreakdownChart* m_breakdown;
    QWidget* m_suggestionBox;
    QVBoxLayout* m_suggestionLayout;
    QTabWidget* m_tabs;
    SweepChart* m_seqSweep;
    SweepChart* m_batchSweep;
    QTableWidget* m_table;
    TeachingTableView* m_teaching;
    core::PlanResult m_result;
    std::vector<core::Suggestion> m_suggestions;
};

} // namespace quantlens::ui
