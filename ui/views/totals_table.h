#pragma once

#include "core/model/tensor_info.h"

#include <QTableWidget>

#include <vector>

namespace quantlens::ui {

// Parameter and byte totals of a model's tensors grouped by role and by dtype.
class TotalsTable : public QTableWidget {
    Q_OBJECT
public:
    explicit TotalsTable(QWidget* parent = nullptr);
    void setTensors(const std::vector<core::TensorInfo>& tensors);
};

} // namespace quantlens::ui
