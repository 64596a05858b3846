#pragma once

#include "ui/main_window.h"
#include "ui/models/model_session.h"
#include "ui/views/advisor_view.h"
#include "ui/views/bench_view.h"
#include "ui/views/inspector_view.h"
#include "ui/views/planner_view.h"
#include "ui/views/quality_view.h"

#include <QString>

// The pieces of the main window that buildGuiReport reads, found by id and object name; a null
// member means the window lacks it.
namespace quantlens::test {

struct GuiParts {
    ui::PlannerView* planner = nullptr;
    ui::InspectorView* inspector = nullptr;
    ui::BenchView* bench = nullptr;
    ui::ModelSession* session = nullptr;
    ui::QualityView* quality = nullptr;
    ui::AdvisorView* advisor = nullptr;
};

inline GuiParts guiParts(ui::MainWindow& window)
{
    return {qobject_cast<ui::PlannerView*>(window.workspace(QStringLiteral("planner"))),
            qobject_cast<ui::InspectorView*>(window.workspace(QStringLiteral("inspector"))),
            qobject_cast<ui::BenchView*>(window.workspace(QStringLiteral("bench"))),
            window.findChild<ui::ModelSession*>(QStringLiteral("modelSession")),
            qobject_cast<ui::QualityView*>(window.workspace(QStringLiteral("quality"))),
            qobject_cast<ui::AdvisorView*>(window.workspace(QStringLiteral("advisor")))};
}

} // namespace quantlens::test
