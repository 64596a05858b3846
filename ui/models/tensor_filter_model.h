#pragma once

#include <QRegularExpression>
#include <QSortFilterProxyModel>

namespace quantlens::ui {

// Filters the tensor table by a regular expression on the name and by role, and sorts numbers as numbers.
class TensorFilterModel : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit TensorFilterModel(QObject* parent = nullptr);
    // An invalid pattern filters nothing and returns false, so the view can mark the field.
    bool setNamePattern(const QString& pattern);
    void setRole(const QString& role); // empty: all roles

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    QRegularExpression m_name;
    QString m_role;
};

} // namespace quantlens::ui
