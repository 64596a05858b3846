#include "ui/charts/quality_charts.h"
#include "ui/jobs/eval_job.h"
#include "ui/models/model_session.h"
#include "ui/views/quality_view.h"

#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QtTest>

using namespace quantlens;

namespace {

const QString kExample = QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model.safetensors");

} // namespace

class TestQualityView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void aRunFillsTheTableTheChartsAndTheCommandLine()
    {
        ui::ModelSession session;
        ui::QualityView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSchemes(QStringLiteral("nf4, q8_0"));
        view.setSampling(2, 32, 3);
        view.setSensitivity(QStringLiteral("layer"));
        view.addCompareFile(QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/gguf/stories260K-q8_0.gguf"));
        QSignalSpy finished(&view, &ui::QualityView::evalFinished);
        view.startEval();
        QVERIFY(finished.wait(60000));
        QCOMPARE(view.table()->rowCount(), 3);
        QCOMPARE(view.table()->item(0, 0)->text(), QStringLiteral("nf4"));
        QCOMPARE(view.table()->item(2, 0)->text(), QStringLiteral("stories260K-q8_0.gguf"));
        QVERIFY(view.table()->item(0, 0)->toolTip().contains(QStringLiteral("Linear")));
        QCOMPARE(view.sizeChart()->points().size(), 3);
        QVERIFY(view.sizeChart()->points()[1].klMean < view.sizeChart()->points()[0].klMean); // q8_0 below nf4
        QCOMPARE(view.sensitivityChart()->bars().size(), 5);
        QCOMPARE(view.sensitivityChart()->bars()[0].group, QStringLiteral("layer 0"));
        const QString command = view.commandLine();
        QVERIFY2(command.startsWith(QStringLiteral("quantlens-cli eval ")), qPrintable(command));
        QVERIFY2(command.contains(QStringLiteral("--scheme nf4,q8_0 --compare ")), qPrintable(command));
        QVERIFY2(command.contains(QStringLiteral("--sensitivity layer --sample 2 --length 32 --seed 3")),
                 qPrintable(command));
        // The job's numbers are what the table shows.
        const auto& r = view.job()->result();
        QCOMPARE(view.table()->item(1, 2)->text(), QString::asprintf("%.4f", r.results[1].perplexity));
    }

    void cancelStopsTheRunAndKeepsTheButtonsUsable()
    {
        ui::ModelSession session;
        ui::QualityView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSchemes(QStringLiteral("nf4,fp4,q4_0,q8_0,int8"));
        view.setSampling(64, 512, 1);
        QSignalSpy cancelled(view.job(), &ui::EvalJob::evalCancelled);
        view.startEval();
        QVERIFY(view.job()->isRunning());
        view.cancelEval();
        QVERIFY(cancelled.wait(30000));
        QCOMPARE(view.table()->rowCount(), 0);
        QVERIFY(view.findChild<QPushButton*>(QStringLiteral("qualityRun"))->isEnabled());
    }

    void textGoesThroughTheModelsTokenizer()
    {
        ui::ModelSession session;
        ui::QualityView view(&session);
        QVERIFY(session.openNow(QStringLiteral(QUANTLENS_TEST_DATA_DIR "/tokenizers/gguf/stories260K-spm.gguf")));
        view.setSchemes(QStringLiteral("q8_0"));
        view.setTextFile(QStringLiteral(QUANTLENS_TEST_DATA_DIR "/tokenizers/train.txt"), 64, 3);
        QSignalSpy finished(&view, &ui::QualityView::evalFinished);
        view.startEval();
        QVERIFY(finished.wait(60000));
        QCOMPARE(view.job()->result().sequences, quint64(3));
        QVERIFY(QString::fromStdString(view.job()->result().input).contains(QStringLiteral("train.txt")));
        QVERIFY2(view.commandLine().contains(QStringLiteral("--length 64 --sample 3")), qPrintable(view.commandLine()));
        QVERIFY(view.reportArguments().contains(QStringLiteral("--eval-text")));
    }

    void fitsALaptopScreen()
    {
        // 1280 x 720 less the sidebar (at most 200 px), the menu and status bars and the frame.
        ui::ModelSession session;
        ui::QualityView view(&session);
        QVERIFY(session.openNow(kExample));
        const QSize minimum = view.minimumSizeHint();
        QVERIFY2(minimum.width() <= 1060 && minimum.height() <= 640,
                 qPrintable(QStringLiteral("%1 x %2").arg(minimum.width()).arg(minimum.height())));
        view.resize(1060, 640);
        view.setSchemes(QStringLiteral("nf4,q8_0"));
        view.setSampling(2, 32, 1);
        view.setSensitivity(QStringLiteral("layer"));
        QSignalSpy finished(&view, &ui::QualityView::evalFinished);
        view.startEval();
        QVERIFY(finished.wait(60000));
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        if (qEnvironmentVariableIsSet("QUANTLENS_SAVE_GRABS"))
            view.grab().save(QStringLiteral("/tmp/quality-1060x640.png"));
        // Every number in the table shows whole.
        for (int column = 1; column < view.table()->columnCount(); ++column) {
            const QString text = view.table()->item(0, column)->text();
            const int needed = view.table()->fontMetrics().horizontalAdvance(text);
            QVERIFY2(view.table()->columnWidth(column) >= needed, qPrintable(text));
        }
    }

    void aModelItCannotRunSaysWhy()
    {
        ui::ModelSession session;
        ui::QualityView view(&session);
        QVERIFY(session.openNow(QStringLiteral(QUANTLENS_TEST_DATA_DIR "/synthetic/normal.safetensors")));
        QVERIFY(!view.findChild<QPushButton*>(QStringLiteral("qualityRun"))->isEnabled());
        const QString status = view.findChild<QLabel*>(QStringLiteral("qualityStatus"))->text();
        QVERIFY2(status.contains(QStringLiteral("config.json")), qPrintable(status));
    }

    void aBadSchemeIsRefusedBeforeRunning()
    {
        ui::ModelSession session;
        ui::QualityView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setSchemes(QStringLiteral("nf5"));
        view.startEval();
        QVERIFY(!view.job()->isRunning());
        const QString status = view.findChild<QLabel*>(QStringLiteral("qualityStatus"))->text();
        QVERIFY2(status.contains(QStringLiteral("nf5")), qPrintable(status));
    }
};

QTEST_MAIN(TestQualityView)
#include "tst_quality_view.moc"
