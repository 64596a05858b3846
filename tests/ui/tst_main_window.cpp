#include "core/util/version.h"
#include "ui/application.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QLabel>
#include <QMenuBar>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

using quantlens::ui::MainWindow;

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { quantlens::ui::initializeApplication(*qApp); }

    void opensWithMenusAndAWorkspaceArea()
    {
        std::unique_ptr<MainWindow> window(quantlens::ui::createMainWindow());
        window->show();
        QVERIFY(QTest::qWaitForWindowExposed(window.get()));
        QVERIFY(window->findChild<QWidget*>(QStringLiteral("workspaceStack")));
        QStringList menus;
        for (QAction* a : window->menuBar()->actions())
            menus << a->text().remove(QLatin1Char('&'));
        QVERIFY(menus.contains(QStringLiteral("File")));
        QVERIFY(menus.contains(QStringLiteral("Help")));
    }

    void recentFilesPersistAcrossWindows()
    {
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("model.safetensors"));
        {
            MainWindow window;
            window.addRecentFile(file);
            window.close();
        }
        MainWindow again;
        QVERIFY(!again.recentFiles().isEmpty());
        QCOMPARE(again.recentFiles().front(), file);
    }

    void workspacesCanBeAddedAndShownById()
    {
        MainWindow window;
        auto* a = new QLabel(QStringLiteral("a"));
        auto* b = new QLabel(QStringLiteral("b"));
        window.addWorkspace(QStringLiteral("alpha"), QStringLiteral("Alpha"), a);
        window.addWorkspace(QStringLiteral("beta"), QStringLiteral("Beta"), b);
        QVERIFY(window.showWorkspace(QStringLiteral("beta")));
        QCOMPARE(window.currentWorkspaceId(), QStringLiteral("beta"));
        QCOMPARE(window.workspace(QStringLiteral("alpha")), a);
        QVERIFY(!window.showWorkspace(QStringLiteral("gamma")));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
