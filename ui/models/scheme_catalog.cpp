#include "ui/models/scheme_catalog.h"

#include "core/quant/scheme.h"
#include "core/scan/scan_schemes.h"

namespace quantlens::ui {

QList<SchemeChoice> schemeChoices()
{
    QList<SchemeChoice> choices;
    for (const auto& s : core::listSchemes()) {
        choices << SchemeChoice {QString::fromStdString(s.id), QString::fromStdString(s.displayName),
                                 QString::fromStdString(s.summary)};
    }
    return choices;
}

std::vector<std::shared_ptr<const core::ScanScheme>> makeScanSchemes(const QStringList& ids, int blockSize,
                                                                     bool doubleQuant)
{
    return core::makeScanSchemes(ids.join(QLatin1Char(',')).toStdString(), std::uint64_t(blockSize), doubleQuant);
}

} // namespace quantlens::ui
