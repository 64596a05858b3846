#include "ui/models/tensor_filter_model.h"

#include "ui/models/tensor_table_model.h"

namespace quantlens::ui {

TensorFilterModel::TensorFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(TensorTableModel::SortRole);
}

bool TensorFilterModel::setNamePattern(const QString& pattern)
{
    QRegularExpression re(pattern, QRegularExpression::CaseInsensitiveOption);
    if (!re.isValid())
        return false;
    m_name = re;
    invalidateFilter();
    return true;
}

void TensorFilterModel::setRole(const QString& role)
{
    m_role = role;
    invalidateFilter();
}

bool TensorFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    const QAbstractItemModel* source = sourceModel();
    if (!m_name.pattern().isEmpty()) {
        const QString name = source->index(sourceRow, TensorTableModel::Name, sourceParent).data().toString();
        if (!m_name.match(name).hasMatch())
            return false;
    }
    if (!m_role.isEmpty()) {
        const QString role = source->index(sourceRow, TensorTableModel::Role, sourceParent).data().toString();
        // The column reads "attn_q" or "attn_q (expert 3)"; "attn_q" must not match "attn_qkv".
        if (role != m_role && !role.startsWith(m_role + QStringLiteral(" (")))
            return false;
    }
    return true;
}

} // namespace quantlens::ui
