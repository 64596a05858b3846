#pragma once

#include "core/eval/eval.h"
#include "core/model/model.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <filesystem>
#include <memory>

namespace quantlens::ui {

// Runs core::loadEvalTokens and core::runEval off the GUI thread. Progress arrives as queued
// signals; cancel() takes effect at the next block. start() while running cancels the old run,
// whose late signals are dropped.
class EvalJob : public QObject {
    Q_OBJECT
public:
    explicit EvalJob(QObject* parent = nullptr);
    ~EvalJob() override;

    void start(std::shared_ptr<const core::Model> model, core::EvalInputSpec input, core::EvalOptions options);
    void cancel();
    // For a new model: cancels and forgets the last result.
    void reset();
    bool isRunning() const;
    const core::EvalResult& result() const { return m_result; }
    bool hasResult() const { return m_hasResult; }

Q_SIGNALS:
    void progressChanged(const QString& what, quint64 done, quint64 total);
    void evalFinished();
    void evalCancelled();
    void evalFailed(const QString& message);

private:
    struct Run;
    std::shared_ptr<Run> m_run;
    QFutureWatcher<void>* m_watcher = nullptr;
    core::EvalResult m_result;
    bool m_hasResult = false;
    quint64 m_generation = 0;
};

} // namespace quantlens::ui
