// Every workspace at 1280 x 720 and at the default 1280 x 800, at work (the example scanned, evaluated, advised,
// benchmarked): no number in a table is elided, no header or label is cut, and no chart text is shortened (#17: "0…"
// for 0.03246, "MSE · n", "usable cap…", "(0.10 …", axis labels "1048…"). The check is generic, so that a new view is
// held to it without a test of its own.
#include "ui/application.h"
#include "ui/main_window.h"

#include <QAbstractItemView>
#include <QAbstractSpinBox>
#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QGraphicsItem>
#include <QGraphicsScene>
#include <QHeaderView>
#include <QLabel>
#include <QRegularExpression>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

namespace {

bool shown(const QWidget* w)
{
    return w->isVisible() && w->width() > 0 && w->height() > 0;
}

// Where `w` sits in the window, for the failure message.
QString path(const QWidget* w)
{
    QStringList names;
    for (const QObject* o = w; o; o = o->parent())
        if (!o->objectName().isEmpty())
            names.prepend(o->objectName());
    return names.join(QLatin1Char('/')) + QStringLiteral(" (") + QString::fromLatin1(w->metaObject()->className())
        + QLatin1Char(')');
}

// Cells that read as a number: a digit, sign or decimal point first ("0.03246", "-1.2e-3", "35 of 47",
// "507.88 KiB", "12.5 %").
bool numeric(const QString& text)
{
    static const QRegularExpression number(QStringLiteral("^[-+−]?[0-9.]"));
    return number.match(text).hasMatch();
}

// Cells of a table whose text is wider than the room Qt's item delegate gives it (the column less the
// focus-frame margins on each side): the delegate elides those.
QStringList elidedCells(const QTableView* table)
{
    QStringList out;
    const auto* model = table->model();
    if (!model)
        return out;
    const int margin = table->style()->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, table) + 1;
    const int rows = std::min(model->rowCount(), 300);
    for (int c = 0; c < model->columnCount(); ++c) {
        if (table->isColumnHidden(c) || table->columnWidth(c) <= 0)
            continue;
        const int room = table->columnWidth(c) - 2 * margin;
        for (int r = 0; r < rows; ++r) {
            const QModelIndex index = model->index(r, c);
            const QString text = index.data(Qt::DisplayRole).toString();
            if (text.isEmpty() || !numeric(text))
                continue;
            QFont font = table->font();
            if (const QVariant f = index.data(Qt::FontRole); f.isValid())
                font = f.value<QFont>();
            const int needed = QFontMetrics(font).horizontalAdvance(text);
            if (needed > room)
                out << QStringLiteral("%1 row %2 column %3: '%4' needs %5 px, has %6")
                           .arg(path(table))
                           .arg(r)
                           .arg(c)
                           .arg(text)
                           .arg(needed)
                           .arg(room);
        }
        // A column's header is not cut either: "MSE · n" for "RMSE · nf4". The header draws its text
        // between margins, beside the sort arrow on the sorted section.
        const QHeaderView* header = table->horizontalHeader();
        if (!header->isHidden() && header->sectionResizeMode(c) != QHeaderView::Stretch) {
            const QString title = model->headerData(c, Qt::Horizontal).toString();
            const int headerMargin = header->style()->pixelMetric(QStyle::PM_HeaderMargin, nullptr, header);
            int needed = header->fontMetrics().horizontalAdvance(title) + 2 * headerMargin;
            if (header->isSortIndicatorShown() && header->sortIndicatorSection() == c)
                needed += header->style()->pixelMetric(QStyle::PM_HeaderMarkSize, nullptr, header) + headerMargin;
            if (needed > header->sectionSize(c))
                out << QStringLiteral("%1 header of column %2 ('%3') needs %4 px, has %5")
                           .arg(path(table))
                           .arg(c)
                           .arg(title)
                           .arg(needed)
                           .arg(header->sectionSize(c));
        }
    }
    return out;
}

// A label that does not wrap is cut when it is narrower than its text.
QStringList cutLabels(const QWidget* root)
{
    QStringList out;
    for (const QLabel* label : root->findChildren<QLabel*>()) {
        if (!shown(label) || label->wordWrap() || label->text().isEmpty() || label->pixmap().cacheKey() != 0)
            continue;
        if (label->sizeHint().width() > label->width() + 1)
            out << QStringLiteral("%1 '%2' needs %3 px, has %4")
                       .arg(path(label), label->text().left(60))
                       .arg(label->sizeHint().width())
                       .arg(label->width());
    }
    return out;
}

