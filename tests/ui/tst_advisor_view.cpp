#include "core/advise/advisor.h"
#include "ui/charts/advisor_charts.h"
#include "ui/jobs/advisor_job.h"
#include "ui/jobs/eval_job.h"
#include "ui/models/model_session.h"
#include "ui/views/advisor_view.h"

#include <QFile>
#include <QLabel>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace quantlens;

namespace {

const QString kExample = QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model.safetensors");

} // namespace

class TestAdvisorView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void measuringOnceThenTheBudgetMovesAlongTheFrontier()
    {
        ui::ModelSession session;
        ui::AdvisorView view(&session);
        QVERIFY(session.openNow(kExample));
        QSignalSpy solved(&view, &ui::AdvisorView::solved);
        view.measure();
        QVERIFY(solved.wait(60000));
        view.setBudgetBitsPerParameter(8.0);
        QVERIFY(view.result().has_value());
        const auto small = *view.result();
        QVERIFY(small.totalBytes <= small.budgetBytes);
        QCOMPARE(view.strip()->cells().size(), qsizetype(small.assignment.size()));
        // Every tensor's cell shows the type it was given.
        for (int i = 0; i < view.strip()->cells().size(); ++i)
            QCOMPARE(view.strip()->cells()[i].scheme, QString::fromStdString(small.assignment[std::size_t(i)].scheme));
        view.setBudgetBitsPerParameter(10.0);
        const auto large = *view.result();
        QVERIFY(large.totalBytes > small.totalBytes);
        QVERIFY(large.predictedCost < small.predictedCost);
        // The comparison lists each type alone, llama.cpp's mixes and this mix.
        QStringList names;
        for (int r = 0; r < view.comparison()->rowCount(); ++r)
            names << view.comparison()->item(r, 0)->text();
        QVERIFY2(names.contains(QStringLiteral("llama.cpp Q4_K_M")), qPrintable(names.join(',')));
        QVERIFY(names.contains(QStringLiteral("this mix")));
        QVERIFY(names.contains(QStringLiteral("q8_0")));
        // A budget beyond the largest mix is clamped to it, not refused.
        view.setBudgetBitsPerParameter(40.0);
        QVERIFY(view.result().has_value());
        QCOMPARE(view.result()->totalBytes, view.result()->largestBytes);

        QTemporaryDir dir;
        QVERIFY(view.saveRecipe(dir.filePath(QStringLiteral("mix.sh"))));
        QFile script(dir.filePath(QStringLiteral("mix.sh")));
        QVERIFY(script.open(QIODevice::ReadOnly));
        QVERIFY(script.readAll().contains("llama-quantize --pure"));
        QVERIFY(!view.saveRecipe(dir.filePath(QStringLiteral("mix.json")))); // a BitsAndBytesConfig needs a bnb mix
        QVERIFY(
            view.findChild<QLabel*>(QStringLiteral("advisorStatus"))->text().contains(QStringLiteral("bitsandbytes")));
    }

    void verifyingRunsTheMixAndTheNearestTypeAlone()
    {
        ui::ModelSession session;
        ui::AdvisorView view(&session);
        QVERIFY(session.openNow(kExample));
        QSignalSpy solved(&view, &ui::AdvisorView::solved);
        view.measure();
        QVERIFY(solved.wait(60000));
        view.setBudgetBitsPerParameter(8.0);
        QSignalSpy verified(&view, &ui::AdvisorView::verified);
        view.verify();
        QVERIFY(verified.wait(60000));
        const auto& e = view.verifyJob()->result();
        QCOMPARE(e.results.size(), std::size_t(2));
        QCOMPARE(e.results[1].kind, std::string("recipe"));
        // The same mix: eval counts the 1-D norms at their stored BF16 size, the GGUF advisor at the F32
        // llama.cpp keeps them in (704 values), so the sizes differ by those bytes only.
        const double evalBytes = e.results[1].bitsPerParameter * 260032 / 8;
        QVERIFY2(std::abs(evalBytes + 704 * 2 - double(view.result()->totalBytes)) < 2.0,
                 qPrintable(QString::number(evalBytes) + " vs " + QString::number(view.result()->totalBytes)));
        QVERIFY2(view.verification().contains(QStringLiteral("this mix")), qPrintable(view.verification()));
    }

    void bitsandbytesMixesKeepModules()
    {
        ui::ModelSession session;
        ui::AdvisorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setFamily(core::AdvisorFamily::Bitsandbytes);
        view.setCandidates(QStringLiteral("nf4,fp4"));
        QSignalSpy solved(&view, &ui::AdvisorView::solved);
        view.measure();
        QVERIFY(solved.wait(60000));
        view.setBudgetBitsPerParameter(9.0);
        QVERIFY(view.result().has_value());
        QVERIFY(!view.result()->fourBitType.empty());
        QTemporaryDir dir;
        QVERIFY(view.saveRecipe(dir.filePath(QStringLiteral("bnb.json"))));
    }

    void theActivationCostRunsTheModelAndLabelsTheTable()
    {
        ui::ModelSession session;
        ui::AdvisorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setCost(core::AdvisorCostKind::Activation);
        view.setCandidates(QStringLiteral("q4_0,q8_0,fp16"));
        QSignalSpy solved(&view, &ui::AdvisorView::solved);
        view.measure();
        QVERIFY(solved.wait(60000));
        view.setBudgetBitsPerParameter(9.0);
        QVERIFY(view.result().has_value());
        QCOMPARE(view.result()->costId, std::string("activation"));
        QVERIFY(view.result()->costInput.find("seed 2") != std::string::npos);
        QCOMPARE(view.comparison()->horizontalHeaderItem(3)->text(), QStringLiteral("activation-weighted error"));
        // For a look at the measured panel: QUANTLENS_SCREENSHOT_DIR=/tmp/shots at a laptop's size and larger.
        if (const QString dir = qEnvironmentVariable("QUANTLENS_SCREENSHOT_DIR"); !dir.isEmpty()) {
            for (const QSize size : {QSize(1280, 720), QSize(1567, 800)}) {
                view.resize(size);
                view.show();
                QCoreApplication::processEvents();
                view.grab().save(QStringLiteral("%1/advisor-%2.png").arg(dir).arg(size.width()));
            }
        }
    }

    void aBadCandidateSaysWhy()
    {
        ui::ModelSession session;
        ui::AdvisorView view(&session);
        QVERIFY(session.openNow(kExample));
        view.setCandidates(QStringLiteral("q4_k,nf4"));
        QSignalSpy failed(view.job(), &ui::AdvisorJob::failed);
        view.measure();
        QVERIFY(failed.wait(60000));
        QVERIFY(view.findChild<QLabel*>(QStringLiteral("advisorStatus"))->text().contains(QStringLiteral("nf4")));
    }
};

QTEST_MAIN(TestAdvisorView)
#include "tst_advisor_view.moc"
