#include "ui/application.h"
#include "ui/error_dialog.h"

#include "core/util/error.h"
#include "core/util/version.h"
#include "ui/jobs/advisor_job.h"
#include "ui/jobs/eval_job.h"
#include "ui/jobs/scan_job.h"
#include "ui/main_window.h"
#include "ui/models/model_session.h"
#include "ui/models/tensor_table_model.h"
#include "ui/report/export_report_dialog.h"
#include "ui/report_builder.h"
#include "ui/views/advisor_view.h"
#include "ui/views/bench_view.h"
#include "ui/views/inspector_view.h"
#include "ui/views/lab_view.h"
#include "ui/views/planner_form.h"
#include "ui/views/planner_view.h"
#include "ui/views/quality_view.h"

#include <QApplication>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QIcon>
#include <QMessageBox>
#include <QPixmap>
#include <QSettings>
#include <QStatusBar>
#include <QThreadPool>
#include <QTimer>

// Q_INIT_RESOURCE must be called outside any namespace; the resources live in a static library.
static void initResources()
{
    Q_INIT_RESOURCE(quantlens);
}

namespace quantlens::ui {

void setApplicationIdentity()
{
    QCoreApplication::setOrganizationName(QStringLiteral("QuantLens"));
    QCoreApplication::setOrganizationDomain(QStringLiteral("quantlens.invalid"));
    QCoreApplication::setApplicationName(QStringLiteral("QuantLens"));
    QCoreApplication::setApplicationVersion(QString::fromLatin1(kVersion));
}

void initializeApplication(QApplication& app)
{
    initResources();
    setApplicationIdentity();
    QApplication::setDesktopFileName(QStringLiteral("quantlens"));
    app.setWindowIcon(QIcon(QStringLiteral(":/icons/quantlens.svg")));
}

QString bundledExamplePath()
{
    // Installed next to the binary, or in the source tree for a build that was not installed.
    const QStringList candidates {
        QCoreApplication::applicationDirPath()
            + QStringLiteral("/../share/quantlens/examples/stories260K/model.safetensors"),
        QStringLiteral(QUANTLENS_SOURCE_DIR "/resources/examples/stories260K/model.safetensors"),
    };
    for (const QString& path : candidates) {
        if (QFileInfo::exists(path))
            return QFileInfo(path).canonicalFilePath();
    }
    return {};
}

MainWindow* createMainWindow(const QString& initialFile)
{
    auto* window = new MainWindow;
    auto* session = new ModelSession(window);
    session->setObjectName(QStringLiteral("modelSession"));

    auto* planner = new PlannerView(window);
    auto* inspector = new InspectorView(session, window);
    window->addWorkspace(QStringLiteral("planner"), QObject::tr("Planner"), planner);
    auto* lab = new LabView(session, window);
    auto* bench = new BenchView(window);
    auto* quality = new QualityView(session, window);
    window->addWorkspace(QStringLiteral("inspector"), QObject::tr("Model Inspector"), inspector);
    window->addWorkspace(QStringLiteral("lab"), QObject::tr("Quantization Lab"), lab);
    window->addWorkspace(QStringLiteral("bench"), QObject::tr("GPU Bench"), bench);
    window->addWorkspace(QStringLiteral("quality"), QObject::tr("Model Quality"), quality);
    auto* advisor = new AdvisorView(session, window);
    window->addWorkspace(QStringLiteral("advisor"), QObject::tr("Advisor"), advisor);

    // The planner remembers the chosen GPU.
    const QString savedGpu = QSettings().value(QStringLiteral("planner/gpu")).toString();
    if (!savedGpu.isEmpty())
        planner->form()->setGpu(savedGpu);
    QObject::connect(planner, &PlannerView::planChanged, window,
                     [](const core::PlanInput& input, const core::PlanResult&) {
                         QSettings().setValue(QStringLiteral("planner/gpu"), QString::fromStdString(input.gpu));
                     });

    // File › Open: a config.json goes to the planner, a model to the session (and its config, when
    // one sits beside it, to the planner as well).
    QObject::connect(window, &MainWindow::openFileRequested, window, [window, session, planner](const QString& path) {
        const QFileInfo info(path);
        if (!info.exists()) {
            showError(window, QObject::tr("Cannot open"), QObject::tr("%1: no such file or folder").arg(path));
            return;
        }
        if (info.isFile() && info.fileName().endsWith(QStringLiteral(".json"))
            && !info.fileName().endsWith(QStringLiteral(".index.json"))) {
            if (planner->form()->setModelSource(path)) {
                window->addRecentFile(path);
                window->showWorkspace(QStringLiteral("planner"));
            }
            return;
        }
        window->statusBar()->showMessage(QObject::tr("Opening %1…").arg(path));
        session->open(path);
    });
    QObject::connect(session, &ModelSession::modelOpened, window, [window, planner](const QString& path) {
        window->statusBar()->showMessage(QObject::tr("Opened %1").arg(path), 5000);
        window->setWindowTitle(QObject::tr("%1 — QuantLens").arg(QFileInfo(path).fileName()));
        window->setWindowFilePath(path);
        if (path == bundledExamplePath())
            return; // the planner keeps its own example plan; the tiny model would make a dull first screen
        window->addRecentFile(path);
        const QFileInfo info(path);
        const QString config = (info.isDir() ? QDir(path) : info.dir()).filePath(QStringLiteral("config.json"));
        if (QFileInfo::exists(config))
            planner->form()->setModelSource(config);
    });
    QObject::connect(session, &ModelSession::openFailed, window, [window](const QString& path, const QString& message) {
        window->statusBar()->showMessage(QObject::tr("Could not open %1").arg(path), 5000);
        showError(window, QObject::tr("Cannot open model"), message);
    });
    QObject::connect(inspector, &InspectorView::tensorActivated, window, [window, lab](int index) {
        lab->showTensor(index);
        window->showWorkspace(QStringLiteral("lab"));
    });

    QObject::connect(
        window, &MainWindow::exportRequested, window, [window, session, planner, inspector, bench, quality, advisor] {
            ExportReportDialog dialog(buildGuiReport(*session, *planner, *inspector, *bench, quality, advisor), window);
            QObject::connect(&dialog, &ExportReportDialog::reportExported, window, [window](const QString& path) {
                window->statusBar()->showMessage(QObject::tr("Report written to %1").arg(path), 8000);
            });
            dialog.exec();
        });

    const QString file = initialFile.isEmpty() ? bundledExamplePath() : initialFile;
    if (!file.isEmpty()) {
        if (file == bundledExamplePath())
            session->openNow(file); // the example opens before the first paint: the first screen is never empty
        else
            Q_EMIT window->openFileRequested(file);
        // A model named on the command line is what the user came to see: the Inspector, not the
        // workspace of last time (a config.json went to the Planner above; --workspace still wins).
        if (!initialFile.isEmpty()
            && (!initialFile.endsWith(QStringLiteral(".json")) || initialFile.endsWith(QStringLiteral(".index.json"))))
            window->showWorkspace(QStringLiteral("inspector"));
    }
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

// Waits for `signal` of `sender` (or `milliseconds`), processing events.
template <typename Sender, typename Signal> void waitFor(Sender* sender, Signal signal, int milliseconds)
{
    QEventLoop loop;
    QTimer::singleShot(milliseconds, &loop, &QEventLoop::quit);
    QObject::connect(sender, signal, &loop, &QEventLoop::quit);
    loop.exec();
}

// Screenshots show each workspace at work: the example scanned, a tensor in the Lab, a benchmark run.
void prepareForScreenshot(QWidget* page)
{
    if (auto* inspector = qobject_cast<InspectorView*>(page)) {
        if (inspector->tableModel()->schemesWithResults().isEmpty() && inspector->tableModel()->rowCount() > 0) {
            inspector->setSelectedSchemes(
                {QStringLiteral("nf4"), QStringLiteral("fp4"), QStringLiteral("q4_0"), QStringLiteral("int8")});
            inspector->startScan();
            waitFor(inspector->scanJob(), &ScanJob::scanFinished, 60000);
        }
    } else if (auto* lab = qobject_cast<LabView*>(page)) {
        if (lab->session()->model()) {
            const auto index = lab->session()->model()->find("model.layers.2.mlp.up_proj.weight");
            if (index >= 0) {
                lab->showTensor(int(index));
                waitFor(lab, &LabView::analysisReady, 30000);
            }
        }
    } else if (auto* quality = qobject_cast<QualityView*>(page)) {
        if (!quality->job()->hasResult() && !quality->job()->isRunning()) {
            quality->setSensitivity(QStringLiteral("layer"));
            quality->startEval();
            waitFor(quality, &QualityView::evalFinished, 60000);
        }
    } else if (auto* advisor = qobject_cast<AdvisorView*>(page)) {
        if (!advisor->job()->hasResult() && !advisor->job()->isRunning() && advisor->isEnabled()) {
            advisor->measure();
            waitFor(advisor, &AdvisorView::solved, 60000);
            advisor->setBudgetBitsPerParameter(8.0);
        }
    } else if (auto* bench = qobject_cast<BenchView*>(page)) {
        if (!bench->isRunning() && bench->reportSections().empty()) { // results opened before are shown as they are
            bench->setCpuParameters(quint64(8) << 20);
            bench->run();
            waitFor(bench, &BenchView::benchmarkFinished, 120000);
        }
    }
}

} // namespace

QStringList renderScreenshots(MainWindow& window, const QString& directory, const QStringList& workspaces, QSize size)
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

    // The same size on every machine, whatever window geometry the settings saved: 1280 x 800 unless
    // asked otherwise, or the window's minimum when that is larger.
    window.setWindowState(Qt::WindowNoState);
    window.resize(size);
    window.show();
    settle(500);
    QStringList written;
    for (const QString& id : ids) {
        window.showWorkspace(id);
        prepareForScreenshot(window.workspace(id));
        settle(1500);
        const QString path = dir.filePath(id + QStringLiteral(".png"));
        if (!window.grab().save(path))
            throw IoError(path.toStdString(), "cannot write the screenshot");
        written << path;
    }
    return written;
}

} // namespace quantlens::ui
