#include "ui/jobs/scan_job.h"

#include "core/eval/eval.h"
#include "core/util/error.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent>

#include <algorithm>
#include <optional>

namespace quantlens::ui {

// What a worker shares with the job: the cancel flag lives in the sink, the outcome is written by
// the worker before its future finishes and read on the GUI thread after.
struct ScanJob::Run {
    quint64 generation = 0;
    core::ProgressSink sink;
    core::ScanResult result;
    QString error;
    bool cancelled = false;
};

ScanJob::ScanJob(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<core::TensorScanResult>();
    qRegisterMetaType<core::ScanProgress>();
}

ScanJob::~ScanJob()
{
    if (m_run)
        m_run->sink.cancel();
    if (m_watcher)
        m_watcher->waitForFinished();
}

bool ScanJob::isRunning() const
{
    return m_watcher && m_watcher->isRunning();
}

void ScanJob::cancel()
{
    if (m_run && isRunning()) {
        m_cancelClock.start();
        m_run->sink.cancel();
    }
}

void ScanJob::reset()
{
    cancel();
    ++m_generation; // queued per-tensor results and progress of the old run no longer match
    m_run.reset(); // nor does its finished signal
    m_result = {};
    m_progress = {};
}

void ScanJob::start(std::shared_ptr<const core::Model> model, core::ScanOptions options, bool calibrate)
{
    cancel();
    if (m_watcher) {
        m_watcher->disconnect(this);
        m_watcher->deleteLater(); // the old worker finishes on its own; its results are dropped
    }
    auto run = std::make_shared<Run>();
    run->generation = ++m_generation;
    m_run = run;
    m_progress = {};

    QPointer<ScanJob> self(this);
    const quint64 generation = run->generation;
    options.onTensor = [self, generation](const core::TensorScanResult& r) {
        QMetaObject::invokeMethod(
            self.data(),
            [self, generation, r] {
                if (self && self->m_generation == generation)
                    Q_EMIT self->tensorScanned(r);
            },
            Qt::QueuedConnection);
    };
    options.onProgress = [self, generation](const core::ScanProgress& p) {
        QMetaObject::invokeMethod(
            self.data(),
            [self, generation, p] {
                if (self && self->m_generation == generation) {
                    self->m_progress = p;
                    Q_EMIT self->progressChanged(p);
                }
            },
            Qt::QueuedConnection);
    };

    m_watcher = new QFutureWatcher<void>(this);
    connect(m_watcher, &QFutureWatcher<void>::finished, this, [this, run] {
        if (run != m_run)
            return;
        if (m_cancelClock.isValid()) {
            m_cancelLatencyMs = m_cancelClock.elapsed();
            m_cancelClock.invalidate();
        }
        if (run->cancelled) {
            m_result = std::move(run->result); // what finished before the cancel (possibly nothing)
            Q_EMIT scanCancelled();
        } else if (!run->error.isEmpty()) {
            Q_EMIT scanFailed(run->error);
        } else {
            m_result = std::move(run->result);
            Q_EMIT scanFinished();
        }
    });
    options.partialOnCancel = true;
    m_watcher->setFuture(
        QtConcurrent::run([run, model = std::move(model), options = std::move(options), calibrate]() mutable {
            try {
                // Asked for: a model that cannot be run says why; needed only by a scheme: that
                // scheme keeps every tensor, saying so in its rows.
                const std::optional<core::CalibrationData> calibration
                    = core::calibrateScan(*model, options.schemes, calibrate, {}, options.threads, &run->sink);
                options.calibration = calibration ? &*calibration : nullptr;
                run->result = core::scanModel(*model, options, run->sink);
                run->cancelled = run->result.cancelled;
            } catch (const CancelledError&) {
                run->cancelled = true;
            } catch (const std::exception& e) {
                run->error = QString::fromStdString(e.what());
            }
        }));
}

} // namespace quantlens::ui
