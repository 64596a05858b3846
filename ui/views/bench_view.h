#pragma once

#include <QFutureWatcher>
#include <QStringList>
#include <QWidget>

#include "core/report/report_data.h"

#include <memory>
#include <vector>

class QPushButton;
class QLabel;
class QTableWidget;
class QProgressBar;
class QSpinBox;

namespace quantlens::gpu {
struct GpuBenchmarkResult;
}

namespace quantlens::ui {

class DeviceInfoPanel;
class BarLimitChart;

// The GPU Bench: device facts and our kernels' throughput against the measured copy bandwidth and
// cuBLAS; without a GPU it says so and runs the CPU benchmark (NF4 scan against the read bound).
// GPU results saved by `quantlens-cli bench --device cuda --json` open here on any machine.
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
    // The `quantlens-cli report` options that put the same section in a report: "--bench cpu
    // --bench-size N", "--bench cuda" or "--bench-from FILE" (unquoted); empty before one has run.
    QStringList reportArguments() const { return m_reportArguments; }

public Q_SLOTS:
    void run();
    void cancel();
    // Shows GPU results saved earlier. Throws quantlens::Error (IoError, FormatError) naming the
    // file when it cannot be read or is not such results; what was shown before then stays.
    void showSavedResults(const QString& path);
    // The same for the button: false, with the reason in the summary, instead of throwing.
    bool openResults(const QString& path);
    void openResultsDialog();

Q_SIGNALS:
    void benchmarkFinished();

private:
    struct Outcome;
    void showOutcome(const Outcome& outcome);
    void showGpuResult(const gpu::GpuBenchmarkResult& result, const QString& origin);

    DeviceInfoPanel* m_device;
    QPushButton* m_run;
    QPushButton* m_cancel;
    QPushButton* m_open;
    QProgressBar* m_progress;
    QLabel* m_summary;
    BarLimitChart* m_chart;
    QTableWidget* m_table;
    QFutureWatcher<void>* m_watcher = nullptr;
    std::shared_ptr<struct BenchRun> m_runState;
    quint64 m_cpuParameters = quint64(64) << 20;
    std::vector<core::BenchSection> m_sections;
    QStringList m_reportArguments;
};

} // namespace quantlens::ui
