#include "core/util/version.h"
#include "ui/application.h"
#include "ui/main_window.h"
#include "ui/models/model_session.h"
#include "ui/views/inspector_view.h"
#include "ui/views/lab_view.h"

#include <QApplication>
#include <QImage>
#include <QLabel>
#include <QMenuBar>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
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

    // Every workspace fits a 1280 x 720 laptop screen: the window's minimum size (that of its widest
    // workspace plus the sidebar) and each workspace's own are checked with a model open and after
    // each workspace has been shown (#17: the Lab's one row of controls made the window 1,567 px).
    void everyWorkspaceFitsALaptopScreen()
    {
        const QString model = QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model-f16.safetensors");
        std::unique_ptr<MainWindow> window(quantlens::ui::createMainWindow(model));
        window->resize(1280, 720);
        window->show();
        QVERIFY(QTest::qWaitForWindowExposed(window.get()));
        auto* stack = window->findChild<QWidget*>(QStringLiteral("workspaceStack"));
        QVERIFY(stack);
        for (const QString& id : {QStringLiteral("planner"), QStringLiteral("inspector"), QStringLiteral("lab"),
                                  QStringLiteral("bench"), QStringLiteral("quality"), QStringLiteral("advisor")}) {
            QVERIFY2(window->showWorkspace(id), qPrintable(id));
            QApplication::processEvents();
            const QSize page = window->workspace(id)->minimumSizeHint();
            QVERIFY2(page.width() <= 1100, qPrintable(QStringLiteral("%1 needs %2 px").arg(id).arg(page.width())));
        }
        const QSize least = window->minimumSizeHint();
        QVERIFY2(least.width() <= 1280 && least.height() <= 720,
                 qPrintable(QStringLiteral("the window needs %1 x %2").arg(least.width()).arg(least.height())));
        QVERIFY2(window->width() <= 1280, qPrintable(QString::number(window->width())));
    }

    // A model named at start opens in the Inspector whatever the last workspace was, and names the window.
    void aModelArgumentOpensInTheInspectorAndTitlesTheWindow()
    {
        QSettings().setValue(QStringLiteral("window/workspace"), QStringLiteral("bench"));
        const QString model = QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model-f16.safetensors");
        std::unique_ptr<MainWindow> window(quantlens::ui::createMainWindow(model));
        QCOMPARE(window->currentWorkspaceId(), QStringLiteral("inspector"));
        auto* session = window->findChild<quantlens::ui::ModelSession*>(QStringLiteral("modelSession"));
        QVERIFY(session);
        QTRY_VERIFY_WITH_TIMEOUT(window->windowTitle().startsWith(QStringLiteral("model-f16.safetensors")), 10000);
        // Without one, the workspace of last time comes back.
        std::unique_ptr<MainWindow> plain(quantlens::ui::createMainWindow());
        QCOMPARE(plain->currentWorkspaceId(), QStringLiteral("bench"));
    }

    // Double-click (or Enter) on a tensor in the Inspector analyses that tensor in the Lab.
    void activatingATensorInTheInspectorShowsItInTheLab()
    {
        std::unique_ptr<MainWindow> window(quantlens::ui::createMainWindow());
        auto* inspector = qobject_cast<quantlens::ui::InspectorView*>(window->workspace(QStringLiteral("inspector")));
        auto* lab = qobject_cast<quantlens::ui::LabView*>(window->workspace(QStringLiteral("lab")));
        QVERIFY(inspector && lab && lab->session()->model()); // the bundled example
        auto* table = inspector->findChild<QTableView*>();
        QVERIFY(table && table->model()->rowCount() > 3);
        const QModelIndex row = table->model()->index(3, 0);
        const QString name = row.data().toString();
        QVERIFY(!name.isEmpty());
        QSignalSpy ready(lab, &quantlens::ui::LabView::analysisReady);
        Q_EMIT table->activated(row);
        QCOMPARE(window->currentWorkspaceId(), QStringLiteral("lab"));
        QVERIFY(ready.count() > 0 || ready.wait(30000));
        QVERIFY2(lab->analysis().source.startsWith(name), qPrintable(lab->analysis().source));
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

    // Screenshots come out the same size whatever window geometry an earlier run saved (the docs'
    // screenshots were once 1669 px wide, from a saved geometry, on a 1600 px screen).
    void screenshotsIgnoreTheSavedWindowGeometry()
    {
        QTemporaryDir dir;
        QSize sizes[2];
        for (int run = 0; run < 2; ++run) {
            {
                MainWindow sized;
                sized.resize(run == 0 ? 900 : 2400, run == 0 ? 600 : 1400);
                sized.close(); // saves its geometry
            }
            std::unique_ptr<MainWindow> window(quantlens::ui::createMainWindow());
            const QString folder = dir.filePath(QString::number(run));
            const QStringList written = quantlens::ui::renderScreenshots(*window, folder, {QStringLiteral("planner")});
            QCOMPARE(written.size(), 1);
            sizes[run] = QImage(written.front()).size();
            window->close();
        }
        QVERIFY(!sizes[0].isEmpty());
        QCOMPARE(sizes[1], sizes[0]);
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
