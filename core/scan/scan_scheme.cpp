#include "core/scan/scan_scheme.h"

namespace quantlens::core {

TensorStatistics ScanScheme::chunkStatistics(std::span<const float>, std::span<const std::uint64_t>) const
{
    return {};
}

void ScanScheme::mergeStatistics(TensorStatistics& into, const TensorStatistics& part) const
{
    if (into.size() < part.size())
        into.resize(part.size(), 0.0);
    for (std::size_t i = 0; i < part.size(); ++i)
        into[i] += part[i];
}

double ScanScheme::bitsPerParameter(std::uint64_t elements) const
{
    const std::uint64_t shape[] = {elements};
    return bitsPerParameter(std::span<const std::uint64_t>(shape));
}

TensorStatistics ScanScheme::chunkStatistics(std::span<const float> values) const
{
    const std::uint64_t shape[] = {values.size()};
    return chunkStatistics(values, shape);
}

void ScanScheme::roundTrip(std::span<const float> in, std::span<float> out, std::uint64_t first,
                           const TensorStatistics& statistics) const
{
    const std::uint64_t shape[] = {first + in.size()};
    roundTrip(in, out, shape, first, statistics);
}

} // namespace quantlens::core
