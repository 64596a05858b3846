#include "ui/views/teaching_table_view.h"

#include "core/planner/model_spec.h"
#include "core/util/units.h"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

namespace quantlens::ui {

namespace {

QString gb(double bytes)
{
    return QString::fromStdString(core::formatGB(bytes, 2));
}

QDoubleSpinBox* bitsBox(double value, QWidget* parent)
{
    auto* box = new QDoubleSpinBox(parent);
    box->setRange(1, 64);
    box->setDecimals(0);
    box->setSuffix(QObject::tr(" bit"));
    box->setValue(value);
    return box;
}

} // namespace

TeachingTableView::TeachingTableView(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("teachingTable"));
    m_parameters = new QLineEdit(QStringLiteral("7B"), this);
    m_parameters->setToolTip(tr("Parameter count, e.g. 7B, 70e9 or 6738415616"));
    const core::TeachingSetup base = core::teachingBaseline();
    const core::TeachingSetup quant = core::teachingQuantized();
    const QStringList names {tr("Parameters"), tr("Gradients"), tr("Optimizer states (each)"), tr("Activations")};
    const double baseBits[] = {base.weightBits, base.gradientBits, base.optimizerBits, base.activationBits};
    const double quantBits[] = {quant.weightBits, quant.gradientBits, quant.optimizerBits, quant.activationBits};
    auto* bitsGrid = new QGridLayout;
    bitsGrid->addWidget(new QLabel(tr("<b>16-bit setup</b>"), this), 0, 1);
    bitsGrid->addWidget(new QLabel(tr("<b>Quantized setup</b>"), this), 0, 2);
    for (int i = 0; i < 4; ++i) {
        bitsGrid->addWidget(new QLabel(names[i], this), i + 1, 0);
        m_baselineBits << bitsBox(baseBits[i], this);
        m_quantizedBits << bitsBox(quantBits[i], this);
        m_baselineBits.back()->setToolTip(tr("Bits per value of %1 in the first column").arg(names[i].toLower()));
        m_quantizedBits.back()->setToolTip(tr("Bits per value of %1 in the second column").arg(names[i].toLower()));
        bitsGrid->addWidget(m_baselineBits.back(), i + 1, 1);
        bitsGrid->addWidget(m_quantizedBits.back(), i + 1, 2);
    }
    m_baselineStates = new QSpinBox(this);
    m_quantizedStates = new QSpinBox(this);
    for (QSpinBox* s : {m_baselineStates, m_quantizedStates}) {
        s->setRange(0, 4);
        s->setToolTip(tr("Number of optimizer states per parameter (Adam keeps 2: m and v)"));
    }
    m_baselineStates->setValue(base.optimizerStates);
    m_quantizedStates->setValue(quant.optimizerStates);
    bitsGrid->addWidget(new QLabel(tr("Optimizer states"), this), 5, 0);
    bitsGrid->addWidget(m_baselineStates, 5, 1);
    bitsGrid->addWidget(m_quantizedStates, 5, 2);

    m_grid = new QTableWidget(5, 2, this);
    m_grid->setHorizontalHeaderLabels({tr("16-bit setup"), tr("quantized setup")});
    m_grid->setVerticalHeaderLabels(
        {tr("parameters"), tr("gradients"), tr("optimizer states"), tr("activations"), tr("total")});
    // Columns as wide as their sums ("2 × 7.00 B × 32 bit = 56.00 GB"), the last taking what is left;
    // all five rows shown, without a scroll bar.
    m_grid->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_grid->horizontalHeader()->setStretchLastSection(true);
    m_grid->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_grid->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_grid->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    m_grid->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_error = new QLabel(this);
    m_error->setStyleSheet(QStringLiteral("color: #c00000"));
    m_realistic = new QLabel(this);
    m_realistic->setWordWrap(true);
    m_realistic->setObjectName(QStringLiteral("teachingRealistic"));
    m_why = new QLabel(this);
    m_why->setWordWrap(true);

    auto* inputs = new QGroupBox(tr("Course assumptions (activations assumed as large as the parameters)"), this);
    auto* inputLayout = new QFormLayout(inputs);
    inputLayout->addRow(tr("Parameter count"), m_parameters);
    inputLayout->addRow(bitsGrid);

