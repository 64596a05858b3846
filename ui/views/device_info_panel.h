#pragma once

#include <QGroupBox>

class QLabel;

namespace quantlens::ui {

// Name, memory, compute capability and driver of the CUDA device, or a plain sentence saying why
// there is none (built without CUDA, no device, old driver).
class DeviceInfoPanel : public QGroupBox {
    Q_OBJECT
public:
    explicit DeviceInfoPanel(QWidget* parent = nullptr);
    void refresh();
    QString text() const;

private:
    QLabel* m_label;
};

} // namespace quantlens::ui
