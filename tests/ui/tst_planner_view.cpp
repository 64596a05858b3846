#include "core/planner/planner.h"
#include "core/util/units.h"
#include "ui/charts/breakdown_chart.h"
#include "ui/charts/sweep_chart.h"
#include "ui/views/planner_form.h"
#include "ui/views/planner_view.h"

#include <QCategoryAxis>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScatterSeries>
#include <QSet>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace quantlens;
using quantlens::ui::PlannerView;

class TestPlannerView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sweepAxisLabelsAreShortPowersOfTwo()
    {
        QCOMPARE(ui::compactPowerOfTwo(8), QStringLiteral("256"));
        QCOMPARE(ui::compactPowerOfTwo(10), QStringLiteral("1K"));
        QCOMPARE(ui::compactPowerOfTwo(16), QStringLiteral("64K"));
        QCOMPARE(ui::compactPowerOfTwo(21), QStringLiteral("2M"));
        QCOMPARE(ui::compactPowerOfTwo(0), QStringLiteral("1"));
    }

    // LoRA needs a target: the last ticked box stays ticked, and the plan follows the boxes.
    void theLastLoraTargetCannotBeUnticked()
    {
        PlannerView view;
        core::PlanInput input = view.form()->input();
        input.method = core::TrainingMethod::Lora;
        input.loraTargets = core::kLoraQ | core::kLoraV;
        view.form()->setInput(input);
        QCheckBox* q = nullptr;
        QCheckBox* v = nullptr;
        for (QCheckBox* box : view.form()->findChildren<QCheckBox*>()) {
            if (box->text() == QStringLiteral("q"))
                q = box;
            if (box->text() == QStringLiteral("v"))
                v = box;
        }
        QVERIFY(q && v && q->isChecked() && v->isChecked());
        v->setChecked(false);
        QCOMPARE(view.form()->input().loraTargets, unsigned(core::kLoraQ));
        q->setChecked(false);
        QVERIFY(q->isChecked());
        QCOMPARE(view.form()->input().loraTargets, unsigned(core::kLoraQ));
    }

    // A GPU typed into the box is planned for; an unknown one puts the planned GPU's name back.
    void aTypedGpuIsPlannedForOrPutBack()
    {
        PlannerView view;
        auto* gpu = view.findChild<QComboBox*>(QStringLiteral("gpuCombo"));
        QVERIFY(gpu && gpu->lineEdit());
        view.form()->setGpu(QStringLiteral("rtx-4090"));
        gpu->lineEdit()->setText(QStringLiteral("a100-80gb"));
        Q_EMIT gpu->lineEdit()->editingFinished();
        QCOMPARE(QString::fromStdString(view.form()->input().gpu), QStringLiteral("a100-80gb"));
        QCOMPARE(gpu->currentData().toString(), QStringLiteral("a100-80gb"));
        QCOMPARE(view.result().gpu->id, std::string("a100-80gb"));

        gpu->lineEdit()->setText(QStringLiteral("a100"));
        Q_EMIT gpu->lineEdit()->editingFinished();
        QCOMPARE(QString::fromStdString(view.form()->input().gpu), QStringLiteral("a100-80gb"));
        QCOMPARE(gpu->currentText(), gpu->itemText(gpu->currentIndex()));
    }

    // Every mnemonic label has a buddy (else it shows the '&') and no two share a key.
    void formLabelsHaveBuddiesAndDistinctMnemonics()
    {
        PlannerView view;
        QSet<QChar> keys;
        for (const QLabel* label : view.form()->findChildren<QLabel*>()) {
            const QString text = label->text();
            const qsizetype amp = text.indexOf(QLatin1Char('&'));
            if (amp < 0 || amp + 1 >= text.size() || text.contains(QLatin1Char('<')))
                continue;
            QVERIFY2(label->buddy(), qPrintable(text));
            const QChar key = text.at(amp + 1).toLower();
            QVERIFY2(!keys.contains(key), qPrintable(text));
            keys.insert(key);
        }
        QVERIFY(keys.contains(QLatin1Char('m')));
    }

    // The allocator field shows the fraction the plan uses (30% for a checkpointed training step,
    // 9% otherwise) and an edit changes only that one.
    void allocatorFieldShowsAndEditsTheFractionInUse()
    {
        PlannerView view;
        auto* spin = view.findChild<QDoubleSpinBox*>(QStringLiteral("allocatorSpin"));
        auto* checkpointing = view.findChild<QCheckBox*>(QStringLiteral("checkpointingBox"));
        QVERIFY(spin && checkpointing);
        core::PlanInput input = view.form()->input();
        input.method = core::TrainingMethod::Qlora;
        input.gradientCheckpointing = true;
        view.form()->setInput(input);
        const core::PlanOverheads defaults = core::defaultOverheads();
        QCOMPARE(spin->value(), defaults.checkpointingAllocatorFraction * 100);

        checkpointing->setChecked(false);
        QCOMPARE(spin->value(), defaults.allocatorFraction * 100);
        QCOMPARE(view.form()->input().overheads.checkpointingAllocatorFraction,
                 defaults.checkpointingAllocatorFraction);

        spin->setValue(12.0);
        QCOMPARE(view.form()->input().overheads.allocatorFraction, 0.12);
        QCOMPARE(view.form()->input().overheads.checkpointingAllocatorFraction,
                 defaults.checkpointingAllocatorFraction);
        QCOMPARE(view.result().peakBytes, core::evaluate(view.form()->input()).peakBytes);

        checkpointing->setChecked(true);
        QCOMPARE(spin->value(), defaults.checkpointingAllocatorFraction * 100);
        QCOMPARE(view.form()->input().overheads.allocatorFraction, 0.12);
        spin->setValue(25.0);
        QCOMPARE(view.form()->input().overheads.checkpointingAllocatorFraction, 0.25);
        QCOMPARE(view.form()->input().overheads.allocatorFraction, 0.12);
    }

    // One GPU is simulated through the caching allocator: the fraction field is off and says so,
    // and the two training-loop boxes reach the plan.
    void allocatorFieldSaysWhenTheStepIsSimulated()
    {
        PlannerView view;
        auto* spin = view.findChild<QDoubleSpinBox*>(QStringLiteral("allocatorSpin"));
        auto* freeOutputs = view.findChild<QCheckBox*>(QStringLiteral("freeOutputsBox"));
        auto* expandable = view.findChild<QCheckBox*>(QStringLiteral("expandableBox"));
        QVERIFY(spin && freeOutputs && expandable);
        core::PlanInput input = view.form()->input();
        input.method = core::TrainingMethod::Lora;
        input.gpus = 1;
        input.zeroStage = 0;
        view.form()->setInput(input);
        QVERIFY(!spin->isEnabled());
        QVERIFY(spin->suffix().contains(QStringLiteral("simulated")));
        QVERIFY(view.result().simulated);
        const std::uint64_t held = view.result().allocatedBytes;
        freeOutputs->setChecked(true);
        QVERIFY(!view.form()->input().keepOutputs);
        QVERIFY(view.result().allocatedBytes < held);
        expandable->setChecked(true);
        QVERIFY(view.form()->input().expandableSegments);
        QCOMPARE(view.result().peakBytes, core::evaluate(view.form()->input()).peakBytes);

        input = view.form()->input();
        input.gpus = 2;
        view.form()->setInput(input);
        QVERIFY(spin->isEnabled());
        QVERIFY(!view.result().simulated);
    }

    // Tensor parallelism is offered for inference on several GPUs only, and reaches the plan.
    void tensorParallelBoxSplitsAServedModel()
    {
        PlannerView view;
        auto* box = view.findChild<QCheckBox*>(QStringLiteral("tensorParallelBox"));
        QVERIFY(box);
        core::PlanInput input = view.form()->input();
        input.method = core::TrainingMethod::Inference;
        input.gpus = 1;
        view.form()->setInput(input);
        QVERIFY(!box->isEnabled());
        input.gpus = 2;
        view.form()->setInput(input);
        QVERIFY(box->isEnabled());
        const std::uint64_t whole = view.result()[core::Component::Weights].bytes;
        box->setChecked(true);
        QVERIFY(view.form()->input().tensorParallel);
        QVERIFY(std::abs(double(view.result()[core::Component::Weights].bytes) - double(whole) / 2) <= 1.0);
        input = view.form()->input();
        input.method = core::TrainingMethod::Lora;
        view.form()->setInput(input);
        QVERIFY(!box->isEnabled());
    }

    void chartAndVerdictEqualTheCoreResult_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("method");
        QTest::addColumn<QString>("gpu");
        QTest::addColumn<int>("seq");
        QTest::newRow("qlora 8b on 4090")
            << QStringLiteral("llama-3.1-8b") << int(core::TrainingMethod::Qlora) << QStringLiteral("rtx-4090") << 2048;
        QTest::newRow("full 7b on h100") << QStringLiteral("llama-2-7b") << int(core::TrainingMethod::Full)
                                         << QStringLiteral("h100-sxm") << 4096;
        QTest::newRow("inference mistral") << QStringLiteral("mistral-7b") << int(core::TrainingMethod::Inference)
                                           << QStringLiteral("rtx-3090") << 512;
    }

    void chartAndVerdictEqualTheCoreResult()
    {
        QFETCH(QString, model);
        QFETCH(int, method);
        QFETCH(QString, gpu);
        QFETCH(int, seq);
        PlannerView view;
        core::PlanInput input = view.form()->input();
        input.model = core::findModelPreset(model.toStdString());
        input.method = core::TrainingMethod(method);
        input.gpu = gpu.toStdString();
        input.seqLen = seq;
        view.form()->setInput(input);

        const core::PlanResult expected = core::evaluate(view.form()->input());
        QCOMPARE(view.result().peakBytes, expected.peakBytes);
        for (const auto& c : expected.components) {
            const QString key = QString::fromLatin1(core::componentKey(c.component));
            const double drawn = view.breakdownChart()->drawnBytes(key);
            if (c.bytesAtPeak == 0) {
                QCOMPARE(drawn, -1.0);
                continue;
            }
            QVERIFY2(std::abs(drawn - double(c.bytesAtPeak)) <= 1.0, qPrintable(key));
        }
        QVERIFY(expected.gpu.has_value());
        QCOMPARE(view.breakdownChart()->drawnCapacityBytes(), double(expected.gpu->memoryBytesUsable));
        QVERIFY(view.verdictText().contains(expected.fits ? QStringLiteral("Fits") : QStringLiteral("Does not fit")));
    }

    void changingAnInputRecomputesAtOnce()
    {
        PlannerView view;
        QSignalSpy spy(&view, &PlannerView::planChanged);
        const std::uint64_t before = view.result().peakBytes;
        auto* seq = view.form()->findChildren<QSpinBox*>().first();
        QVERIFY(seq);
        core::PlanInput input = view.form()->input();
        input.seqLen *= 4;
        view.form()->setInput(input);
        QCOMPARE(spy.count(), 1);
        QVERIFY(view.result().peakBytes > before);
    }

    void theAllocatorFieldSaysWhichFractionItShows()
    {
        PlannerView view;
        auto* spin = view.form()->findChild<QDoubleSpinBox*>(QStringLiteral("allocatorSpin"));
        QVERIFY(spin);
        core::PlanInput input = view.form()->input();
        input.method = core::TrainingMethod::Lora;
        input.gradientCheckpointing = true;
        view.form()->setInput(input);
        QVERIFY(spin->suffix().contains(QStringLiteral("simulated"))); // one GPU
        input.gpus = 2;
        view.form()->setInput(input);
        QCOMPARE(spin->value(), input.overheads.checkpointingAllocatorFraction * 100);
        QVERIFY(spin->suffix().contains(QStringLiteral("checkpointed step")));
        input.method = core::TrainingMethod::Inference;
        view.form()->setInput(input);
        QCOMPARE(spin->value(), input.overheads.allocatorFraction * 100);
        QVERIFY(spin->suffix().contains(QStringLiteral("no checkpointing")));
    }

    void aZeroSequenceIsExplainedNotUndoneAndTheLimitsAreThePlannersOwn()
    {
        PlannerView view;
        auto* seq = view.form()->findChildren<QSpinBox*>().first();
        QVERIFY(seq);
        QCOMPARE(seq->maximum(), int(core::kMaxSeqLen));
        seq->setValue(0);
        QCOMPARE(seq->value(), 0);
        QVERIFY2(view.verdictText().contains(QStringLiteral("Cannot plan")), qPrintable(view.verdictText()));
        QVERIFY(view.verdictText().contains(QStringLiteral("allowed 1 to 10000000")));
        seq->setValue(4096);
        QVERIFY(!view.verdictText().contains(QStringLiteral("Cannot plan")));
        bool batchAtLimit = false;
        for (auto* spin : view.form()->findChildren<QSpinBox*>())
            batchAtLimit = batchAtLimit || spin->maximum() == int(core::kMaxMicroBatchSize);
        QVERIFY(batchAtLimit);
    }

    void applyingASuggestionChangesTheFormAndLowersThePeak()
    {
        PlannerView view;
        core::PlanInput input = view.form()->input();
        input.model = core::findModelPreset("llama-2-13b");
        input.method = core::TrainingMethod::Full;
        input.gpu = "rtx-4090";
        input.gradientCheckpointing = false;
        view.form()->setInput(input);
        QVERIFY(!view.result().fits);
        QVERIFY(!view.currentSuggestions().empty());
        const auto first = view.currentSuggestions().front();
        auto* button = view.findChild<QPushButton*>(QStringLiteral("applySuggestion0"));
        QVERIFY(button);
        button->click();
        QCOMPARE(view.result().peakBytes, first.peakBytes);
        QVERIFY(view.result().peakBytes < core::evaluate(input).peakBytes);
    }

    void malformedConfigIsReportedAndTheModelKept()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("config.json"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("{\"model_type\": \"llama\", \"hidden_size\": 64}");
        file.close();
        PlannerView view;
        const std::string before = view.form()->input().model.name;
        QSignalSpy failed(view.form(), &ui::PlannerForm::modelFailed);
        QVERIFY(!view.form()->setModelSource(path));
        QCOMPARE(failed.count(), 1);
        const QString message = failed.front().at(1).toString();
        QVERIFY2(message.contains(QStringLiteral("config.json")), qPrintable(message));
        QCOMPARE(view.form()->input().model.name, before);
    }

    void bundledConfigJsonPlansTheExampleModel()
    {
        PlannerView view;
        QVERIFY(view.form()->setModelSource(QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/config.json")));
        QCOMPARE(view.result().totalParameters, std::uint64_t(260032));
    }

    // stories260K at 16 tokens on an H100 fits more sequences than the search tries (65,536): the
    // headline and the batch sweep's legend say "at least", not a maximum.
    void aMaximumAtTheSearchLimitReadsAtLeast()
    {
        PlannerView view;
        QVERIFY(view.form()->setModelSource(QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/config.json")));
        core::PlanInput input = view.form()->input();
        input.gpu = "h100-sxm";
        input.seqLen = 16;
        view.form()->setInput(input);
        QCOMPARE(core::maxMicroBatch(view.form()->input()), core::kMaxMicroBatchSearched);
        bool said = false;
        for (const QLabel* label : view.findChildren<QLabel*>())
            said = said
                || label->text().contains(
                    QStringLiteral("largest micro-batch that fits: 65,536 or more (the search stops there)"));
        QVERIFY(said);
        QString legend;
        for (const QAbstractSeries* series : view.batchSweepChart()->chart()->series())
            if (qobject_cast<const QScatterSeries*>(series))
                legend = series->name();
        QCOMPARE(legend, QStringLiteral("fits: ≥ 65,536"));
    }

    // The sweeps' "largest that fits" is the headline's number, also past the powers of two swept by
    // default (16,384 tokens, 64 sequences) and up to the planner's limits for a tiny model, with a
    // point past it that does not fit when there is one, and never millions of points.
    void sweepLegendsGiveTheHeadlineMaximum_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("gpu");
        QTest::newRow("qlora 8b on h100") << QStringLiteral("llama-3.1-8b") << QStringLiteral("h100-sxm");
        QTest::newRow("qlora 8b on 4090") << QStringLiteral("llama-3.1-8b") << QStringLiteral("rtx-4090");
        QTest::newRow("stories260K on 4090")
            << QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/config.json") << QStringLiteral("rtx-4090");
    }

    void sweepLegendsGiveTheHeadlineMaximum()
    {
        QFETCH(QString, model);
        QFETCH(QString, gpu);
        PlannerView view;
        core::PlanInput input = view.form()->input();
        if (model.endsWith(QStringLiteral(".json"))) {
            QVERIFY(view.form()->setModelSource(model));
            input = view.form()->input();
        } else {
            input.model = core::findModelPreset(model.toStdString());
        }
        input.method = core::TrainingMethod::Qlora;
        input.gpu = gpu.toStdString();
        view.form()->setInput(input);
        input = view.form()->input();
        const std::uint64_t capacity = core::findGpu(input.gpu).memoryBytesUsable;

        QString details;
        for (const QLabel* label : view.findChildren<QLabel*>()) {
            if (label->text().contains(QStringLiteral("longest sequence that fits")))
                details = label->text();
        }
        const std::int64_t maxima[] = {core::maxSeqLen(input), core::maxMicroBatch(input)};
        QVERIFY2(details.contains(QStringLiteral("longest sequence that fits: %1")
                                      .arg(QString::fromStdString(core::formatThousands(std::uint64_t(maxima[0]))))),
                 qPrintable(details));
        QVERIFY2(details.contains(QStringLiteral("largest micro-batch that fits: %1")
                                      .arg(QString::fromStdString(core::formatThousands(std::uint64_t(maxima[1]))))),
                 qPrintable(details));
        const ui::SweepChart* charts[] = {view.seqSweepChart(), view.batchSweepChart()};
        for (int i = 0; i < 2; ++i) {
            const ui::SweepData& data = charts[i]->data();
            QVERIFY(maxima[i] > 0);
            QCOMPARE(data.largestFitting, double(maxima[i]));
            QVERIFY(data.points.size() <= 30);
            bool onCurve = false;
            for (const QPointF& p : data.points) {
                onCurve = onCurve || p.x() == double(maxima[i]);
                if (p.x() > double(maxima[i]))
                    QVERIFY(p.y() > double(capacity)); // past the maximum: does not fit
            }
            QVERIFY(onCurve);
            QString legend;
            for (const QAbstractSeries* series : charts[i]->chart()->series()) {
                if (qobject_cast<const QScatterSeries*>(series))
                    legend = series->name();
            }
            // At most 9 short x labels (256, 1K, 1M), so that none is cut (#17: "2621… 1048…").
            bool labelled = false;
            for (QAbstractAxis* axis : charts[i]->chart()->axes(Qt::Horizontal)) {
                if (auto* categories = qobject_cast<QCategoryAxis*>(axis)) {
                    labelled = true;
                    const QStringList labels = categories->categoriesLabels();
                    QVERIFY2(!labels.isEmpty() && labels.size() <= 9, qPrintable(labels.join(QLatin1Char(' '))));
                    for (const QString& label : labels)
                        QVERIFY2(label.size() <= 4, qPrintable(label));
                }
            }
            QVERIFY(labelled);
            QCOMPARE(legend,
                     QStringLiteral("largest fit: %1")
                         .arg(QString::fromStdString(core::formatThousands(std::uint64_t(maxima[i])))));
        }
        // The 8B on an H100 fits more than the default sweeps reach: they go on past the maximum.
        if (gpu == QStringLiteral("h100-sxm")) {
            QVERIFY(maxima[0] > 16384);
            QVERIFY(view.seqSweepChart()->data().points.back().x() > double(maxima[0]));
        }
    }
};

QTEST_MAIN(TestPlannerView)
#include "tst_planner_view.moc"
