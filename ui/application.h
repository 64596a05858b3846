#pragma once

#include <QSize>
#include <QString>
#include <QStringList>

class QApplication;

namespace quantlens::ui {

class MainWindow;

// Sets organisation/application names (for QSettings), the icon and the palette.
// Organisation, name and version (QSettings' keys, --version), for a QCoreApplication too.
void setApplicationIdentity();
void initializeApplication(QApplication& app);

// Creates the main window with every workspace added, opening `initialFile` (a model or a
// config.json), or the bundled example model when it is empty.
MainWindow* createMainWindow(const QString& initialFile = {});

// The bundled example model (stories260K, BF16), or empty when it cannot be found.
QString bundledExamplePath();

// Renders each workspace (or only `workspaces` when given) to DIR/<id>.png after letting pending
// background work finish; returns the files written. Throws quantlens::Error on an unknown id or
// an unwritable folder.
QStringList renderScreenshots(MainWindow& window, const QString& directory, const QStringList& workspaces,
                              QSize size = QSize(1280, 800));

} // namespace quantlens::ui
