#pragma once

#include <QString>

class QWidget;

namespace quantlens::ui {

// Shows a warning naming the problem without blocking: the window stays responsive (and tests
// and background jobs keep running) while the message is up. The dialog deletes itself when closed.
void showError(QWidget* parent, const QString& title, const QString& text);

} // namespace quantlens::ui
