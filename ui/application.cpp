#include "ui/application.h"

#include "core/util/error.h"
#include "core/util/version.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QIcon>
#include <QPixmap>
#include <QThreadPool>

namespace quantlens::ui {

void initializeApplication(QApplication& app)
{
    QApplication::setOrganizationName(QStringLiteral("QuantLens"));
    QApplication::setOrganizationDomain(QStringLiteral("quantlens.invalid"));
    QApplication::setApplicationName(QStringLiteral("QuantLens"));
    QApplication::setApplicationVersion(QString::fromLatin1(kVersion));
    QApplication::setDesktopFileName(QStringLiteral("quantlens"));
    app.setWindowIcon(QIcon(QStringLiteral(":/icons/quantlens.svg")));
}

MainWindow* createMainWindow()
{
    auto* window = new MainWindow;
    return window;
}

namespace {

// Lets queued results (background jobs finishing, chart layouts) settle before a grab.
void settle(int milliseconds)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < milliseconds) {
        QApplication::processEvents(QEventLoop::AllEvents, 20);
        if (QThreadPool::globalInstance()->activeThreadCount() == 0 && timer.elapsed() > milliseconds / 4)
            break;
    }
    QThreadPool::globalInstance()->waitForDone(30000);
    QApplication::processEvents();
}

} // namespace

QStringList renderScreenshots(MainWindow& window, const QString& directory, const QStringList& workspaces)
{
    const QStringList ids = workspaces.isEmpty() ? window.workspaceIds() : workspaces;
    for (const QString& id : ids) {
        if (!window.workspaceIds().contains(id))
            throw UsageError("unknown workspace '" + id.toStdString()
                             + "'; known: " + window.workspaceIds().join(QStringLiteral(", ")).toStdString());
    }
    QDir dir(directory);
    if (!dir.exists() && !QDir().mkpath(directory))
        throw IoError(directory.toStdString(), "cannot create the screenshot folder");

    window.show();
    settle(500);
    QStringList written;
    for (const QString& id : ids) {
        window.showWorkspace(id);
        settle(1500);
        const QString path = dir.filePath(id + QStringLiteral(".png"));
        if (!window.grab().save(path))
            throw IoError(path.toStdString(), "cannot write the screenshot");
        written << path;
    }
    return written;
}

} // namespace quantlens::ui
