#include "ui/views/device_info_panel.h"

#include "core/util/units.h"
#include "gpu/device.h"

#include <QLabel>
#include <QVBoxLayout>

namespace quantlens::ui {

DeviceInfoPanel::DeviceInfoPanel(QWidget* parent)
    : QGroupBox(tr("Device"), parent)
    , m_label(new QLabel(this))
{
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_label->setWordWrap(true);
    m_label->setObjectName(QStringLiteral("deviceInfo"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_label);
    refresh();
}

void DeviceInfoPanel::refresh()
{
    if (!gpu::available()) {
        m_label->setText(tr("<b>No GPU available:</b> %1.<br>The CPU benchmark runs instead; everything else works "
                            "on the CPU.")
                             .arg(QString::fromStdString(gpu::unavailableReason()).toHtmlEscaped()));
        return;
    }
    QStringList lines;
    for (const auto& d : gpu::devices()) {
        lines << tr("<b>GPU %1: %2</b><br>memory %3 · compute capability %4.%5 · %6 SMs · L2 %7<br>driver CUDA %8 · "
                    "runtime %9")
                     .arg(d.index)
                     .arg(QString::fromStdString(d.name).toHtmlEscaped())
                     .arg(QString::fromStdString(core::formatGBAndGiB(double(d.memoryBytes))))
                     .arg(d.computeMajor)
                     .arg(d.computeMinor)
                     .arg(d.multiprocessors)
                     .arg(QString::fromStdString(core::formatBinaryBytes(double(d.l2CacheBytes))))
                     .arg(QString::fromStdString(d.driverVersion), QString::fromStdString(d.runtimeVersion));
    }
    m_label->setText(lines.join(QStringLiteral("<br><br>")));
}

QString DeviceInfoPanel::text() const
{
    return m_label->text();
}

} // namespace quantlens::ui
