#include "ui/views/totals_table.h"

#include "core/util/units.h"

#include <QHeaderView>
#include <QLocale>

#include <map>

namespace quantlens::ui {

namespace {

struct Totals {
    std::uint64_t parameters = 0;
    std::uint64_t bytes = 0;
    int tensors = 0;
};

QString latin(std::string_view s)
{
    return QString::fromLatin1(s.data(), qsizetype(s.size()));
}

} // namespace

TotalsTable::TotalsTable(QWidget* parent)
    : QTableWidget(parent)
{
    setColumnCount(4);
    setHorizontalHeaderLabels({tr("Group"), tr("Tensors"), tr("Parameters"), tr("Size")});
    verticalHeader()->hide();
    horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    horizontalHeader()->setStretchLastSection(true);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setSelectionMode(QAbstractItemView::NoSelection);
    setObjectName(QStringLiteral("totalsTable"));
}

void TotalsTable::setTensors(const std::vector<core::TensorInfo>& tensors)
{
    std::map<QString, Totals> byRole;
    std::map<QString, Totals> byType;
    Totals all;
    for (const auto& t : tensors) {
        for (auto* totals : {&byRole[tr("role: ") + latin(core::roleName(t.role))],
                             &byType[tr("dtype: ") + latin(core::dtypeName(t.dtype))], &all}) {
            totals->parameters += t.elementCount();
            totals->bytes += t.byteSize;
            totals->tensors += 1;
        }
    }
    setRowCount(0);
    auto addRow = [this](const QString& name, const Totals& totals, bool bold) {
        const int row = rowCount();
        insertRow(row);
        const QStringList cells {name, QString::number(totals.tensors),
                                 QLocale().toString(qulonglong(totals.parameters)),
                                 QString::fromStdString(core::formatBinaryBytes(double(totals.bytes)))};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (c > 0)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (bold) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
            }
            setItem(row, c, item);
        }
    };
    addRow(tr("all tensors"), all, true);
    for (const auto& [name, totals] : byRole)
        addRow(name, totals, false);
    for (const auto& [name, totals] : byType)
        addRow(name, totals, false);
    resizeRowsToContents();
}

} // namespace quantlens::ui
