#pragma once

#include "core/model/model.h"
#include "core/scan/scan.h"

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QObject>

#include <atomic>
#include <memory>

namespace quantlens::ui {

// Runs core::scanModel off the GUI thread. Per-tensor results and progress arrive as queued signals
// while it runs (partial results fill the table as they come); cancel() takes effect at the scan's
// next chunk. A job runs one scan at a time; start() while running cancels the old one, whose late
// results are dropped (each run has a generation number).
class ScanJob : public QObject {
    Q_OBJECT
public:
    explicit ScanJob(QObject* parent = nullptr);
    ~ScanJob() override;

    // `calibrate`: first run the model on calibration inputs (16 sequences of up to 256 tokens sampled
    // with core::kCalibrationSeed) for the activation-weighted error; done anyway when a scheme needs
    // them (GPTQ), unless the model cannot be run (then those schemes keep every tensor).
    void start(std::shared_ptr<const core::Model> model, core::ScanOptions options, bool calibrate = false);
    void cancel();
    // For a new model: cancels, drops everything the old run still sends (results, progress, its
    // finished signal) and forgets the last result, so nothing of the old model reaches the new one.
    void reset();
    bool isRunning() const;
    // The last finished scan's result (empty before the first one finishes).
    const core::ScanResult& result() const { return m_result; }
    const core::ScanProgress& lastProgress() const { return m_progress; }
    // Milliseconds from cancel() to the finished/cancelled signal of the last cancelled scan.
    qint64 lastCancelLatencyMs() const { return m_cancelLatencyMs; }

Q_SIGNALS:
    void tensorScanned(const quantlens::core::TensorScanResult& result);
    void progressChanged(const quantlens::core::ScanProgress& progress);
    void scanFinished();
    void scanCancelled();
    void scanFailed(const QString& message);

private:
    struct Run;
    std::shared_ptr<Run> m_run;
    QFutureWatcher<void>* m_watcher = nullptr;
    core::ScanResult m_result;
    core::ScanProgress m_progress;
    quint64 m_generation = 0;
    QElapsedTimer m_cancelClock;
    qint64 m_cancelLatencyMs = -1;
};

} // namespace quantlens::ui

Q_DECLARE_METATYPE(quantlens::core::TensorScanResult)
Q_DECLARE_METATYPE(quantlens::core::ScanProgress)
