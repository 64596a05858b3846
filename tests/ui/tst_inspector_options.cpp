#include "core/scan/scan.h"
#include "core/scan/scan_schemes.h"
#include "ui/jobs/scan_job.h"
#include "ui/models/model_session.h"
#include "ui/models/tensor_filter_model.h"
#include "ui/models/tensor_table_model.h"
#include "ui/report_builder.h"
#include "ui/views/frozen_column_table.h"
#include "ui/views/inspector_view.h"

#include <QApplication>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QHeaderView>
#include <QLineEdit>
#include <QLineSeries>
#include <QMessageBox>
#include <QScrollBar>
#include <QSet>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace quantlens;

namespace {

const QString kExample = QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model.safetensors");

// Runs the view's scan to the end and returns its result.
const core::ScanResult& scanShown(ui::InspectorView& view)
{
    QSignalSpy finished(view.scanJob(), &ui::ScanJob::scanFinished);
    view.startScan();
    [&] { QVERIFY(finished.wait(60000)); }();
    return view.scanJob()->result();
}

} // namespace

// The Inspector's scan options: the scan measures what the table shows, at each scheme's own
// block size unless one is chosen.
class TestInspectorOptions : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // #17 item 1: at a laptop's width the metric columns are as wide as their numbers (never "0…"
    // for 0.03246) and the Name column stays in place while they scroll sideways.
    void numbersAreNeverCutAndTheNameColumnStaysWhileScrolling()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        view.resize(1100, 650);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY(session.openNow(kExample));
        scanShown(view);
        QApplication::processEvents();
        auto* table = qobject_cast<ui::FrozenColumnTableView*>(view.tableView());
        QVERIFY(table);
        for (int column = ui::TensorTableModel::Rmse; column < ui::TensorTableModel::ColumnCount; ++column) {
            const int needed = std::max(static_cast<QAbstractItemView*>(table)->sizeHintForColumn(column),
                                        table->horizontalHeader()->sectionSizeHint(column));
            QVERIFY2(
                table->columnWidth(column) >= needed,
                qPrintable(
                    QStringLiteral("column %1: %2 px for %3").arg(column).arg(table->columnWidth(column)).arg(needed)));
        }
        QTableView* frozen = table->frozenView();
        QVERIFY(frozen->isVisible());
        QCOMPARE(frozen->columnWidth(0), table->columnWidth(0));
        for (int column = 1; column < table->model()->columnCount(); ++column)
            QVERIFY(frozen->isColumnHidden(column));
        const int x = frozen->geometry().x();
        table->horizontalScrollBar()->setValue(table->horizontalScrollBar()->maximum());
        QApplication::processEvents();
        QVERIFY(table->horizontalScrollBar()->maximum() > 0); // the metric columns do not all fit
        QCOMPARE(frozen->geometry().x(), x);
        QCOMPARE(frozen->model()->index(0, 0).data().toString(), table->model()->index(0, 0).data().toString());
        // Scrolling down moves both views together.
        table->verticalScrollBar()->setValue(table->verticalScrollBar()->maximum());
        QApplication::processEvents();
        QCOMPARE(frozen->verticalScrollBar()->value(), table->verticalScrollBar()->value());
    }

    // #17 item 11: "one line per role" draws the roles of the scheme the table shows, each line
    // distinguishable (colour, then dash), not every scheme × role in eight repeating colours.
    void roleLinesAreTheShownSchemesAndDistinguishable()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("nf4"), QStringLiteral("fp4"), QStringLiteral("int8")});
        scanShown(view);
        auto* byRole = view.findChild<QCheckBox*>(QStringLiteral("roleLines"));
        auto* chart = view.findChild<QChartView*>(QStringLiteral("errorByLayerChart"));
        auto* shown = view.findChild<QComboBox*>(QStringLiteral("shownScheme"));
        QVERIFY(byRole && chart && shown);
        byRole->setChecked(true);
        for (const QString& scheme : {QStringLiteral("nf4"), QStringLiteral("int8")}) {
            shown->setCurrentText(scheme);
            const auto series = chart->chart()->series();
            QVERIFY2(series.size() >= 7 && series.size() <= 12, qPrintable(QString::number(series.size())));
            QSet<QString> pens;
            for (const QAbstractSeries* s : series) {
                QVERIFY2(s->name().startsWith(scheme + QStringLiteral(" · ")), qPrintable(s->name()));
                const QPen pen = qobject_cast<const QLineSeries*>(s)->pen();
                pens.insert(pen.color().name() + QString::number(int(pen.style())));
            }
            QCOMPARE(pens.size(), series.size());
        }
    }

    void theSchemeListSearchesAndTicksPresets()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        view.setSchemeSearch(QStringLiteral("q4"));
        const QStringList visible = view.visibleSchemes();
        QVERIFY(visible.contains(QStringLiteral("q4_k")) && visible.contains(QStringLiteral("q4_0")));
        for (const QString& id : visible)
            QVERIFY2(id.contains(QStringLiteral("q4")) || id.contains(QStringLiteral("iq4")), qPrintable(id));
        view.setSchemeSearch(QString());
        QVERIFY(view.visibleSchemes().size() > visible.size());
        view.applySchemePreset(QStringLiteral("gguf"));
        QStringList ticked = view.selectedSchemes();
        ticked.sort();
        QCOMPARE(ticked,
                 (QStringList {QStringLiteral("q4_0"), QStringLiteral("q4_k"), QStringLiteral("q5_k"),
                               QStringLiteral("q6_k"), QStringLiteral("q8_0")}));
        view.applySchemePreset(QStringLiteral("bitsandbytes"));
        QCOMPARE(view.selectedSchemes().size(), 4);
        QVERIFY(view.selectedSchemes().contains(QStringLiteral("llm-int8")));
    }

    void aModelStoredQuantizedShowsABannerAndAFloatOneDoesNot()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/gguf/stories260K-q4_0.gguf")));
        QVERIFY2(view.storedQuantizationBanner().contains(QStringLiteral("stored quantized")),
                 qPrintable(view.storedQuantizationBanner()));
        QVERIFY(session.openNow(kExample));
        QVERIFY(view.storedQuantizationBanner().isEmpty());
    }

    // One block size for all would measure the 8-bit dynamic scheme (the optimizer states') at 64.
    void blockSizeDefaultsToEachSchemesOwn()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        QCOMPARE(view.blockSize(), 0);
        view.setSelectedSchemes({QStringLiteral("dyn8"), QStringLiteral("nf4")});
        const core::ScanResult& result = scanShown(view);
        core::ScanOptions options;
        options.schemes = core::makeScanSchemes("dyn8,nf4", 0, false);
        core::ProgressSink sink;
        const core::ScanResult expected = core::scanModel(*session.model(), options, sink);
        QCOMPARE(result.models.size(), expected.models.size());
        for (const auto& want : expected.models) { // the view lists the schemes in its own order
            const auto got = std::find_if(result.models.begin(), result.models.end(),
                                          [&](const core::ScanSummary& s) { return s.scheme == want.scheme; });
            QVERIFY(got != result.models.end());
            QCOMPARE(got->bitsPerParameter, want.bitsPerParameter);
            // The same measurement up to the order the threads' sums were merged in.
            QVERIFY(std::abs(got->error.rmse - want.error.rmse) <= 1e-9 * want.error.rmse);
        }
        auto* spin = view.findChild<QSpinBox*>(QStringLiteral("scanBlockSize"));
        QVERIFY(spin);
        spin->setValue(128);
        QCOMPARE(view.blockSize(), 128);
    }

    // A block size still being typed (100, no editingFinished yet) when Ctrl+R starts the scan is
    // rounded first, as leaving the field would: the scan runs at 64 instead of failing.
    void aTypedBlockSizeIsRoundedBeforeTheScan()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("nf4")});
        view.findChild<QSpinBox*>(QStringLiteral("scanBlockSize"))->setValue(100);
        const core::ScanResult& result = scanShown(view);
        QCOMPARE(view.blockSize(), 64);
        QVERIFY(!result.models.empty());
    }

    // The role filter and a name filter in another case: the scan covers exactly the rows shown.
    void theScanMeasuresExactlyTheTensorsShown()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("nf4")});
        auto* role = view.findChildren<QComboBox*>().front();
        const int gate = role->findData(QStringLiteral("mlp_gate"));
        QVERIFY(gate > 0);
        role->setCurrentIndex(gate);
        QCOMPARE(view.filterModel()->rowCount(), 5);
        const core::ScanResult& byRole = scanShown(view);
        QCOMPARE(byRole.tensors.size(), std::size_t(5));
        for (const auto& t : byRole.tensors)
            QVERIFY2(QString::fromStdString(t.name).contains(QStringLiteral("gate_proj")), t.name.c_str());
        QCOMPARE(view.roleFilter(), QStringLiteral("mlp_gate"));

        role->setCurrentIndex(0);
        view.findChild<QLineEdit*>()->setText(QStringLiteral("LAYERS\\.0\\..*Q_PROJ"));
        QCOMPARE(view.filterModel()->rowCount(), 1);
        const core::ScanResult& byName = scanShown(view);
        QCOMPARE(byName.tensors.size(), std::size_t(1));
        QCOMPARE(byName.tensors.front().name, std::string("model.layers.0.self_attn.q_proj.weight"));
        // What the report states as scanned is the filter of the scan, not one typed afterwards.
        QCOMPARE(view.scannedNameFilter(), QStringLiteral("LAYERS\\.0\\..*Q_PROJ"));
        QCOMPARE(view.scannedRoleFilter(), QString());
        view.findChild<QLineEdit*>()->setText(QStringLiteral("down"));
        QCOMPARE(view.scannedNameFilter(), QStringLiteral("LAYERS\\.0\\..*Q_PROJ"));
    }

    // The filters a report states are those of the scan whose result it shows: a scan cancelled
    // before it finishes shows what it measured (and says so), with its own filters. A name filter
    // that is not a regular expression refuses the scan (the table filters with the last valid one).
    void scannedFiltersBelongToTheFinishedScan()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("nf4")});
        QCOMPARE(scanShown(view).tensors.size(), session.model()->tensors().size());
        QCOMPARE(view.scannedNameFilter(), QString());

        auto* name = view.findChild<QLineEdit*>();
        name->setText(QStringLiteral("layers\\.0\\."));
        QSignalSpy finished(view.scanJob(), &ui::ScanJob::scanFinished);
        QSignalSpy cancelled(view.scanJob(), &ui::ScanJob::scanCancelled);
        view.startScan();
        view.cancelScan();
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() + cancelled.count() == 1, 60000);
        // Cancelled or finished, the result shown is this scan's, with its filter.
        QCOMPARE(view.scannedNameFilter(), QStringLiteral("layers\\.0\\."));
        QCOMPARE(view.scanJob()->result().cancelled, cancelled.count() == 1);
        QVERIFY(view.scanJob()->result().tensors.size() <= 9u); // layer 0's tensors at most

        name->setText(QStringLiteral("layers.0("));
        view.startScan();
        auto* error = view.findChild<QMessageBox*>(QStringLiteral("errorDialog"));
        QVERIFY(error);
        QVERIFY2(error->text().contains(QStringLiteral("not a valid regular expression")), qPrintable(error->text()));
        QVERIFY(!view.scanJob()->isRunning());
    }

    // The export's command line leaves out what the dialog leaves out, each flag once.
    void reportCommandLineCarriesTheSectionsLeftOut()
    {
        core::ReportData data;
        data.commandLine = "quantlens-cli report --model m.safetensors --no-scan";
        core::ReportSections sections;
        sections.plans = false;
        sections.errors = false;
        const std::string line = ui::withOutputPath(data, QStringLiteral("/tmp/r.md"), sections).commandLine;
        QCOMPARE(QString::fromStdString(line),
                 QStringLiteral("quantlens-cli report --model m.safetensors --no-scan --no-plan -o /tmp/r.md"));
        sections = {};
        sections.teaching = false;
        QVERIFY(ui::withOutputPath(data, QString(), sections).commandLine.ends_with(" --no-teaching"));
    }

    // "attn_q" is not a prefix match: it must not show the fused attn_qkv.
    void roleFilterMatchesWholeRoles()
    {
        ui::TensorTableModel model;
        core::TensorInfo q, qkv, expert;
        q.name = "q.weight";
        q.role = core::TensorRole::AttentionQ;
        qkv.name = "qkv.weight";
        qkv.role = core::TensorRole::AttentionQKV;
        expert.name = "experts.3.q.weight";
        expert.role = core::TensorRole::AttentionQ;
        expert.expert = 3;
        model.setTensors({q, qkv, expert});
        ui::TensorFilterModel filter;
        filter.setSourceModel(&model);
        filter.setRole(QStringLiteral("attn_q"));
        QCOMPARE(filter.rowCount(), 2);
        filter.setRole(QStringLiteral("attn_qkv"));
        QCOMPARE(filter.rowCount(), 1);
    }
};

QTEST_MAIN(TestInspectorOptions)
#include "tst_inspector_options.moc"
