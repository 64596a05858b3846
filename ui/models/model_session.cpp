#include "ui/models/model_session.h"

#include "core/util/error.h"

#include <QFuture>
#include <QPointer>
#include <QtConcurrent>

namespace quantlens::ui {

namespace {

struct OpenResult {
    std::shared_ptr<const core::Model> model;
    QString error;
};

OpenResult openModelFile(const QString& path)
{
    OpenResult result;
    try {
        result.model = core::openModel(path.toStdString());
    } catch (const std::exception& e) {
        result.error = QString::fromStdString(e.what());
    }
    return result;
}

} // namespace

ModelSession::ModelSession(QObject* parent)
    : QObject(parent)
{
}

ModelSession::~ModelSession() = default;

void ModelSession::open(const QString& path)
{
    const quint64 generation = ++m_generation;
    m_opening = true;
    QPointer<ModelSession> self(this);
    QtConcurrent::run([path] { return openModelFile(path); }).then(this, [self, generation, path](OpenResult r) {
        if (!self || generation != self->m_generation)
            return; // a newer open() superseded this one
        self->m_opening = false;
        if (r.model)
            self->adopt(path, std::move(r.model));
        else
            Q_EMIT self->openFailed(path, r.error);
    });
}

bool ModelSession::openNow(const QString& path)
{
    ++m_generation;
    OpenResult r = openModelFile(path);
    m_opening = false;
    if (!r.model) {
        Q_EMIT openFailed(path, r.error);
        return false;
    }
    adopt(path, std::move(r.model));
    return true;
}

void ModelSession::adopt(const QString& path, std::shared_ptr<const core::Model> model)
{
    m_model = std::move(model);
    m_path = path;
    Q_EMIT modelOpened(path);
}

} // namespace quantlens::ui
