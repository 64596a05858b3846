#pragma once

#include "core/model/model.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <memory>

namespace quantlens::ui {

// The model the user has open, shared by the workspaces. Opening reads headers only, but runs off
// the GUI thread anyway (network file systems can be slow); a newer request makes older ones stale.
class ModelSession : public QObject {
    Q_OBJECT
public:
    explicit ModelSession(QObject* parent = nullptr);
    ~ModelSession() override;

    // Starts opening `path`; modelOpened or openFailed follows.
    void open(const QString& path);
    // Opens synchronously (tests, the bundled example at start-up); returns false and emits openFailed on error.
    bool openNow(const QString& path);

    std::shared_ptr<const core::Model> model() const { return m_model; }
    QString path() const { return m_path; }
    bool isOpening() const { return m_opening; }

Q_SIGNALS:
    void modelOpened(const QString& path);
    void openFailed(const QString& path, const QString& message);

private:
    void adopt(const QString& path, std::shared_ptr<const core::Model> model);

    std::shared_ptr<const core::Model> m_model;
    QString m_path;
    bool m_opening = false;
    quint64 m_generation = 0;
};

} // namespace quantlens::ui
