#pragma once

#include "core/scan/scan_scheme.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace quantlens::ui {

// A scheme the user can tick in the Inspector and pick in the Lab.
struct SchemeChoice {
    QString id; // as quantlens-cli inspect --scheme takes it
    QString label;
    QString description; // one sentence for the tooltip
};

QList<SchemeChoice> schemeChoices();

// Builds the scan schemes for `ids` with the bitsandbytes options applied. Throws quantlens::UsageError
// naming an unknown id.
std::vector<std::shared_ptr<const core::ScanScheme>> makeScanSchemes(const QStringList& ids, int blockSize,
                                                                     bool doubleQuant);

} // namespace quantlens::ui