// A spin box narrower than its longest value ("16 bit" cut to "16 b"), or crushed below its height.
QStringList cutSpinBoxes(const QWidget* root)
{
    QStringList out;
    for (const QAbstractSpinBox* spin : root->findChildren<QAbstractSpinBox*>()) {
        const QSize least = spin->minimumSizeHint();
        if (shown(spin) && (least.width() > spin->width() + 1 || least.height() > spin->height() + 1))
            out << QStringLiteral("%1 '%2' needs %3 x %4 px, has %5 x %6")
                       .arg(path(spin), spin->text())
                       .arg(least.width())
                       .arg(least.height())
                       .arg(spin->width())
                       .arg(spin->height());
    }
    return out;
}

// Qt Charts shortens a legend entry, an axis label or a title that does not fit its room to "…"
// ("usable cap...", "1048..."): any such text drawn in a chart is cut.
QStringList cutChartTexts(const QWidget* root)
{
    QStringList out;
    for (const QChartView* view : root->findChildren<QChartView*>()) {
        if (!shown(view) || !view->scene())
            continue;
        for (const QGraphicsItem* item : view->scene()->items()) {
            if (!item->isVisible())
                continue;
            QString text;
            if (const auto* rich = dynamic_cast<const QGraphicsTextItem*>(item))
                text = rich->toPlainText();
            else if (const auto* simple = dynamic_cast<const QGraphicsSimpleTextItem*>(item))
                text = simple->text();
            if (text.endsWith(QStringLiteral("...")) || text.contains(QChar(0x2026)))
                out << QStringLiteral("%1 '%2': '%3' is cut").arg(path(view), view->chart()->title(), text);
        }
    }
    return out;
}

// Every check above, on what `page` shows now.
QStringList problemsOf(const QWidget* page)
{
    QStringList problems;
    for (const QTableView* table : page->findChildren<QTableView*>())
        if (shown(table))
            problems << elidedCells(table);
    problems << cutLabels(page) << cutSpinBoxes(page) << cutChartTexts(page);
    return problems;
}

} // namespace

class TestLaptopLayout : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { quantlens::ui::initializeApplication(*qApp); }

    // A laptop's 1280 x 720, and the window's default size.
    void nothingIsCut_data()
    {
        QTest::addColumn<QString>("workspace");
        QTest::addColumn<QSize>("size");
        for (const QSize size : {QSize(1280, 720), QSize(1280, 800)})
            for (const char* id : {"planner", "inspector", "lab", "bench", "quality", "advisor"})
                QTest::addRow("%s %dx%d", id, size.width(), size.height()) << QString::fromLatin1(id) << size;
    }

    void nothingIsCut()
    {
        QFETCH(QString, workspace);
        QFETCH(QSize, size);
        if (!window) // one window for every row, as a user goes from workspace to workspace
            window.reset(quantlens::ui::createMainWindow(
                QStringLiteral(QUANTLENS_TEST_DATA_DIR "/stories260K/model.safetensors")));
        // Runs the workspace's work first (scan, eval, advice, a small benchmark), as the screenshots do.
        quantlens::ui::renderScreenshots(*window, shots.path(), {workspace}, size);
        QCOMPARE(window->size(), size);
        window->showWorkspace(workspace);
        QApplication::processEvents();
        QWidget* page = window->workspace(workspace);
        QStringList problems = problemsOf(page);
        // Every tab of the page too (the Planner's breakdown and teaching tables, the Lab's block browser).
        for (QTabWidget* tabs : page->findChildren<QTabWidget*>()) {
            const int current = tabs->currentIndex();
            for (int i = 0; i < tabs->count(); ++i) {
                if (i == current || !tabs->isTabEnabled(i))
                    continue;
                tabs->setCurrentIndex(i);
                QTest::qWait(100); // laid out

                problems << problemsOf(tabs->widget(i));
            }
            tabs->setCurrentIndex(current);
        }
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    }

    void cleanupTestCase() { window.reset(); }

private:
    std::unique_ptr<quantlens::ui::MainWindow> window;
    QTemporaryDir shots;
};

QTEST_MAIN(TestLaptopLayout)
#include "tst_laptop_layout.moc"
