#pragma once

#include <QFutureWatcher>
#include <QWidget>

#include "core/report/report_data.h"

#include <memory>
#include <vector>

class QPushButton;
class QLabel;
class QTableWidget;
class QProgressBar;
class QSpinBox;

namespace quantlens::ui {

class DeviceInfoPanel;
class BarLimitChart;

// The GPU Bench: device facts and our kernels' throughput against the measured copy bandwidth and
// cuBLAS; without a GPU it says so and runs the CPU benchmark (NF4 scan against the read bound).
class BenchView : public QWidget {
    Q_OBJECT
public:
    explicit BenchView(QWidget* parent = nullptr);
    ~BenchView() override;

    bool isRunning() const;
    QString summaryText() const;
    // Parameters of the CPU benchmark (smaller for tests and screenshots).
    void setCpuParameters(quint64 parameters);
    // The last finished benchmark as report sections (empty before one has run).
    std::vector<core::BenchSection> reportSections() const { return m_sections; }

public Q_SLOTS:
    void run();
    void cancel();

Q_SIGNALS:
    void benchmarkFinished();

private:
    struct Outcome;
    void showOutcome(const Outcome& outcome);

    DeviceInfoPanel* m_device;
    QPushButton* m_run;
    QPushButton* m_cancel;
    QProgressBar* m_progress;
    QLabel* m_summary;
    BarLimitChart* m_chart;
    QTableWidget* m_table;
    QFutureWatcher<void>* m_watcher = nullptr;
    std::shared_ptr<struct BenchRun> m_runState;
    quint64 m_cpuParameters = quint64(64) << 20;
    std::vector<core::BenchSection> m_sections;
};

} // namespace quantlens::ui
