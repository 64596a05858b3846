#include "ui/models/tensor_table_model.h"

#include "core/util/units.h"
#include "ui/charts/chart_style.h"

#include <QColor>
#include <QLocale>

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantlens::ui {

QString shapeText(const std::vector<std::uint64_t>& shape)
{
    QStringList parts;
    for (auto d : shape)
        parts << QString::number(d);
    return parts.isEmpty() ? QStringLiteral("scalar") : parts.join(QStringLiteral(" × "));
}

TensorTableModel::TensorTableModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void TensorTableModel::setTensors(std::vector<core::TensorInfo> tensors)
{
    beginResetModel();
    m_tensors = std::move(tensors);
    m_errors.clear();
    m_worstRelError.clear();
    endResetModel();
}

void TensorTableModel::setError(int tensorIndex, const QString& schemeId, const TensorErrorCells& cells)
{
    if (tensorIndex < 0 || tensorIndex >= rowCount())
        return;
    m_errors[schemeId][tensorIndex] = cells;
    double& worst = m_worstRelError[schemeId];
    const bool worstChanged = std::isfinite(cells.relError) && cells.relError > worst;
    if (worstChanged)
        worst = cells.relError;
    if (schemeId != m_scheme)
        return;
    if (worstChanged) // every heat colour is relative to the worst row
        Q_EMIT dataChanged(index(0, StoredAs), index(rowCount() - 1, Cosine));
    else
        Q_EMIT dataChanged(index(tensorIndex, StoredAs), index(tensorIndex, Cosine));
}

void TensorTableModel::clearErrors()
{
    m_errors.clear();
    m_worstRelError.clear();
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, StoredAs), index(rowCount() - 1, Cosine));
}

void TensorTableModel::setErrorScheme(const QString& schemeId)
{
    if (schemeId == m_scheme)
        return;
    m_scheme = schemeId;
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, StoredAs), index(rowCount() - 1, Cosine));
    Q_EMIT headerDataChanged(Qt::Horizontal, StoredAs, Cosine);
}

QStringList TensorTableModel::schemesWithResults() const
{
    QStringList ids = m_errors.keys();
    ids.sort();
    return ids;
}

bool TensorTableModel::hasError(int tensorIndex, const QString& schemeId) const
{
    const auto it = m_errors.constFind(schemeId);
    return it != m_errors.constEnd() && it->contains(tensorIndex);
}

TensorErrorCells TensorTableModel::error(int tensorIndex, const QString& schemeId) const
{
    return m_errors.value(schemeId).value(tensorIndex);
}

int TensorTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_tensors.size());
}

int TensorTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TensorTableModel::errorValue(const TensorErrorCells& cells, int column) const
{
    switch (column) {
    case Rmse:
        return cells.rmse;
    case MaxAbsError:
        return cells.maxAbsError;
    case SqnrDb:
        return cells.sqnrDb;
    case RelError:
        return cells.relError;
    case Cosine:
        return cells.cosine;
    default:
        return {};
    }
}

