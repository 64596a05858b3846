#pragma once

#include <QString>
#include <QStringList>

class QApplication;

namespace quantlens::ui {

class MainWindow;

// Sets organisation/application names (for QSettings), the icon and the palette.
void initializeApplication(QApplication& app);

// Creates the main window with every workspace added.
MainWindow* createMainWindow();

// Renders each workspace (or only `workspaces` when given) to DIR/<id>.png after letting pending
// background work finish; returns the files written. Throws quantlens::Error on an unknown id or
// an unwritable folder.
QStringList renderScreenshots(MainWindow& window, const QString& directory, const QStringList& workspaces);

} // namespace quantlens::ui
