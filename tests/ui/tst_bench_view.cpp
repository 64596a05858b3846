#include "gui_parts.h"
#include "ui/application.h"
#include "ui/main_window.h"
#include "ui/models/model_session.h"
#include "ui/report_builder.h"
#include "ui/views/bench_view.h"
#include "ui/views/inspector_view.h"
#include "ui/views/planner_view.h"

#include <QFile>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace quantlens;

// The Bench view showing GPU results saved by `quantlens-cli bench --device cuda --json`: the only
// way its GPU table can be checked on a machine without a GPU, such as CI.
class TestBenchView : public QObject {
    Q_OBJECT
private:
    static QString savedH100()
    {
        return QStringLiteral(QUANTLENS_SOURCE_DIR "/docs/measurements/gpu-bench-h100-2026-11-23.json");
    }
    static QString cell(const QTableWidget* table, int row, int column)
    {
        const QTableWidgetItem* item = table->item(row, column);
        return item ? item->text() : QString();
    }
    static int columnNamed(const QTableWidget* table, const QString& name)
    {
        for (int c = 0; c < table->columnCount(); ++c)
            if (table->horizontalHeaderItem(c) && table->horizontalHeaderItem(c)->text() == name)
                return c;
        return -1;
    }

private Q_SLOTS:
    void initTestCase() { ui::initializeApplication(*qApp); }

    void savedGpuResultsFillTheTableSummaryAndReportSection()
    {
        ui::BenchView view;
        QVERIFY(view.openResults(savedH100()));
        const auto* table = view.findChild<QTableWidget*>();
        QVERIFY(table);
        QCOMPARE(table->rowCount(), 5);
        QCOMPARE(cell(table, 0, 0), QStringLiteral("4096×4096"));
        QCOMPARE(cell(table, 4, 0), QStringLiteral("8192×28672"));
        const int dequant = columnNamed(table, QStringLiteral("% copy"));
        const int sameSize = columnNamed(table, QStringLiteral("same-size copy % copy"));
        const int gemv16 = columnNamed(table, QStringLiteral("GEMV b=16 speedup"));
        QVERIFY(dequant >= 0 && sameSize >= 0 && gemv16 >= 0);
        QCOMPARE(cell(table, 0, dequant), QStringLiteral("73.2"));
        QCOMPARE(cell(table, 0, sameSize), QStringLiteral("77.1"));
        QCOMPARE(cell(table, 4, gemv16), QStringLiteral("1.83×"));
        // Every figure of the file is in the table (#17: the GEMV and cuBLAS times and the double-quant
        // quantize were only in `bench --from`), checked against the file itself.
        QFile file(savedH100());
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject saved = QJsonDocument::fromJson(file.readAll()).object();
        const QJsonArray shapes = saved.value(QStringLiteral("shapes")).toArray();
        QCOMPARE(shapes.size(), table->rowCount());
        for (int row = 0; row < table->rowCount(); ++row) {
            const QJsonObject shape = shapes.at(row).toObject();
            const int quantDq = columnNamed(table, QStringLiteral("quant DQ % copy"));
            QVERIFY(quantDq >= 0);
            QCOMPARE(cell(table, row, quantDq),
                     QString::number(shape.value(QStringLiteral("quantize_bf16_nf4_dq"))
                                             .toObject()
                                             .value(QStringLiteral("fraction_of_copy_bandwidth"))
                                             .toDouble()
                                         * 100,
                                     'f', 1));
            for (const auto& g : shape.value(QStringLiteral("gemv")).toArray()) {
                const QJsonObject gemv = g.toObject();
                const int batch = gemv.value(QStringLiteral("batch")).toInt();
                const auto figure = [&](const QString& header, const char* key) {
                    const int column = columnNamed(table, header.arg(batch));
                    QVERIFY2(column >= 0, qPrintable(header.arg(batch)));
                    QCOMPARE(cell(table, row, column),
                             QString::number(gemv.value(QLatin1String(key)).toDouble(), 'f', 4));
                };
                figure(QStringLiteral("GEMV b=%1 ms"), "ours_milliseconds");
                figure(QStringLiteral("cuBLAS b=%1 ms"), "cublas_bf16_milliseconds");
                figure(QStringLiteral("FMA kernel b=%1 ms"), "cuda_core_kernel_milliseconds");
            }
        }
        QVERIFY2(view.summaryText().contains(QStringLiteral("NVIDIA H100 80GB HBM3")), qPrintable(view.summaryText()));
        QVERIFY(view.summaryText().contains(QStringLiteral("gpu-bench-h100-2026-11-23.json")));

        const auto sections = view.reportSections();
        QCOMPARE(sections.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(sections.front().title),
                 QStringLiteral("GPU kernels on NVIDIA H100 80GB HBM3"));
        QVERIFY(QString::fromStdString(sections.front().notes.back()).startsWith(QStringLiteral("read from ")));
        bool cublasInReport = false;
        for (const auto& row : sections.front().rows)
            cublasInReport = cublasInReport || QString::fromStdString(row.what).contains(QStringLiteral("cuBLAS 0."));
        QVERIFY(cublasInReport);
        QCOMPARE(view.reportArguments(), (QStringList {QStringLiteral("--bench-from"), savedH100()}));
    }

