#include "ui/jobs/eval_job.h"

#include "core/eval/llama_config.h"
#include "core/util/error.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent>

namespace quantlens::ui {

struct EvalJob::Run {
    explicit Run(std::function<void(const core::Progress&)> onProgress)
        : sink(std::move(onProgress))
    {
    }
    quint64 generation = 0;
    core::ProgressSink sink;
    core::EvalResult result;
    QString error;
    bool cancelled = false;
};

EvalJob::EvalJob(QObject* parent)
    : QObject(parent)
{
}

EvalJob::~EvalJob()
{
    if (m_run)
        m_run->sink.cancel();
    if (m_watcher)
        m_watcher->waitForFinished();
}

bool EvalJob::isRunning() const
{
    return m_watcher && m_watcher->isRunning();
}

void EvalJob::cancel()
{
    if (m_run && isRunning())
        m_run->sink.cancel();
}

void EvalJob::reset()
{
    cancel();
    ++m_generation;
    m_run.reset();
    m_result = {};
    m_hasResult = false;
}

void EvalJob::start(std::shared_ptr<const core::Model> model, core::EvalInputSpec input, core::EvalOptions options)
{
    cancel();
    if (m_watcher) {
        m_watcher->disconnect(this);
        m_watcher->deleteLater();
    }
    QPointer<EvalJob> self(this);
    const quint64 generation = ++m_generation;
    // The sink lives in the run; its callback posts progress to the GUI thread.
    auto run = std::make_shared<Run>([self, generation](const core::Progress& p) {
        const QString what = QString::fromStdString(p.current);
        const quint64 done = p.done;
        const quint64 total = p.total;
        QMetaObject::invokeMethod(
            self.data(),
            [self, generation, what, done, total] {
                if (self && self->m_generation == generation)
                    Q_EMIT self->progressChanged(what, done, total);
            },
            Qt::QueuedConnection);
    });
    run->generation = generation;
    m_run = run;

    m_watcher = new QFutureWatcher<void>(this);
    connect(m_watcher, &QFutureWatcher<void>::finished, this, [this, run] {
        if (run != m_run)
            return;
        if (run->cancelled) {
            Q_EMIT evalCancelled();
        } else if (!run->error.isEmpty()) {
            Q_EMIT evalFailed(run->error);
        } else {
            m_result = std::move(run->result);
            m_hasResult = true;
            Q_EMIT evalFinished();
        }
    });
    m_watcher->setFuture(QtConcurrent::run([run, model = std::move(model), input, options = std::move(options)] {
        try {
            const auto config = core::llamaConfigFor(*model);
            const auto tokens = core::loadEvalTokens(*model, config, input, options.threads, &run->sink);
            run->result = core::runEval(*model, tokens, options, &run->sink);
        } catch (const CancelledError&) {
            run->cancelled = true;
        } catch (const std::exception& e) {
            run->error = QString::fromStdString(e.what());
        }
    }));
}

} // namespace quantlens::ui
