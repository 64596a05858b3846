#include "../core/report_fixture.h"

#include "core/util/error.h"
#include "core/util/units.h"
#include "ui/report/export_report_dialog.h"
#include "ui/report/report_charts.h"
#include "ui/report/report_exporter.h"

#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>

using namespace quantlens;

namespace {

QString readAll(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.readAll());
}

// Runs a poppler tool; empty when it failed.
QString runTool(const QString& tool, const QStringList& args)
{
    QProcess process;
    process.start(tool, args);
    if (!process.waitForFinished(60000) || process.exitCode() != 0)
        return {};
    return QString::fromUtf8(process.readAllStandardOutput());
}

QString peakText(const core::ReportData& data)
{
    return QString::fromStdString(core::formatGB(double(data.plans[0].result.peakBytes)));
}

} // namespace

class TestReportExport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void chartsAreVectorSvgFromTheAppsChartClasses()
    {
        const auto charts = ui::renderReportCharts(reportfixture::reportFixture());
        QVERIFY(charts.svg.count("breakdown/0") == 1);
        QVERIFY(charts.svg.count("sweep/0") == 1);
        QVERIFY(charts.svg.count("errors/0") == 1);
        const QString svg = QString::fromStdString(charts.svg.at("breakdown/0"));
        QVERIFY(svg.contains(QLatin1String("<svg")));
        QVERIFY2(!svg.contains(QLatin1String("<image")), "bars and text are vectors, not an embedded bitmap");
        // The whole title, not cut off with an ellipsis (the peak's phase made it too long).
        const auto data = reportfixture::reportFixture();
        QVERIFY2(svg.contains(QStringLiteral("Peak GPU memory per GPU: %1")
                                  .arg(QString::fromStdString(core::formatGB(double(data.plans[0].result.peakBytes))))),
                 qPrintable(svg.left(2000)));
    }

    void htmlIsWellFormedXhtmlWithTheCoreNumbersAndNoScript()
    {
        QTemporaryDir dir;
        const auto data = reportfixture::reportFixture();
        const QString path = dir.filePath(QStringLiteral("report.html"));
        ui::exportReport(data, path);
        const QString html = readAll(path);
        QXmlStreamReader xml(html);
        int svgs = 0;
        while (!xml.atEnd()) {
            xml.readNext();
            if (xml.isStartElement()) {
                QVERIFY2(xml.name() != QLatin1String("script"), "a tensor name became a script element");
                if (xml.name() == QLatin1String("svg"))
                    ++svgs;
            }
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString() + QStringLiteral(" at line %1").arg(xml.lineNumber())));
        QCOMPARE(svgs, 4); // breakdown, sweep, one error chart per scheme
        QVERIFY(html.contains(peakText(data)));
        QVERIFY(html.contains(QLatin1String("&lt;script&gt;alert(1)&lt;/script&gt;")));
    }

    void pdfHasNumberedPagesTheKeyNumbersAndRenders()
    {
        const QString pdfinfo = QStandardPaths::findExecutable(QStringLiteral("pdfinfo"));
        const QString pdftotext = QStandardPaths::findExecutable(QStringLiteral("pdftotext"));
        const QString pdftoppm = QStandardPaths::findExecutable(QStringLiteral("pdftoppm"));
        if (pdfinfo.isEmpty() || pdftotext.isEmpty() || pdftoppm.isEmpty())
            QSKIP("poppler-utils (pdfinfo, pdftotext, pdftoppm) not installed: install it to check the PDF");
        QTemporaryDir dir;
        const auto data = reportfixture::reportFixture();
        const QString path = dir.filePath(QStringLiteral("report.pdf"));
        ui::exportReport(data, path);

        const QString info = runTool(pdfinfo, {path});
        const QRegularExpression pagesLine(QStringLiteral("Pages:\\s+(\\d+)"));
        const auto match = pagesLine.match(info);
        QVERIFY2(match.hasMatch(), qPrintable(info));
        const int pages = match.captured(1).toInt();
        QVERIFY2(pages >= 3 && pages <= 8, qPrintable(QStringLiteral("%1 pages").arg(pages)));
        QVERIFY(info.contains(QLatin1String("A4")));

        const QString text = runTool(pdftotext, {path, QStringLiteral("-")});
        QVERIFY(text.contains(QStringLiteral("Page 1 of %1").arg(pages)));
        QVERIFY(text.contains(QStringLiteral("Page %1 of %1").arg(pages)));
        QVERIFY(text.contains(peakText(data)));
        QVERIFY(text.contains(QLatin1String("<script>alert(1)</script>")));
        QVERIFY(text.contains(QLatin1String("Teaching table")));
        // Every paragraph after the charts and the page-crossing tables is drawn (QTextDocument once
        // left them with no height after the charts were inserted).
        for (const char* line : {"Relative error by layer under int8", "Per layer under nf4", "Per layer under int8",
                                 "Environment", "Fixture CPU"})
            QVERIFY2(text.contains(QLatin1String(line)), line);
        // Vector charts: the PDF embeds no bitmap at all.
        const QString pdfimages = QStandardPaths::findExecutable(QStringLiteral("pdfimages"));
        if (!pdfimages.isEmpty()) {
            const QStringList images
                = runTool(pdfimages, {QStringLiteral("-list"), path}).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
            QCOMPARE(images.size(), 2); // the two header lines of the listing
        }

        runTool(pdftoppm,
                {QStringLiteral("-r"), QStringLiteral("30"), QStringLiteral("-png"), QStringLiteral("-f"),
                 QStringLiteral("1"), QStringLiteral("-l"), QStringLiteral("1"), path,
                 dir.filePath(QStringLiteral("page"))});
        const QStringList pngs = QDir(dir.path()).entryList({QStringLiteral("page*.png")});
        QCOMPARE(pngs.size(), 1);
        QVERIFY(QFileInfo(dir.filePath(pngs.first())).size() > 1000);
    }

    void csvWritesBothTablesAndRefusesToReplaceWithoutForce()
    {
        QTemporaryDir dir;
        const auto data = reportfixture::reportFixture();
        const QString path = dir.filePath(QStringLiteral("report.csv"));
        const QStringList files = ui::reportOutputFiles(data, path);
        QCOMPARE(files, QStringList({path, dir.filePath(QStringLiteral("report-planner.csv"))}));
        ui::exportReport(data, path);
        QVERIFY(readAll(files[0]).startsWith(QLatin1String("tensor,scheme,")));
        QVERIFY(readAll(files[1]).startsWith(QLatin1String("scenario,component,")));
        QFile::remove(files[0]);
        try {
            ui::exportReport(data, path);
            QFAIL("replaced report-planner.csv without force");
        } catch (const UsageError& e) {
            QVERIFY(QString::fromStdString(e.what()).contains(QLatin1String("report-planner.csv exists")));
        }
        QVERIFY2(!QFile::exists(files[0]), "nothing is written when one of the two files is refused");
        ui::ReportOptions force;
        force.force = true;
        ui::exportReport(data, path, force);
        QVERIFY(QFile::exists(files[0]));
    }

    void dialogPreviewFollowsTheSectionsAndExports()
    {
        QTemporaryDir dir;
        ui::ExportReportDialog dialog(reportfixture::reportFixture());
        dialog.setPath(dir.filePath(QStringLiteral("report.md")));
        QVERIFY(dialog.previewText().contains(QLatin1String("Teaching table")));
        auto boxes = dialog.findChildren<QCheckBox*>();
        QCheckBox* teaching = nullptr;
        for (auto* box : boxes) {
            if (box->text() == QLatin1String("Teaching table"))
                teaching = box;
        }
        QVERIFY(teaching);
        teaching->setChecked(false);
        QVERIFY(!dialog.previewText().contains(QLatin1String("Teaching table")));
        QVERIFY(!dialog.options().sections.teaching);
        QVERIFY(dialog.exportNow());
        const QString md = readAll(dir.filePath(QStringLiteral("report.md")));
        QVERIFY(md.contains(QLatin1String("Memory plan")));
        QVERIFY(!md.contains(QLatin1String("Teaching table")));
        // The regenerating command writes the file chosen here, not a fixed report.html.
        QVERIFY2(md.contains(QLatin1String("--no-teaching")), qPrintable(md)); // the section left out
        // (The line may wrap between the two words.)
        QVERIFY2(
            md.contains(QRegularExpression(QStringLiteral("-o[\\s\\\\]+")
                                           + QRegularExpression::escape(dir.filePath(QStringLiteral("report.md"))))),
            qPrintable(md));

        dialog.setPath(dir.filePath(QStringLiteral("report.html")));
        QVERIFY(dialog.previewText().contains(QLatin1String("<script>alert(1)</script>")));

        // The next dialog starts in the folder (and format) of the last export.
        ui::ExportReportDialog next(reportfixture::reportFixture());
        QCOMPARE(next.path(), QDir(dir.path()).filePath(QStringLiteral("quantlens-report.md")));
    }
};

QTEST_MAIN(TestReportExport)
#include "tst_report_export.moc"