QVariant TensorTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const core::TensorInfo& t = m_tensors[std::size_t(index.row())];
    const int column = index.column();

    if (column >= StoredAs) {
        const auto schemeIt = m_errors.constFind(m_scheme);
        if (schemeIt == m_errors.constEnd() || !schemeIt->contains(index.row()))
            return role == Qt::DisplayRole ? QVariant(QStringLiteral("–")) : QVariant();
        const TensorErrorCells& cells = schemeIt->value(index.row());
        const bool kept = cells.skipped.isEmpty() && cells.kept;
        if (column == StoredAs) {
            switch (role) {
            case Qt::DisplayRole:
            case SortRole:
                return !cells.skipped.isEmpty() ? tr("skipped")
                    : kept                      ? tr("kept")
                    : cells.storedAs.isEmpty()  ? m_scheme
                                                : cells.storedAs;
            case Qt::ToolTipRole:
                if (!cells.skipped.isEmpty())
                    return tr("Not measured under %1: %2").arg(m_scheme, cells.skipped);
                return cells.policyNote.isEmpty() ? tr("Quantized as %1").arg(m_scheme) : cells.policyNote;
            default:
                return {};
            }
        }
        if (kept) { // no error to show: exact, as stored
            switch (role) {
            case Qt::DisplayRole:
                return QStringLiteral("–");
            case SortRole:
                return std::numeric_limits<double>::lowest();
            case Qt::ToolTipRole:
                return tr("Not quantized under %1: %2").arg(m_scheme, cells.policyNote);
            case Qt::TextAlignmentRole:
                return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
            default:
                return {};
            }
        }
        const QVariant value = errorValue(cells, column);
        const bool measured = !std::isnan(value.toDouble()); // NaN: no finite value to measure
        switch (role) {
        case Qt::DisplayRole:
            if (!cells.skipped.isEmpty())
                return tr("skipped");
            if (!measured)
                return tr("n/a");
            if (column == SqnrDb)
                return QString::number(value.toDouble(), 'f', 2);
            if (column == Cosine)
                return QString::number(value.toDouble(), 'f', 6);
            if (column == RelError)
                return QStringLiteral("%1 %").arg(value.toDouble() * 100, 0, 'f', 2);
            return QString::number(value.toDouble(), 'g', 4);
        case SortRole: // NaN compares with nothing; "not measured" sorts below every number
            return measured ? value : QVariant(std::numeric_limits<double>::lowest());
        case Qt::ToolTipRole:
            if (!cells.skipped.isEmpty())
                return tr("Not measured under %1: %2").arg(m_scheme, cells.skipped);
            if (!measured)
                return tr("Not measured: no finite value remains (%n non-finite value(s))", "", int(cells.nonFinite));
            return cells.nonFinite > 0
                ? tr("%n non-finite value(s) (inf/NaN) excluded from the metrics", "", int(cells.nonFinite))
                : QVariant();
        case Qt::BackgroundRole: {
            const double worst = m_worstRelError.value(m_scheme);
            if (worst <= 0 || !std::isfinite(cells.relError))
                return {};
            const double heat = std::clamp(cells.relError / worst, 0.0, 1.0);
            QColor hot = isDarkPalette() ? QColor(0xb0, 0x30, 0x20) : QColor(0xff, 0x80, 0x60);
            hot.setAlphaF(0.12 + 0.6 * heat * heat);
            return hot;
        }
        case Qt::TextAlignmentRole:
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return {};
        }
    }

    if (role == Qt::DisplayRole) {
        switch (column) {
        case Name:
            return QString::fromStdString(t.name);
        case Layer:
            return t.layer >= 0 ? QVariant(t.layer) : QVariant(QStringLiteral("–"));
        case Role:
            return QString::fromLatin1(core::roleName(t.role).data(), qsizetype(core::roleName(t.role).size()))
                + (t.expert >= 0 ? QStringLiteral(" (expert %1)").arg(t.expert) : QString());
        case Shape:
            return shapeText(t.shape);
        case DType:
            return QString::fromLatin1(core::dtypeName(t.dtype).data(), qsizetype(core::dtypeName(t.dtype).size()));
        case Size:
            return QString::fromStdString(core::formatBinaryBytes(double(t.byteSize)));
        case Parameters:
            return QLocale().toString(qulonglong(t.elementCount()));
        default:
            return {};
        }
    }
    if (role == SortRole) {
        switch (column) {
        case Layer:
            return t.layer;
        case Size:
            return qulonglong(t.byteSize);
        case Parameters:
            return qulonglong(t.elementCount());
        default:
            return data(index, Qt::DisplayRole);
        }
    }
    if (role == Qt::TextAlignmentRole && (column == Layer || column == Size || column == Parameters))
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && column == Name)
        return QString::fromStdString(t.name + "\n" + t.file);
    return {};
}

QVariant TensorTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case StoredAs:
            return tr("What the scan's policy stored the tensor as under this scheme: the scheme itself, a fallback "
                      "type (llama.cpp's, for rows that are not whole blocks), or kept as stored");
        case Rmse:
            return tr("Root-mean-square error of the dequantized weights");
        case MaxAbsError:
            return tr("Largest absolute error of any element");
        case SqnrDb:
            return tr("Signal-to-quantization-noise ratio: 10·log10(Σw² / Σ(w−q)²); higher is better");
        case RelError:
            return tr("Relative Frobenius error ‖W − Q(W)‖ / ‖W‖");
        case Cosine:
            return tr("Cosine similarity between W and Q(W)");
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    static const char* const names[]
        = {QT_TR_NOOP("Name"),  QT_TR_NOOP("Layer"),       QT_TR_NOOP("Role"),       QT_TR_NOOP("Shape"),
           QT_TR_NOOP("DType"), QT_TR_NOOP("Size"),        QT_TR_NOOP("Parameters"), QT_TR_NOOP("Stored as"),
           QT_TR_NOOP("RMSE"),  QT_TR_NOOP("Max |error|"), QT_TR_NOOP("SQNR (dB)"),  QT_TR_NOOP("Rel. error"),
           QT_TR_NOOP("Cosine")};
    if (section < 0 || section >= ColumnCount)
        return {};
    QString name = tr(names[section]);
    if (section >= StoredAs && !m_scheme.isEmpty())
        name += QStringLiteral(" · ") + m_scheme;
    return name;
}

} // namespace quantlens::ui
