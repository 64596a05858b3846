#include "core/model/model.h"
#include "core/quant/fp8.h"
#include "core/scan/scan.h"
#include "core/scan/scan_schemes.h"
#include "core/util/float16.h"
#include "core/util/units.h"
#include "gpu/device.h"
#include "ui/charts/chart_style.h"
#include "ui/charts/error_by_layer_chart.h"
#include "ui/charts/histogram_chart.h"
#include "ui/jobs/lab_analysis.h"
#include "ui/jobs/scan_job.h"
#include "ui/models/model_session.h"
#include "ui/models/tensor_table_model.h"
#include "ui/views/inspector_view.h"
#include "ui/views/lab_view.h"
#include "ui/views/levels_ruler.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QValueAxis>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace quantlens;

namespace {

const QString kExample = QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model.safetensors");

} // namespace

class TestInspectorLab : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void openingAFixtureFillsTheTable_data()
    {
        QTest::addColumn<QString>("path");
        QTest::newRow("bf16 safetensors") << kExample;
        QTest::newRow("f32 safetensors") << QStringLiteral(QUANTLENS_TEST_DATA_DIR
                                                           "/stories260K/model-f32.safetensors");
        QTest::newRow("sharded folder") << QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/sharded");
        QTest::newRow("gguf f32") << QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model-f32.gguf");
        QTest::newRow("gguf q4_0") << QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/gguf/stories260K-q4_0.gguf");
    }

    void openingAFixtureFillsTheTable()
    {
        QFETCH(QString, path);
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(path));
        QCOMPARE(view.tableModel()->rowCount(), int(session.model()->tensors().size()));
        QVERIFY(view.tableModel()->rowCount() > 0);
    }

    // A second model forgets the first one's scan: its finished result (the report and the chart
    // read it) and whatever a scan still running sends afterwards.
    void openingASecondModelForgetsTheFirstScan()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("nf4")});
        QSignalSpy finished(view.scanJob(), &ui::ScanJob::scanFinished);
        view.startScan();
        QVERIFY(finished.wait(60000));
        QVERIFY(!view.scanJob()->result().tensors.empty());

        const QString other = QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model-f32.gguf");
        QVERIFY(session.openNow(other));
        QVERIFY(view.scanJob()->result().tensors.empty());
        QVERIFY(view.tableModel()->schemesWithResults().isEmpty());

        // A scan started and overtaken by a new model at once: its queued results must not land
        // on the new model's rows.
        view.startScan();
        QVERIFY(session.openNow(kExample));
        QTRY_VERIFY_WITH_TIMEOUT(!view.scanJob()->isRunning(), 60000);
        QTest::qWait(200); // let anything it queued arrive
        QVERIFY(view.tableModel()->schemesWithResults().isEmpty());
        QVERIFY(view.scanJob()->result().tensors.empty());
        QCOMPARE(finished.count(), 1);
    }

    void scanToCompletionMatchesTheCoreScan()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("nf4"), QStringLiteral("q4_0")});
        QSignalSpy finished(view.scanJob(), &ui::ScanJob::scanFinished);
        view.startScan();
        QVERIFY(finished.wait(60000));

        core::ScanOptions options;
        options.schemes = core::makeScanSchemes("nf4,q4_0", 64, false);
        core::ProgressSink sink;
        const core::ScanResult expected = core::scanModel(*session.model(), options, sink);
        int compared = 0;
        int kept = 0, fallback = 0;
        for (const auto& t : expected.tensors) {
            const QString scheme = QString::fromStdString(t.scheme);
            QVERIFY(view.tableModel()->hasError(int(t.tensorIndex), scheme));
            const auto cells = view.tableModel()->error(int(t.tensorIndex), scheme);
            view.tableModel()->setErrorScheme(scheme);
            const QModelIndex stored = view.tableModel()->index(int(t.tensorIndex), ui::TensorTableModel::StoredAs);
            const QModelIndex rel = view.tableModel()->index(int(t.tensorIndex), ui::TensorTableModel::RelError);
            if (t.kept()) { // norms under both, the embedding under nf4: a dash, and why in the tooltip
                QVERIFY(cells.kept);
                QCOMPARE(stored.data().toString(), QStringLiteral("kept"));
                QCOMPARE(rel.data().toString(), QStringLiteral("–"));
                QCOMPARE(
                    rel.data(Qt::ToolTipRole).toString(),
                    QStringLiteral("Not quantized under %1: %2").arg(scheme, QString::fromStdString(t.policyNote)));
                ++kept;
                continue;
            }
            QCOMPARE(stored.data().toString(), QString::fromStdString(t.storedAs));
            if (t.storedAs != t.scheme) { // ffn_down's rows of 172 under q4_0: f16, as llama.cpp stores them
                QVERIFY(stored.data(Qt::ToolTipRole).toString().contains(QStringLiteral("rows of 172")));
                ++fallback;
            }
            QCOMPARE(cells.rmse, t.error.rmse);
            QCOMPARE(cells.maxAbsError, t.error.maxAbsError);
            QCOMPARE(cells.relError, t.error.relError);
            ++compared;
        }
        QCOMPARE(compared, 35 + 36);
        QCOMPARE(kept, 12 + 11);
        QCOMPARE(fallback, 5);
        // Each scheme's row covers the same 47 tensors and says how many it quantized, at what size.
        auto* summary = view.findChild<QTableWidget*>(QStringLiteral("schemeSummary"));
        QVERIFY(summary);
        QCOMPARE(summary->rowCount(), 2);
        QCOMPARE(summary->item(0, 1)->text(), QStringLiteral("35 of 47"));
        QCOMPARE(summary->item(1, 0)->text(), QStringLiteral("q4_0"));
        QCOMPARE(summary->item(1, 1)->text(), QStringLiteral("36 of 47"));
        QCOMPARE(summary->item(0, 3)->text(), summary->item(1, 3)->text()); // the same base size
        QCOMPARE(summary->item(1, 4)->text(),
                 QString::fromStdString(core::formatBinaryBytes(double(expected.models[1].quantizedBytes))));
        QVERIFY(summary->item(1, 1)->toolTip().contains(QStringLiteral("5 tensors: f16 (rows of 172")));
        QVERIFY(summary->item(0, 1)->toolTip().contains(QStringLiteral("Linear projection weights only")));
        auto* chart = view.findChild<ui::ErrorByLayerChart*>();
        QVERIFY(chart);
        QStringList names;
        for (const auto& series : chart->data().series)
            names << series.name;
        QCOMPARE(names, (QStringList {QStringLiteral("nf4"), QStringLiteral("q4_0")}));

        // Every tensor, for teaching: norms quantized too, ffn_down kept (q4_0 cannot store it).
        auto* policy = view.findChild<QComboBox*>(QStringLiteral("scanPolicy"));
        QVERIFY(policy);
        policy->setCurrentIndex(1);
        QCOMPARE(view.tensorSelection(), core::TensorSelection::EveryTensor);
        view.startScan();
        QVERIFY(finished.wait(60000));
        QCOMPARE(view.scannedTensorSelection(), core::TensorSelection::EveryTensor);
        QCOMPARE(summary->item(0, 1)->text(), QStringLiteral("47 of 47"));
        QCOMPARE(summary->item(1, 1)->text(), QStringLiteral("42 of 47"));
    }

    // #19: GPTQ calibrates by itself; with "Activation-weighted error" every scheme's row gets
    // ||(W - Q(W)) X||^2 / ||W X||^2, the core scan's figure on the same calibration.
    void calibratedScanShowsTheActivationWeightedError()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("rtn4"), QStringLiteral("gptq4"), QStringLiteral("awq4")});
        auto* calibrate = view.findChild<QCheckBox*>(QStringLiteral("scanCalibrate"));
        QVERIFY(calibrate);
        QSignalSpy finished(view.scanJob(), &ui::ScanJob::scanFinished);
        view.startScan();
        QVERIFY(finished.wait(60000));
        auto* summary = view.findChild<QTableWidget*>(QStringLiteral("schemeSummary"));
        QVERIFY(summary);
        QCOMPARE(summary->rowCount(), 3);
        QCOMPARE(summary->item(1, 0)->text(), QStringLiteral("gptq4"));
        QCOMPARE(summary->item(1, 1)->text(), QStringLiteral("35 of 47")); // calibrated without being asked
        QCOMPARE(summary->item(2, 0)->text(), QStringLiteral("awq4"));
        QCOMPARE(summary->item(2, 1)->text(), QStringLiteral("35 of 47")); // its search ran in the job
        const auto& result = view.scanJob()->result();
        QVERIFY(QString::fromStdString(result.calibration).contains(QStringLiteral("seed 1234")));
        QCOMPARE(summary->item(0, 9)->text(), QString::number(result.models[0].activationError, 'g', 4));
        QVERIFY(result.models[1].activationError < result.models[0].activationError);
        QVERIFY(result.models[2].activationError < result.models[0].activationError);
        // The set and AWQ's choices are stated: the line says so, its tooltip holds them.
        auto* progress = view.findChild<QLabel*>(QStringLiteral("scanProgressLabel"));
        QVERIFY(progress);
        QVERIFY(progress->text().contains(QStringLiteral("calibrated")));
        QVERIFY(progress->toolTip().contains(QStringLiteral("seed 1234")));
        QVERIFY(progress->toolTip().contains(QStringLiteral("awq4's search, alpha per layer")));
        calibrate->setChecked(false); // a scan of rtn4 alone: no calibration, no figure
        view.setSelectedSchemes({QStringLiteral("rtn4")});
        view.startScan();
        QVERIFY(finished.wait(60000));
        QCOMPARE(summary->item(0, 9)->text(), QStringLiteral("–"));
        calibrate->setChecked(true);
        view.startScan();
        QVERIFY(finished.wait(60000));
        QVERIFY(summary->item(0, 9)->text() != QStringLiteral("–"));
    }

    // Without a GPU (CI) the option is there but disabled, saying why; with one, ticking it gives
    // the CPU's numbers for NF4 (the codes are the same; the sums differ in order only, 1e-6).
    void gpuScanOptionIsOfferedOnlyWithADevice()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        auto* onGpu = view.findChild<QCheckBox*>(QStringLiteral("scanOnGpu"));
        QVERIFY(onGpu);
        if (!gpu::available()) {
            QVERIFY(!onGpu->isEnabled());
            QVERIFY(onGpu->toolTip().contains(QString::fromStdString(gpu::unavailableReason())));
            return;
        }
        onGpu->setChecked(true);
        view.setSelectedSchemes({QStringLiteral("nf4")});
        QSignalSpy finished(view.scanJob(), &ui::ScanJob::scanFinished);
        view.startScan();
        QVERIFY(finished.wait(60000));
        core::ScanOptions options;
        options.schemes = core::makeScanSchemes("nf4", 64, false);
        core::ProgressSink sink;
        const core::ScanResult expected = core::scanModel(*session.model(), options, sink);
        for (const auto& t : expected.tensors) {
            const auto cells = view.tableModel()->error(int(t.tensorIndex), QStringLiteral("nf4"));
            QCOMPARE(cells.maxAbsError, t.error.maxAbsError);
            QVERIFY(std::abs(cells.rmse - t.error.rmse) <= t.error.rmse * 1e-6); // summation order only
        }
    }

    void cancellingAScanMidwayStopsItAndANewOneCanStart()
    {
        ui::ModelSession session;
        ui::InspectorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSelectedSchemes({QStringLiteral("nf4"), QStringLiteral("fp4"), QStringLiteral("q4_k"),
                                 QStringLiteral("q6_k"), QStringLiteral("int8"), QStringLiteral("q8_0")});
        QSignalSpy cancelled(view.scanJob(), &ui::ScanJob::scanCancelled);
        QSignalSpy finished(view.scanJob(), &ui::ScanJob::scanFinished);
        view.startScan();
        view.cancelScan();
        QVERIFY(cancelled.wait(10000) || finished.count() == 1);
        QVERIFY(!view.scanJob()->isRunning());
        if (cancelled.count() == 1) {
            QVERIFY(view.scanJob()->lastCancelLatencyMs() < 5000);
            // What finished is kept and shown, with the scan's own time, not the latency of the click.
            const auto& partial = view.scanJob()->result();
            QVERIFY(partial.cancelled);
            QCOMPARE(partial.tensorsSelected, std::uint64_t(session.model()->tensors().size()));
            QVERIFY(partial.tensorsMeasured <= partial.tensorsSelected);
            QCOMPARE(partial.tensors.size(), std::size_t(partial.tensorsMeasured * 6));
            QVERIFY(view.progressText().startsWith(QStringLiteral("Cancelled after ")));
        }
        view.setSelectedSchemes({QStringLiteral("nf4")});
        view.startScan();
        QVERIFY(finished.wait(60000));
    }

    void labHistogramCountsEveryValueOfTheSelectedTensor()
    {
        ui::ModelSession session;
        QVERIFY(session.openNow(kExample));
        ui::LabView lab(&session);
        QSignalSpy ready(&lab, &ui::LabView::analysisReady);
        QVERIFY(ready.wait(30000)); // the synthetic start-up analysis
        const auto index = session.model()->find("model.layers.0.mlp.down_proj.weight");
        QVERIFY(index >= 0);
        lab.showTensor(int(index));
        QVERIFY(ready.wait(30000));
        const auto& data = lab.weightChart(0)->data();
        const double counted = std::accumulate(data.counts.begin(), data.counts.end(), 0.0);
        QCOMPARE(counted, double(session.model()->tensors()[std::size_t(index)].elementCount()));
        QCOMPARE(data.marks.size(), qsizetype(16)); // NF4: 16 levels scaled by the block's absmax
        QVERIFY(!lab.analysis().schemes.empty());
        QCOMPARE(lab.analysis().schemes.front().error.count,
                 session.model()->tensors()[std::size_t(index)].elementCount());
        // Round ticks (#17 item 10: not 0.0313 or 6.94e-18): a 1, 2 or 5 step anchored at 0, 6 or fewer.
        for (const ui::HistogramChart* chart : {lab.weightChart(0), lab.errorChart(0)}) {
            const auto axes = chart->chart()->axes(Qt::Horizontal);
            QCOMPARE(axes.size(), qsizetype(1));
            const auto* axis = qobject_cast<const QValueAxis*>(axes.front());
            QVERIFY(axis);
            QCOMPARE(axis->tickType(), QValueAxis::TicksDynamic);
            QCOMPARE(axis->tickAnchor(), 0.0);
            const double step = axis->tickInterval();
            const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
            QVERIFY2(std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 || std::abs(mantissa - 5) < 1e-9,
                     qPrintable(QString::number(step)));
            QVERIFY((axis->max() - axis->min()) / step <= 6.0 + 1e-9);
        }
        QCOMPARE(ui::niceTickInterval(1.039, 6), 0.2);
        QCOMPARE(ui::niceTickInterval(0.125, 6), 0.05);
        QCOMPARE(ui::niceTickInterval(6.94e-18, 6), 2e-18);
        QCOMPARE(ui::niceTickInterval(0.0, 5), 0.0);
    }

    // The Lab applies the policy every command shares (#17 item 2). Q4_0 cannot store ffn_down (rows
    // of 172): as llama.cpp does, that side measures it in f16 and says so. A norm: bitsandbytes and
    // llama.cpp leave it alone; both sides say so and measure it anyway, for teaching.
    void labSideFollowsTheToolsPolicyAndSaysSo()
    {
        ui::ModelSession session;
        QVERIFY(session.openNow(kExample));
        ui::LabView lab(&session);
        QSignalSpy ready(&lab, &ui::LabView::analysisReady);
        QVERIFY(ready.wait(30000));
        lab.setSchemes(QStringLiteral("nf4"), QStringLiteral("q4_0"));
        QVERIFY(ready.wait(30000));
        const auto index = session.model()->find("model.layers.1.mlp.down_proj.weight");
        QVERIFY(index >= 0);
        lab.showTensor(int(index));
        QVERIFY(ready.wait(30000));
        const auto& schemes = lab.analysis().schemes;
        QCOMPARE(schemes.size(), std::size_t(2));
        QVERIFY(schemes[0].policy.isEmpty());
        QCOMPARE(schemes[0].error.count, std::uint64_t(64 * 172));
        QCOMPARE(schemes[1].requested, QStringLiteral("q4_0"));
        QCOMPARE(schemes[1].scheme, QStringLiteral("fp16"));
        QCOMPARE(schemes[1].error.count, std::uint64_t(64 * 172));
        QVERIFY(schemes[1].policy.contains(QStringLiteral("q4_0 cannot store this tensor; llama.cpp stores it as f16 "
                                                          "(rows of 172 are not whole q4_0 blocks)")));
        auto* table = lab.findChild<QTableWidget*>(QStringLiteral("blockTable"));
        QVERIFY(table);
        QCOMPARE(table->columnCount(), 6); // index, value, nf4 value and code, fp16 value and code
        QVERIFY(!lab.weightChart(1)->isHidden());
        bool said = false;
        for (auto* label : lab.findChildren<QLabel*>())
            said = said || label->text().contains(QStringLiteral("llama.cpp stores it as f16"));
        QVERIFY(said);

        const auto norm = session.model()->find("model.layers.1.input_layernorm.weight");
        QVERIFY(norm >= 0);
        lab.showTensor(int(norm));
        QVERIFY(ready.wait(30000));
        const auto& kept = lab.analysis().schemes;
        QVERIFY(kept[0].policy.contains(QStringLiteral("not a Linear projection weight")));
        QVERIFY(kept[0].policy.contains(QStringLiteral("Measured here anyway, for teaching")));
        QVERIFY(kept[1].policy.contains(QStringLiteral("llama.cpp quantizes 2-D weights only")));
        QCOMPARE(kept[1].scheme, QStringLiteral("q4_0"));
        QVERIFY(kept[1].error.count > 0);
    }

    // Values no tool would see (a synthetic row of 1,000): a scheme that cannot store them has no
    // fallback; its side says why and draws nothing, while the other side is there as usual.
    void labSideOfASchemeThatCannotStoreSyntheticValuesSaysWhy()
    {
        ui::ModelSession session;
        ui::LabView lab(&session);
        ui::LabRequest request;
        request.syntheticCount = 1000;
        request.schemes = {QStringLiteral("nf4"), QStringLiteral("q4_0")};
        const ui::LabAnalysis a = ui::analyse(request);
        QVERIFY(a.schemes[0].unavailable.isEmpty());
        QCOMPARE(a.schemes[0].error.count, std::uint64_t(1000));
        QVERIFY(a.schemes[1].unavailable.contains(QStringLiteral("1000 values are not a whole number")));
        QVERIFY(a.schemes[1].dequantized.empty());
        QVERIFY(a.schemes[1].policy.isEmpty());
        // GPTQ needs the layer's inputs: said, not thrown.
        request.schemes = {QStringLiteral("gptq4")};
        const ui::LabAnalysis g = ui::analyse(request);
        QVERIFY(g.schemes[0].unavailable.contains(QStringLiteral("needs calibration inputs")));
    }

    // A tensor larger than the Lab takes is cut to whole rows, so per-row schemes and ggml's formats
    // see its rows: 1,000 values of a 64 x 172 matrix are its first 5 rows.
    void labCutsALargeTensorToWholeRows()
    {
        ui::ModelSession session;
        QVERIFY(session.openNow(kExample));
        ui::LabRequest request;
        request.model = session.model();
        request.tensorIndex = int(session.model()->find("model.layers.0.mlp.down_proj.weight"));
        request.maxElements = 1000;
        request.schemes = {QStringLiteral("llm-int8"), QStringLiteral("q4_0")};
        const ui::LabAnalysis a = ui::analyse(request);
        QCOMPARE(a.shape, (std::vector<std::uint64_t> {5, 172}));
        QCOMPARE(a.values.size(), std::size_t(860));
        QCOMPARE(a.schemes[0].error.count, std::uint64_t(860));
        QCOMPARE(a.schemes[1].scheme, QStringLiteral("fp16")); // llama.cpp's type for rows of 172
        QCOMPARE(a.schemes[1].error.count, std::uint64_t(860));
        request.maxElements = 100; // less than a row: one row
        QCOMPARE(ui::analyse(request).shape, (std::vector<std::uint64_t> {1, 172}));
    }

    void bitsSliderDrawsTwoToTheKLevels()
    {
        ui::ModelSession session;
        ui::LabView lab(&session);
        for (int bits = 2; bits <= 8; ++bits) {
            lab.bitsSlider()->setValue(bits);
            QCOMPARE(lab.ruler()->levels().size(), qsizetype(1) << bits);
        }
        lab.bitsSlider()->setValue(3);
        const auto examples = lab.ruler()->examples();
        QCOMPARE(examples.size(), qsizetype(5));
        QCOMPARE(examples[1].value, -0.7);
        QCOMPARE(examples[1].snapped, -0.75);
        QCOMPARE(examples[3].snapped, 0.25); // 0.05 snaps to 0.25: the course's grid has no zero
        QCOMPARE(examples[4].snapped, 0.5);
        // Each value is written once under the ruler (#17 item 10): -0.5 and 0.5 are levels of the
        // 3-bit grid and were labelled both as ruler ticks and as levels.
        for (int bits = 2; bits <= 4; ++bits) {
            lab.bitsSlider()->setValue(bits);
            QList<double> written;
            for (const auto& label : lab.ruler()->labels()) {
                for (double other : written)
                    QVERIFY2(std::abs(other - label.value) > 1e-9, qPrintable(QString::number(label.value)));
                written << label.value;
            }
            QVERIFY(written.contains(-1.0) && written.contains(1.0));
        }
        lab.bitsSlider()->setValue(3);
        const auto labels = lab.ruler()->labels();
        QVERIFY(std::any_of(labels.begin(), labels.end(),
                            [](const auto& label) { return label.level && label.value == 0.5; }));
    }

    // The Lab on its synthetic values (65,536, one dimension) under `left` and `right`, analysed.
    static bool analyseSynthetic(ui::LabView& lab, const QString& left, const QString& right)
    {
        QSignalSpy ready(&lab, &ui::LabView::analysisReady);
        lab.setSchemes(left, right);
        return ready.wait(30000) && !lab.analysis().values.empty();
    }

    // The block browser counts blocks as Scheme::viewBlock does: the last block it offers exists
    // (int8 per tensor: 64 values a block, not 1), and a right scheme with longer blocks shows its
    // block holding the left one (no "past the end" for q4_k's 256 at the left's last block).
    void labBlockSpinOffersOnlyBlocksThatExist_data()
    {
        QTest::addColumn<QString>("left");
        QTest::addColumn<QString>("right");
        QTest::addColumn<int>("blockLength");
        QTest::newRow("int8 per tensor") << QStringLiteral("int8") << QString() << 64;
        QTest::newRow("fp8-e4m3") << QStringLiteral("fp8-e4m3") << QString() << 64;
        QTest::newRow("bf16") << QStringLiteral("bf16") << QString() << 64;
        QTest::newRow("fp16") << QStringLiteral("fp16") << QString() << 64;
        QTest::newRow("teach3 per tensor") << QStringLiteral("teach3") << QString() << 64;
        QTest::newRow("q4_0") << QStringLiteral("q4_0") << QString() << 32;
        QTest::newRow("nf4 with q4_k on the right") << QStringLiteral("nf4") << QStringLiteral("q4_k") << 64;
        QTest::newRow("q8_0 with llm-int8 on the right") << QStringLiteral("q8_0") << QStringLiteral("llm-int8") << 32;
    }

    void labBlockSpinOffersOnlyBlocksThatExist()
    {
        QFETCH(QString, left);
        QFETCH(QString, right);
        QFETCH(int, blockLength);
        ui::ModelSession session;
        ui::LabView lab(&session);
        QVERIFY(analyseSynthetic(lab, left, right));
        auto* spin = lab.findChild<QSpinBox*>(QStringLiteral("blockSpin"));
        auto* table = lab.findChild<QTableWidget*>(QStringLiteral("blockTable"));
        auto* info = lab.findChild<QLabel*>(QStringLiteral("blockInfo"));
        QVERIFY(spin && table && info);
        const auto n = qsizetype(lab.analysis().values.size());
        QCOMPARE(spin->maximum(), int((n + blockLength - 1) / blockLength) - 1);
        spin->setValue(spin->maximum());
        QVERIFY2(!info->text().contains(QStringLiteral("past the end")), qPrintable(info->text()));
        QCOMPARE(table->rowCount(), int(n - qsizetype(spin->maximum()) * blockLength));
        QCOMPARE(table->item(0, 0)->text(), QString::number(qsizetype(spin->maximum()) * blockLength));
    }

    // A block the browser cannot show (here a bitsandbytes block size of 100, typed and not yet
    // confirmed when "levels of all blocks" is ticked) leaves the message and no rows of the block
    // shown before.
    void labBlockErrorClearsTheOldRows()
    {
        ui::ModelSession session;
        ui::LabView lab(&session);
        QVERIFY(analyseSynthetic(lab, QStringLiteral("nf4"), QString()));
        auto* table = lab.findChild<QTableWidget*>(QStringLiteral("blockTable"));
        auto* info = lab.findChild<QLabel*>(QStringLiteral("blockInfo"));
        auto* blockSize = lab.findChild<QSpinBox*>(QStringLiteral("blockSizeSpin"));
        auto* all = lab.findChild<QCheckBox*>(QStringLiteral("allBlocks"));
        QVERIFY(table && info && blockSize && all);
        QCOMPARE(table->rowCount(), 64);
        blockSize->setValue(100);
        all->setChecked(true);
        QVERIFY2(info->text().contains(QStringLiteral("blocksize 100")), qPrintable(info->text()));
        QCOMPARE(table->rowCount(), 0);
    }

    // The code column shows what the format stores: ggml's q with x' = q × d (Q8_0) or
    // (q − 8) × d (Q4_0), the FP8 byte, and "–" where one column cannot say it (the k-quants);
    // never the 0 that the nearest of an empty level table gave. int8's scale is named the step.
    void labBlockCodesAreTheStoredCodes()
    {
        ui::ModelSession session;
        ui::LabView lab(&session);
        auto* spin = lab.findChild<QSpinBox*>(QStringLiteral("blockSpin"));
        auto* table = lab.findChild<QTableWidget*>(QStringLiteral("blockTable"));
        auto* info = lab.findChild<QLabel*>(QStringLiteral("blockInfo"));
        QVERIFY(spin && table && info);
        const int block = 5;
        // Every row of the block: the element, its code, its dequantized value.
        auto rows = [&](auto check) {
            QVERIFY(table->rowCount() > 0);
            const auto& dequantized = lab.analysis().schemes.front().dequantized;
            for (int row = 0; row < table->rowCount(); ++row) {
                const auto element = table->item(row, 0)->text().toULongLong();
                check(element, table->item(row, 3)->text(), dequantized[element]);
            }
        };

        QVERIFY(analyseSynthetic(lab, QStringLiteral("q8_0"), QString()));
        spin->setValue(block);
        const auto& values = lab.analysis().values;
        float amax = 0;
        for (int i = 0; i < 32; ++i)
            amax = std::max(amax, std::fabs(values[std::size_t(block * 32 + i)]));
        const float d = amax / 127.0f; // ggml's quantize_row_q8_0_ref: q = round(x * (1 / d))
        const float id = 1.0f / d;
        const float d8 = core::fp16ToFloat(core::floatToFp16(d)); // as stored
        QSet<QString> seen;
        rows([&](std::uint64_t element, const QString& code, float value) {
            seen << code;
            QCOMPARE(code, QString::number(std::lround(values[element] * id)));
            QCOMPARE(float(code.toInt()) * d8, value);
        });
        QVERIFY(seen.size() > 10);
        QVERIFY2(info->text().contains(QStringLiteral("stored scale d")), qPrintable(info->text()));

        QVERIFY(analyseSynthetic(lab, QStringLiteral("q4_0"), QString()));
        spin->setValue(block);
        float signedMax = 0;
        for (int i = 0; i < 32; ++i) {
            const float x = values[std::size_t(block * 32 + i)];
            if (std::fabs(x) > std::fabs(signedMax))
                signedMax = x;
        }
        const float d4 = core::fp16ToFloat(core::floatToFp16(signedMax / -8.0f));
        rows([&](std::uint64_t, const QString& code, float value) {
            QVERIFY(code.toInt() >= 0 && code.toInt() <= 15);
            QCOMPARE(float(code.toInt() - 8) * d4, value);
        });

        QVERIFY(analyseSynthetic(lab, QStringLiteral("fp8-e4m3"), QString()));
        spin->setValue(block);
        float tensorMax = 0;
        for (float x : values)
            tensorMax = std::max(tensorMax, std::fabs(x));
        const float scale = core::fp8TensorScale(tensorMax, core::Fp8Format::E4M3);
        rows([&](std::uint64_t, const QString& code, float value) {
            QVERIFY2(code.startsWith(QStringLiteral("0x")), qPrintable(code));
            bool ok = false;
            const auto byte = std::uint8_t(code.mid(2).toUInt(&ok, 16));
            QVERIFY(ok);
            QCOMPARE(core::fp8ToFloat(byte, core::Fp8Format::E4M3) * scale, value);
        });

        QVERIFY(analyseSynthetic(lab, QStringLiteral("q4_k"), QString()));
        spin->setValue(block);
        rows([&](std::uint64_t, const QString& code, float) { QCOMPARE(code, QStringLiteral("–")); });

        QVERIFY(analyseSynthetic(lab, QStringLiteral("int8"), QString()));
        spin->setValue(block);
        QVERIFY2(info->text().contains(QStringLiteral("scale s"))
                     && info->text().contains(QStringLiteral("absmax / 127"))
                     && !info->text().contains(QStringLiteral("scale (absmax)")),
                 qPrintable(info->text()));
    }
};

QTEST_MAIN(TestInspectorLab)
#include "tst_inspector_lab.moc"
