#pragma once

#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"

#include <QWidget>

class QDoubleSpinBox;
class QSpinBox;
class QLineEdit;
class QTableWidget;
class QLabel;

namespace quantlens::ui {

// The introductory course's memory table (parameters, gradients, optimizer states, activations at
// chosen bit widths), editable per component, shown beside the planner's realistic estimate.
class TeachingTableView : public QWidget {
    Q_OBJECT
public:
    explicit TeachingTableView(QWidget* parent = nullptr);

    // The realistic estimate shown beside the table (the planner's current plan).
    void setRealistic(const core::PlanInput& input, const core::PlanResult& result);
    const core::TeachingTable& table() const { return m_table; }
    QTableWidget* tableWidget() const { return m_grid; }
    void setParameters(std::uint64_t parameters);

private:
    void recompute();

    core::TeachingTable m_table;
    QLineEdit* m_parameters;
    QList<QDoubleSpinBox*> m_baselineBits; // weights, gradients, optimizer, activations
    QList<QDoubleSpinBox*> m_quantizedBits;
    QSpinBox* m_baselineStates;
    QSpinBox* m_quantizedStates;
    QTableWidget* m_grid;
    QLabel* m_error;
    QLabel* m_realistic;
    QLabel* m_why;
};

} // namespace quantlens::ui
