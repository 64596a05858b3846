#pragma once

#include <QTableView>

namespace quantlens::ui {

// A table whose first column stays in place while the others scroll sideways (Qt's frozen-column
// pattern: a second view over the first column, sharing the model, the selection and the vertical
// scrolling). The Inspector's tensor names stay readable while the error columns scroll (#17).
class FrozenColumnTableView : public QTableView {
    Q_OBJECT
public:
    explicit FrozenColumnTableView(QWidget* parent = nullptr);

    void setModel(QAbstractItemModel* model) override;
    // The view drawn over column 0 (for tests).
    QTableView* frozenView() const { return m_frozen; }

protected:
    void resizeEvent(QResizeEvent* event) override;
    QModelIndex moveCursor(CursorAction cursorAction, Qt::KeyboardModifiers modifiers) override;
    void updateGeometries() override;

private:
    void syncColumns();
    void updateFrozenGeometry();

    QTableView* m_frozen;
};

} // namespace quantlens::ui
