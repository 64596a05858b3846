#pragma once

#include <QMainWindow>
#include <QStringList>

class QListWidget;
class QStackedWidget;
class QMenu;
class QAction;
class QLabel;

namespace quantlens::ui {

// The application window: a sidebar of workspaces on the left, the current workspace on the right,
// menus, a status bar, and settings (geometry, last workspace, recent files) kept in QSettings.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Adds a workspace page; `id` is the stable name used by --workspace and settings.
    void addWorkspace(const QString& id, const QString& title, QWidget* page);
    QStringList workspaceIds() const;
    QString currentWorkspaceId() const;
    bool showWorkspace(const QString& id);
    QWidget* workspace(const QString& id) const;

    QStringList recentFiles() const;
    void addRecentFile(const QString& path);

Q_SIGNALS:
    // The user asked to open a model or config file (File › Open, recent files, drag and drop).
    void openFileRequested(const QString& path);
    void exportRequested();

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createMenus();
    void rebuildRecentMenu();
    void openFileDialog();
    void showAbout();
    void saveSettings() const;
    void restoreSettings();

    QListWidget* m_sidebar = nullptr;
    QStackedWidget* m_stack = nullptr;
    QLabel* m_emptyLabel = nullptr;
    QMenu* m_recentMenu = nullptr;
    QMenu* m_viewMenu = nullptr;
    QStringList m_ids;
    QStringList m_recent;
    QString m_restoredWorkspace;
};

} // namespace quantlens::ui
