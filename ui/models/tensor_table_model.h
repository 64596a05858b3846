#pragma once

#include "core/model/tensor_info.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QString>
#include <QStringList>

#include <vector>

namespace quantlens::ui {

// The error columns of one tensor under one scheme (a snapshot of the scan's result).
struct TensorErrorCells {
    double rmse = 0;
    double maxAbsError = 0;
    double sqnrDb = 0;
    double relError = 0;
    double cosine = 0;
    quint64 nonFinite = 0;
    QString skipped; // non-empty: why the scheme did not measure this tensor (the metrics are NaN)
    // Kept as stored by the scan's policy (exact; the metric cells show a dash), else stored as
    // `storedAs`: a fallback type, or empty for the scheme itself. policyNote says why, when not the scheme.
    bool kept = false;
    QString storedAs;
    QString policyNote;
};

// The tensors of the open model, one row each, with the error columns of the scheme chosen by
// setErrorScheme() filled as scan results arrive. Heat colour: the relative error of a row against
// the worst row of the same scheme.
class TensorTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Name,
        Layer,
        Role,
        Shape,
        DType,
        Size,
        Parameters,
        StoredAs, // the first of the scheme's columns
        Rmse,
        MaxAbsError,
        SqnrDb,
        RelError,
        Cosine,
        ColumnCount
    };
    // Sorting by these roles compares numbers, not their text.
    static constexpr int SortRole = Qt::UserRole + 1;

    explicit TensorTableModel(QObject* parent = nullptr);

    void setTensors(std::vector<core::TensorInfo> tensors);
    const std::vector<core::TensorInfo>& tensors() const { return m_tensors; }
    // Adds or replaces one result; emits dataChanged for that row only.
    void setError(int tensorIndex, const QString& schemeId, const TensorErrorCells& cells);
    void clearErrors();
    void setErrorScheme(const QString& schemeId);
    QString errorScheme() const { return m_scheme; }
    QStringList schemesWithResults() const;
    bool hasError(int tensorIndex, const QString& schemeId) const;
    TensorErrorCells error(int tensorIndex, const QString& schemeId) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVariant errorValue(const TensorErrorCells& cells, int column) const;

    std::vector<core::TensorInfo> m_tensors;
    QHash<QString, QHash<int, TensorErrorCells>> m_errors; // scheme -> tensor -> cells
    QHash<QString, double> m_worstRelError; // scheme -> max relative error
    QString m_scheme;
};

QString shapeText(const std::vector<std::uint64_t>& shape);

} // namespace quantlens::ui
