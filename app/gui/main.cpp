#include "core/util/error.h"
#include "ui/application.h"
#include "ui/main_window.h"
#include "ui/views/bench_view.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>
#include <QTimer>

#include <iostream>
#include <string>

namespace {

struct Options {
    QCommandLineOption screenshot {QStringLiteral("screenshot"),
                                   QStringLiteral("Render each workspace to DIR/<workspace>.png and exit."),
                                   QStringLiteral("DIR")};
    QCommandLineOption workspace {QStringLiteral("workspace"),
                                  QStringLiteral("Start in (or, with --screenshot, render only) workspace NAME."),
                                  QStringLiteral("NAME")};
    QCommandLineOption benchResults {
        QStringLiteral("bench-results"),
        QStringLiteral("Show GPU benchmark results saved by `quantlens-cli bench --device cuda --json` in the Bench "
                       "workspace (measured on another machine, say)."),
        QStringLiteral("FILE")};

    void addTo(QCommandLineParser& parser)
    {
        parser.setApplicationDescription(
            QStringLiteral("QuantLens: plan finetuning memory, inspect quantization error, benchmark 4-bit kernels."));
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addOption(screenshot);
        parser.addOption(workspace);
        parser.addOption(benchResults);
        parser.addPositionalArgument(
            QStringLiteral("file"),
            QStringLiteral("A model (safetensors, sharded index or folder, GGUF) or config.json to open."),
            QStringLiteral("[file]"));
    }
};

// --help and --version print and exit without a display (a terminal over ssh, a build machine).
void answerHelpWithoutDisplay(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h" || arg == "-?" || arg == "--help-all" || arg == "--version" || arg == "-v") {
            QCoreApplication core(argc, argv);
            quantlens::ui::setApplicationIdentity();
            QCommandLineParser parser;
            Options options;
            options.addTo(parser);
            parser.process(core); // prints and exits
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    answerHelpWithoutDisplay(argc, argv);
    QApplication app(argc, argv);
    quantlens::ui::initializeApplication(app);

    QCommandLineParser parser;
    Options options;
    options.addTo(parser);
    const QCommandLineOption& screenshot = options.screenshot;
    const QCommandLineOption& workspace = options.workspace;
    const QCommandLineOption& benchResults = options.benchResults;
    parser.process(app);

    const QStringList files = parser.positionalArguments();
    auto* window = quantlens::ui::createMainWindow(files.isEmpty() ? QString() : files.front());
    window->setAttribute(Qt::WA_DeleteOnClose);
    if (parser.isSet(benchResults)) {
        auto* bench = qobject_cast<quantlens::ui::BenchView*>(window->workspace(QStringLiteral("bench")));
        try {
            bench->showSavedResults(parser.value(benchResults));
        } catch (const quantlens::Error& e) {
            std::cerr << "error: " << e.what() << "\n";
            return 1;
        }
        if (!parser.isSet(workspace))
            window->showWorkspace(QStringLiteral("bench"));
    }
    if (parser.isSet(workspace) && !parser.isSet(screenshot) && !window->showWorkspace(parser.value(workspace))) {
        std::cerr << "error: unknown workspace '" << parser.value(workspace).toStdString()
                  << "'; known: " << window->workspaceIds().join(QStringLiteral(", ")).toStdString() << "\n";
        return 2;
    }

    if (parser.isSet(screenshot)) {
        try {
            const QStringList only = parser.isSet(workspace) ? QStringList {parser.value(workspace)} : QStringList {};
            const QStringList written = quantlens::ui::renderScreenshots(*window, parser.value(screenshot), only);
            for (const QString& path : written)
                std::cout << path.toStdString() << "\n";
        } catch (const quantlens::UsageError& e) {
            std::cerr << "error: " << e.what() << "\n";
            return 2;
        } catch (const quantlens::Error& e) {
            std::cerr << "error: " << e.what() << "\n";
            return 1;
        }
        window->close();
        return 0;
    }

    window->show();
    return app.exec();
}
