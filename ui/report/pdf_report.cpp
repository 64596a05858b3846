#include "ui/report/pdf_report.h"

#include <QAbstractTextDocumentLayout>
#include <QBuffer>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgRenderer>
#include <QTextBlock>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextObjectInterface>
#include <QTextTable>

#include <cmath>
#include <memory>
#include <vector>

namespace quantlens::ui {

namespace {

constexpr int kSvgObjectType = QTextFormat::UserObject + 1;
constexpr int kSvgDataProperty = QTextFormat::UserProperty + 1;
constexpr int kSvgSizeProperty = QTextFormat::UserProperty + 2;
constexpr int kDpi = 96; // layout in CSS pixels, as the HTML report
constexpr double kFooterHeight = 28;

// Draws a chart stored in the character format as SVG. Going through QSvgRenderer keeps it vector
// on a QPdfWriter; an <img> in QTextDocument would be rasterized.
class SvgTextObject : public QObject, public QTextObjectInterface {
    Q_OBJECT
    Q_INTERFACES(QTextObjectInterface)
public:
    QSizeF intrinsicSize(QTextDocument*, int, const QTextFormat& format) override
    {
        return format.property(kSvgSizeProperty).toSizeF();
    }
    void drawObject(QPainter* painter, const QRectF& rect, QTextDocument*, int, const QTextFormat& format) override
    {
        // QSvgRenderer leaves its last state on the painter; without save/restore the text that
        // follows a chart on the same page is not drawn.
        QSvgRenderer renderer(format.property(kSvgDataProperty).toByteArray());
        painter->save();
        renderer.render(painter, rect);
        painter->restore();
    }
};

// QTextDocument's stylesheet support is a subset of CSS: the table borders and alignment come from
// attributes the HTML writer adds for it, the rest from here.
constexpr const char* kDocumentStyle = R"css(
h1 { font-size: 16pt; color: #0b3d66; }
h2 { font-size: 13pt; color: #0b3d66; margin-top: 14px; }
h3 { font-size: 11pt; margin-top: 10px; }
th { background-color: #e8eef4; font-weight: bold; }
p.code { font-family: "DejaVu Sans Mono", monospace; background-color: #f2f2f2; font-size: 7.5pt; }
p.caption { font-size: 7.5pt; color: #555555; margin-bottom: 8px; }
)css";

void replaceChartPlaceholders(QTextDocument& doc, const core::ReportCharts& charts, double width)
{
    struct Placeholder {
        int position;
        int length;
        QByteArray svg;
    };
    std::vector<Placeholder> found;
    for (QTextBlock block = doc.begin(); block.isValid(); block = block.next()) {
        for (auto it = block.begin(); !it.atEnd(); ++it) {
            const QTextFragment fragment = it.fragment();
            if (!fragment.charFormat().isImageFormat())
                continue;
            const QString name = fragment.charFormat().toImageFormat().name();
            if (!name.startsWith(QLatin1String("chart:")))
                continue;
            const auto svg = charts.svg.find(name.mid(6).toStdString());
            if (svg != charts.svg.end())
                found.push_back({fragment.position(), fragment.length(), QByteArray::fromStdString(svg->second)});
        }
    }
    // Back to front, so that earlier positions stay valid.
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
        QSvgRenderer renderer(it->svg);
        const QSizeF natural = renderer.defaultSize().isEmpty() ? QSizeF(760, 360) : QSizeF(renderer.defaultSize());
        const QSizeF size(width, width * natural.height() / natural.width());
        QTextCharFormat format;
        format.setObjectType(kSvgObjectType);
        format.setProperty(kSvgDataProperty, it->svg);
        format.setProperty(kSvgSizeProperty, size);
        QTextCursor cursor(&doc);
        cursor.setPosition(it->position);
        cursor.setPosition(it->position + it->length, QTextCursor::KeepAnchor);
        cursor.insertText(QString(QChar::ObjectReplacementCharacter), format);
    }
}

// A chart that would cross a page boundary, or part from its caption, starts a new page instead of
// being cut or pushed down with a gap QTextDocument does not account for.
// True when it moved one.
bool keepChartsOnOnePage(QTextDocument& doc, double pageHeight)
{
    bool moved = false;
    for (QTextBlock block = doc.begin(); block.isValid(); block = block.next()) {
        if (!block.text().contains(QChar::ObjectReplacementCharacter))
            continue;
        QRectF r = doc.documentLayout()->blockBoundingRect(block);
        // The caption below a chart (the figure's next block) stays on its page. Only a caption: a
        // short block right under the chart. The block after a chart followed by a table (the
        // sequence sweep's) lies below the whole table; uniting with it made the chart look taller
        // than it is, and it was moved on and on, leaving its heading at the foot of a page and the
        // next page empty (#17 item 8).
        if (const QTextBlock caption = block.next(); caption.isValid() && caption.blockFormat().headingLevel() == 0
            && QTextCursor(caption).currentTable() == nullptr) {
            const QRectF c = doc.documentLayout()->blockBoundingRect(caption);
            if (c.top() <= r.bottom() + 60.0 && c.height() <= 80.0)
                r = r.united(c);
        }
        const double pageEnd = (std::floor(r.top() / pageHeight) + 1) * pageHeight;
        if (r.bottom() > pageEnd && r.height() < pageHeight) {
            QTextBlockFormat format;
            format.setPageBreakPolicy(QTextFormat::PageBreak_AlwaysBefore);
            QTextCursor(block).mergeBlockFormat(format);
            doc.markContentsDirty(0, doc.characterCount());
            moved = true;
        }
    }
    return moved;
}

// A heading, or the sentence that introduces a table, at the foot of a page with what it introduces
// on the next is moved to the next page with it, taking over the page break of the block it keeps
// with (else an empty page would part them). True when it moved one.
bool keepHeadingsWithNext(QTextDocument& doc, double pageHeight)
{
    const auto pageOf = [pageHeight](double y) { return std::floor(y / pageHeight); };
    const auto inTable = [](const QTextBlock& block) { return QTextCursor(block).currentTable() != nullptr; };
    bool moved = false;
    // What a block introduces: the next block with content (an empty block, such as the one a
    // figure opens with, does not count: the chart after it would part from the heading).
    const auto contentAfter = [&inTable](const QTextBlock& block) {
        QTextBlock next = block.next();
        while (next.isValid() && !inTable(next) && next.text().trimmed().isEmpty()
               && !next.text().contains(QChar::ObjectReplacementCharacter))
            next = next.next();
        return next;
    };
    for (QTextBlock block = doc.begin(); block.isValid(); block = block.next()) {
        const QTextBlock next = contentAfter(block);
        if (!next.isValid() || inTable(block))
            continue;
        const bool heading = block.blockFormat().headingLevel() > 0;
        if (!heading && !inTable(next))
            continue;
        // A chart's caption followed by a table is not the table's introduction: it stays with its
        // chart (keepChartsOnOnePage), and the table flows on.
        if (!heading && block.previous().isValid()
            && block.previous().text().contains(QChar::ObjectReplacementCharacter))
            continue;
        const QRectF r = doc.documentLayout()->blockBoundingRect(block);
        const QRectF n = doc.documentLayout()->blockBoundingRect(next);
        const bool nextBreaks = next.blockFormat().pageBreakPolicy() & QTextFormat::PageBreak_AlwaysBefore;
        const bool apart = nextBreaks || pageOf(n.top() + std::min(n.height(), 24.0) - 0.5) > pageOf(r.top());
        // Within a heading's top margin (14 px at most) of the page's top: already as high as it goes.
        const bool atPageTop = r.top() - pageOf(r.top()) * pageHeight < 24.0;
        if (!apart || atPageTop)
            continue;
        QTextBlockFormat breakBefore;
        breakBefore.setPageBreakPolicy(QTextFormat::PageBreak_AlwaysBefore);
        QTextCursor(block).mergeBlockFormat(breakBefore);
        if (nextBreaks) {
            QTextBlockFormat flow = next.blockFormat();
            flow.setPageBreakPolicy(QTextFormat::PageBreak_Auto);
            QTextCursor(next).setBlockFormat(flow);
        }
        doc.markContentsDirty(0, doc.characterCount());
        moved = true;
    }
    return moved;
}

} // namespace

QByteArray pdfReport(const core::ReportData& data, const core::ReportCharts& charts,
                     const core::ReportSections& sections)
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter writer(&buffer);
        writer.setPageSize(QPageSize(QPageSize::A4));
        writer.setPageMargins(QMarginsF(15, 15, 15, 12), QPageLayout::Millimeter);
        writer.setResolution(kDpi);
        writer.setTitle(QString::fromStdString(data.title));
        writer.setCreator(QStringLiteral("QuantLens"));
        const QRectF page = writer.pageLayout().paintRectPixels(kDpi);
        const QSizeF bodySize(page.width(), page.height() - kFooterHeight);

        QTextDocument doc;
        doc.documentLayout()->setPaintDevice(&writer);
        SvgTextObject svgObject;
        doc.documentLayout()->registerHandler(kSvgObjectType, &svgObject);
        QFont font(QStringLiteral("DejaVu Sans"));
        font.setPointSizeF(8.5);
        doc.setDefaultFont(font);
        doc.setDefaultStyleSheet(QString::fromLatin1(kDocumentStyle));
        doc.setDocumentMargin(0);
        doc.setPageSize(bodySize);
        QTextOption wrap = doc.defaultTextOption();
        wrap.setWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
        doc.setDefaultTextOption(wrap);
        core::HtmlReportOptions options;
        options.inlineCharts = false;
        doc.setHtml(QString::fromStdString(core::htmlReport(data, charts, sections, options)));
        replaceChartPlaceholders(doc, charts, bodySize.width() * 0.92);
        // Editing after setHtml relays out only part of the document; blocks after the last edit kept a
        // zero height and were never drawn. Lay everything out again before measuring pages.
        doc.markContentsDirty(0, doc.characterCount());
        // Each move shifts what follows: a chart that fitted may now cross a page, a heading may now
        // end one. Both rules again until neither moves anything (a few passes; 8 at most).
        for (int pass = 0; pass < 8; ++pass) {
            const bool charts = keepChartsOnOnePage(doc, bodySize.height());
            const bool headings = keepHeadingsWithNext(doc, bodySize.height());
            if (!charts && !headings)
                break;
        }
        doc.markContentsDirty(0, doc.characterCount());

        QPainter painter(&writer);
        const int pages = doc.pageCount();
        QFont footerFont = font;
        footerFont.setPointSizeF(7.5);
        for (int i = 0; i < pages; ++i) {
            if (i > 0)
                writer.newPage();
            painter.save();
            painter.translate(0, -i * bodySize.height());
            QAbstractTextDocumentLayout::PaintContext context;
            context.clip = QRectF(0, i * bodySize.height(), bodySize.width(), bodySize.height());
            painter.setClipRect(context.clip);
            doc.documentLayout()->draw(&painter, context);
            painter.restore();
            painter.setFont(footerFont);
            painter.setPen(QColor(0x55, 0x55, 0x55));
            const QRectF footer(0, page.height() - kFooterHeight + 8, page.width(), kFooterHeight - 8);
            painter.drawLine(QPointF(0, footer.top() - 4), QPointF(page.width(), footer.top() - 4));
            painter.drawText(footer, Qt::AlignLeft | Qt::AlignVCenter, QString::fromStdString(data.title));
            painter.drawText(footer, Qt::AlignRight | Qt::AlignVCenter,
                             QStringLiteral("Page %1 of %2").arg(i + 1).arg(pages));
        }
    }
    return buffer.data();
}

} // namespace quantlens::ui

#include "pdf_report.moc"
