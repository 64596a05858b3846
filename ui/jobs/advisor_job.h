#pragma once

#include "core/advise/advisor.h"
#include "core/model/model.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <memory>

namespace quantlens::ui {

// Runs core::measureForAdvice off the GUI thread (every candidate tensor under every candidate
// scheme); solving for a budget afterwards is instant and happens on the GUI thread.
class AdvisorJob : public QObject {
    Q_OBJECT
public:
    explicit AdvisorJob(QObject* parent = nullptr);
    ~AdvisorJob() override;

    void start(std::shared_ptr<const core::Model> model, core::AdvisorOptions options);
    void cancel();
    void reset();
    bool isRunning() const;
    bool hasResult() const { return m_hasResult; }
    const core::AdvisorMeasurements& measurements() const { return m_measurements; }

Q_SIGNALS:
    void progressChanged(quint64 done, quint64 total, const QString& what);
    void measured();
    void cancelled();
    void failed(const QString& message);

private:
    struct Run;
    std::shared_ptr<Run> m_run;
    QFutureWatcher<void>* m_watcher = nullptr;
    core::AdvisorMeasurements m_measurements;
    bool m_hasResult = false;
    quint64 m_generation = 0;
};

} // namespace quantlens::ui