    // Results saved before the same-size copy was measured show a dash there, not 0.
    void resultsWithoutTheSameSizeCopyShowADash()
    {
        QFile in(savedH100());
        QVERIFY(in.open(QIODevice::ReadOnly));
        QByteArray json = in.readAll();
        const int removed = int(json.count("\"same_size_copy\""));
        QCOMPARE(removed, 5);
        json.replace("\"same_size_copy\"", "\"unknown_member\"");
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("old.json"));
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(json);
        out.close();

        ui::BenchView view;
        QVERIFY(view.openResults(path));
        const auto* table = view.findChild<QTableWidget*>();
        QCOMPARE(cell(table, 2, columnNamed(table, QStringLiteral("same-size copy % copy"))), QStringLiteral("—"));
    }

    // A file that is not results says why, naming it, and leaves the results shown before.
    void aBadFileIsRefusedAndWhatWasShownStays()
    {
        ui::BenchView view;
        QVERIFY(view.openResults(savedH100()));
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("cpu.json"));
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(R"({"device": "cpu", "rows": []})");
        out.close();
        QVERIFY(!view.openResults(path));
        QVERIFY2(view.summaryText().contains(QStringLiteral("Cannot show cpu.json")), qPrintable(view.summaryText()));
        QVERIFY(view.summaryText().contains(QStringLiteral("CPU benchmark")));
        QVERIFY(!view.openResults(dir.filePath(QStringLiteral("absent.json"))));
        QVERIFY(view.summaryText().contains(QStringLiteral("cannot open")));
        QCOMPARE(view.findChild<QTableWidget*>()->rowCount(), 5);
        QCOMPARE(view.reportSections().size(), std::size_t(1));
    }

    // The report built from the window carries the section and a command line that adds it again.
    void theGuiReportRegeneratesTheSavedSection()
    {
        std::unique_ptr<ui::MainWindow> window(ui::createMainWindow());
        const auto [planner, inspector, bench, session, quality, advisor] = test::guiParts(*window);
        QVERIFY(planner && inspector && bench && session);
        QVERIFY(bench->openResults(savedH100()));
        const core::ReportData data = ui::buildGuiReport(*session, *planner, *inspector, *bench);
        QCOMPARE(data.bench.size(), std::size_t(1));
        const QString command = QString::fromStdString(data.commandLine);
        QVERIFY2(command.endsWith(QStringLiteral("--bench-from ") + savedH100()), qPrintable(command));
        // The export dialog ends it with the file chosen, quoted for the shell.
        QVERIFY(QString::fromStdString(ui::withOutputPath(data, QStringLiteral("/tmp/it's here.pdf")).commandLine)
                    .endsWith(QStringLiteral(" -o '/tmp/it'\\''s here.pdf'")));
    }
};

QTEST_MAIN(TestBenchView)
#include "tst_bench_view.moc"
