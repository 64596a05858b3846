#include "ui/jobs/advisor_job.h"

#include "core/util/error.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent>

namespace quantlens::ui {

struct AdvisorJob::Run {
    explicit Run(std::function<void(const core::Progress&)> onProgress)
        : sink(std::move(onProgress))
    {
    }
    core::ProgressSink sink;
    core::AdvisorMeasurements result;
    QString error;
    bool cancelled = false;
};

AdvisorJob::AdvisorJob(QObject* parent)
    : QObject(parent)
{
}

AdvisorJob::~AdvisorJob()
{
    if (m_run)
        m_run->sink.cancel();
    if (m_watcher)
        m_watcher->waitForFinished();
}

bool AdvisorJob::isRunning() const
{
    return m_watcher && m_watcher->isRunning();
}

void AdvisorJob::cancel()
{
    if (m_run && isRunning())
        m_run->sink.cancel();
}

void AdvisorJob::reset()
{
    cancel();
    ++m_generation;
    m_run.reset();
    m_measurements = {};
    m_hasResult = false;
}

void AdvisorJob::start(std::shared_ptr<const core::Model> model, core::AdvisorOptions options)
{
    cancel();
    if (m_watcher) {
        m_watcher->disconnect(this);
        m_watcher->deleteLater();
    }
    QPointer<AdvisorJob> self(this);
    const quint64 generation = ++m_generation;
    auto run = std::make_shared<Run>([self, generation](const core::Progress& p) {
        const quint64 done = p.bytesTotal ? p.bytesDone : p.done;
        const quint64 total = p.bytesTotal ? p.bytesTotal : p.total;
        const QString what = QString::fromStdString(p.current);
        QMetaObject::invokeMethod(
            self.data(),
            [self, generation, done, total, what] {
                if (self && self->m_generation == generation)
                    Q_EMIT self->progressChanged(done, total, what);
            },
            Qt::QueuedConnection);
    });
    m_run = run;
    m_watcher = new QFutureWatcher<void>(this);
    connect(m_watcher, &QFutureWatcher<void>::finished, this, [this, run] {
        if (run != m_run)
            return;
        if (run->cancelled) {
            Q_EMIT cancelled();
        } else if (!run->error.isEmpty()) {
            Q_EMIT failed(run->error);
        } else {
            m_measurements = std::move(run->result);
            m_hasResult = true;
            Q_EMIT measured();
        }
    });
    m_watcher->setFuture(QtConcurrent::run([run, model = std::move(model), options] {
        try {
            run->result = core::measureForAdvice(*model, options, run->sink);
        } catch (const CancelledError&) {
            run->cancelled = true;
        } catch (const std::exception& e) {
            run->error = QString::fromStdString(e.what());
        }
    }));
}

} // namespace quantlens::ui
