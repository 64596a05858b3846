#include "core/planner/planner.h"
#include "ui/charts/breakdown_chart.h"
#include "ui/views/planner_form.h"
#include "ui/views/planner_view.h"

#include <QComboBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

using namespace quantlens;
using quantlens::ui::PlannerView;

class TestPlannerView : public QObject {
    Q_OBJECT
private Q_SLOTS:
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
};

QTEST_MAIN(TestPlannerView)
#include "tst_planner_view.moc"