    // One column: side by side, the inputs and the table shared about 640 px at 1280 x 720 and the
    // table's sums were cut to "7. 0..." (#17 item 4). The Planner's page scrolls.
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(inputs);
    layout->addWidget(m_grid);
    layout->addWidget(m_error);
    layout->addWidget(m_realistic);
    layout->addWidget(m_why);
    layout->addStretch();

    connect(m_parameters, &QLineEdit::editingFinished, this, &TeachingTableView::recompute);
    for (QDoubleSpinBox* b : m_baselineBits + m_quantizedBits)
        connect(b, &QDoubleSpinBox::valueChanged, this, &TeachingTableView::recompute);
    for (QSpinBox* s : {m_baselineStates, m_quantizedStates})
        connect(s, &QSpinBox::valueChanged, this, &TeachingTableView::recompute);
    recompute();
}

void TeachingTableView::setParameters(std::uint64_t parameters)
{
    m_parameters->setText(QString::number(parameters));
    recompute();
}

void TeachingTableView::recompute()
{
    auto setup = [](const QList<QDoubleSpinBox*>& bits, const QSpinBox* states) {
        core::TeachingSetup s;
        s.weightBits = bits[0]->value();
        s.gradientBits = bits[1]->value();
        s.optimizerBits = bits[2]->value();
        s.activationBits = bits[3]->value();
        s.optimizerStates = states->value();
        return s;
    };
    try {
        const std::uint64_t parameters = core::parseParameterCount(m_parameters->text().trimmed().toStdString());
        m_table = core::teachingTable(parameters, setup(m_baselineBits, m_baselineStates),
                                      setup(m_quantizedBits, m_quantizedStates));
        m_error->clear();
    } catch (const std::exception& e) {
        m_error->setText(QString::fromStdString(e.what()));
        return;
    }
    const core::TeachingColumn* columns[] = {&m_table.baseline, &m_table.quantized};
    for (int c = 0; c < 2; ++c) {
        const core::TeachingColumn& col = *columns[c];
        const core::TeachingSetup& s = col.setup;
        const QString n = QString::fromStdString(core::formatCount(double(m_table.parameters)));
        const QStringList cells {
            tr("%1 × %2 bit = %3").arg(n).arg(s.weightBits).arg(gb(col.weightsBytes)),
            tr("%1 × %2 bit = %3").arg(n).arg(s.gradientBits).arg(gb(col.gradientsBytes)),
            tr("%1 × %2 × %3 bit = %4").arg(s.optimizerStates).arg(n).arg(s.optimizerBits).arg(gb(col.optimizerBytes)),
            tr("%1 × %2 bit = %3").arg(n).arg(s.activationBits).arg(gb(col.activationsBytes)),
            c == 0 ? gb(col.totalBytes())
                   : tr("%1 (%2% less)").arg(gb(col.totalBytes())).arg(m_table.reduction * 100, 0, 'f', 1),
        };
        for (int r = 0; r < cells.size(); ++r) {
            auto* item = new QTableWidgetItem(cells[r]);
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (r == 4) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
            }
            m_grid->setItem(r, c, item);
        }
    }
    m_why->setText(QString::fromStdString(m_table.whyRealDiffers));
}

void TeachingTableView::setRealistic(const core::PlanInput& input, const core::PlanResult& result)
{
    m_realistic->setText(tr("<b>Realistic estimate</b> for %1 (%2, seq %3, batch %4%5): <b>%6</b> peak per GPU, "
                            "of which weights %7, gradients %8, optimizer states %9.")
                             .arg(QString::fromStdString(input.model.displayName).toHtmlEscaped(),
                                  QString::fromLatin1(core::toString(input.method)))
                             .arg(input.seqLen)
                             .arg(input.microBatch)
                             .arg(input.gradientCheckpointing ? tr(", checkpointing") : QString())
                             .arg(QString::fromStdString(core::formatGBAndGiB(double(result.peakBytes))))
                             .arg(gb(double(result[core::Component::Weights].bytes)))
                             .arg(gb(double(result[core::Component::Gradients].bytes)))
                             .arg(gb(double(result[core::Component::OptimizerStates].bytes))));
}

} // namespace quantlens::ui
