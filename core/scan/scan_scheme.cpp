#include "core/scan/scan_scheme.h"

namespace quantlens::core {

TensorStatistics ScanScheme::chunkStatistics(std::span<const float>) const
{
    return {};
}

void ScanScheme::mergeStatistics(TensorStatistics& into, const TensorStatistics& part) const
{
    // Default: additive statistics (sums and counts).
    if (into.size() < part.size())
        into.resize(part.size(), 0.0);
    for (std::size_t i = 0; i < part.size(); ++i)
        into[i] += part[i];
}

} // namespace quantlens::core
