#include "core/planner/planner.h"
#include "gui_parts.h"
#include "ui/application.h"
#include "ui/jobs/scan_job.h"
#include "ui/main_window.h"
#include "ui/models/model_session.h"
#include "ui/report/report_exporter.h"
#include "ui/report_builder.h"
#include "ui/views/bench_view.h"
#include "ui/views/inspector_view.h"
#include "ui/views/planner_form.h"
#include "ui/views/planner_view.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace quantlens;

class TestGuiReport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { ui::initializeApplication(*qApp); }

    void exportHoldsThePlanTheScanAndARegeneratingCommand()
    {
        std::unique_ptr<ui::MainWindow> window(ui::createMainWindow());
        const auto [planner, inspector, bench, session, quality, advisor] = test::guiParts(*window);
        QVERIFY(planner && inspector && bench && session);
        QVERIFY(session->model()); // the bundled example opened at start-up

        inspector->setSelectedSchemes({QStringLiteral("nf4")});
        QSignalSpy finished(inspector->scanJob(), &ui::ScanJob::scanFinished);
        inspector->startScan();
        QVERIFY(finished.wait(60000));

        const core::ReportData data = ui::buildGuiReport(*session, *planner, *inspector, *bench);
        QVERIFY(data.model.has_value());
        QVERIFY(data.scan.has_value());
        QCOMPARE(data.plans.size(), std::size_t(1));
        QCOMPARE(data.plans.front().result.peakBytes, planner->result().peakBytes);
        const QString command = QString::fromStdString(data.commandLine);
        QVERIFY2(command.startsWith(QStringLiteral("quantlens-cli report --model ")), qPrintable(command));
        QVERIFY2(command.contains(QStringLiteral("--scheme nf4")), qPrintable(command));
        QVERIFY2(
            command.contains(QStringLiteral("--preset ") + QString::fromStdString(planner->form()->input().model.name)),
            qPrintable(command));

        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("report.html"));
        ui::exportReport(data, path);
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString html = QString::fromUtf8(file.readAll());
        QVERIFY(html.contains(QStringLiteral("<svg")));
        QVERIFY(html.contains(QStringLiteral("model.layers.0.self_attn.q_proj.weight")));
    }

    void theQualityRunIsReportedWithReportAndEvalCommands()
    {
        std::unique_ptr<ui::MainWindow> window(ui::createMainWindow());
        const auto [planner, inspector, bench, session, quality, advisor] = test::guiParts(*window);
        QVERIFY(quality && session->model());
        // Before a run, no quality section.
        QVERIFY(!ui::buildGuiReport(*session, *planner, *inspector, *bench, quality).quality.has_value());
        quality->setSchemes(QStringLiteral("q8_0"));
        quality->setSampling(2, 20, 4);
        quality->setSensitivity(QStringLiteral("role"));
        QSignalSpy finished(quality, &ui::QualityView::evalFinished);
        quality->startEval();
        QVERIFY(finished.wait(60000));
        const core::ReportData data = ui::buildGuiReport(*session, *planner, *inspector, *bench, quality);
        QVERIFY(data.quality.has_value());
        QCOMPARE(data.quality->results.size(), std::size_t(1));
        const QString command = QString::fromStdString(data.commandLine);
        QVERIFY2(command.contains(QStringLiteral("--eval-scheme q8_0 --eval-sensitivity role --eval-sample 2 "
                                                 "--eval-length 20 --eval-seed 4")),
                 qPrintable(command));
        QVERIFY(QString::fromStdString(data.qualityCommandLine).startsWith(QStringLiteral("quantlens-cli eval ")));
        // Leaving the section out leaves out the options that would run it.
        core::ReportSections sections;
        sections.quality = false;
        const QString without
            = QString::fromStdString(ui::withOutputPath(data, QStringLiteral("/tmp/r.html"), sections).commandLine);
        QVERIFY2(!without.contains(QStringLiteral("--eval-")), qPrintable(without));
        QVERIFY2(without.endsWith(QStringLiteral(" -o /tmp/r.html")), qPrintable(without));
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("report.md"));
        ui::exportReport(data, path);
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(QString::fromUtf8(file.readAll()).contains(QStringLiteral("## Model quality")));
    }

    void theAdvisorsMixIsReportedWithItsOptions()
    {
        std::unique_ptr<ui::MainWindow> window(ui::createMainWindow());
        const auto [planner, inspector, bench, session, quality, advisor] = test::guiParts(*window);
        QVERIFY(advisor && session->model());
        QSignalSpy solved(advisor, &ui::AdvisorView::solved);
        advisor->measure();
        QVERIFY(solved.wait(60000));
        advisor->setBudgetBitsPerParameter(8.0);
        const core::ReportData data = ui::buildGuiReport(*session, *planner, *inspector, *bench, quality, advisor);
        QVERIFY(data.advice.has_value());
        const QString command = QString::fromStdString(data.commandLine);
        QVERIFY2(command.contains(QStringLiteral("--advise-bits ")) && command.contains(QStringLiteral("--advise-family ggml")),
                 qPrintable(command));
        QVERIFY(QString::fromStdString(data.adviceCommandLine).startsWith(QStringLiteral("quantlens-cli advise ")));
        core::ReportSections sections;
        sections.advice = false;
        const QString without = QString::fromStdString(ui::withOutputPath(data, QString(), sections).commandLine);
        QVERIFY2(!without.contains(QStringLiteral("--advise-")), qPrintable(without));
    }

    void chosenGpuAndWorkspacePersistAcrossWindows()
    {
        {
            std::unique_ptr<ui::MainWindow> window(ui::createMainWindow());
            auto* planner = qobject_cast<ui::PlannerView*>(window->workspace(QStringLiteral("planner")));
            planner->form()->setGpu(QStringLiteral("h100-sxm"));
            QVERIFY(window->showWorkspace(QStringLiteral("lab")));
            window->close();
        }
        std::unique_ptr<ui::MainWindow> again(ui::createMainWindow());
        auto* planner = qobject_cast<ui::PlannerView*>(again->workspace(QStringLiteral("planner")));
        QCOMPARE(QString::fromStdString(planner->form()->input().gpu), QStringLiteral("h100-sxm"));
        QCOMPARE(again->currentWorkspaceId(), QStringLiteral("lab"));
    }
};

QTEST_MAIN(TestGuiReport)
#include "tst_gui_report.moc"
