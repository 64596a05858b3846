#include "core/scan/scan_schemes.h"

#include "core/quant/quant_policy.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <limits>

namespace quantlens::core {

namespace {

// A core/quant Scheme seen through the scan's interface: one call forwarded per method.
class QuantScheme final : public ScanScheme {
public:
    explicit QuantScheme(std::shared_ptr<const Scheme> scheme)
        : m_scheme(std::move(scheme))
    {
    }

    std::string id() const override { return m_scheme->id(); }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->chunkAlignment(shape);
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->bitsPerParameter(shape);
    }
    std::string cannotStore(std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->cannotStore(shape);
    }
    bool needsTensorStatistics() const override { return m_scheme->needsTensorStatistics(); }
    TensorStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->chunkStatistics(chunk, shape);
    }
    void mergeStatistics(TensorStatistics& into, const TensorStatistics& part) const override
    {
        m_scheme->mergeStatistics(into, part);
    }
    std::optional<FourBitParameters> fourBitParameters(const TensorStatistics& statistics) const override
    {
        return m_scheme->fourBitParameters(m_scheme->needsTensorStatistics() ? &statistics : nullptr);
    }
    bool needsCalibration() const override { return m_scheme->needsCalibration(); }
    std::shared_ptr<const ScanScheme> withCalibration(const CalibrationData& data, std::size_t index) const override
    {
        auto bound = bindCalibration(m_scheme, data, index);
        return bound ? std::make_shared<QuantScheme>(std::move(bound)) : nullptr;
    }
    std::shared_ptr<const Scheme> scheme() const override { return m_scheme; }
    void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t> shape,
                   std::uint64_t first, const TensorStatistics& statistics) const override
    {
        RoundTripContext context;
        context.shape = shape;
        context.first = first;
        context.statistics = m_scheme->needsTensorStatistics() ? &statistics : nullptr;
        m_scheme->roundTrip(in, out, context);
    }

private:
    std::shared_ptr<const Scheme> m_scheme;
};

} // namespace

std::vector<std::shared_ptr<const ScanScheme>> makeScanSchemes(const std::string& list, std::uint64_t blocksize,
                                                               bool doubleQuant)
{
    SchemeOptions options;
    if (blocksize > std::numeric_limits<std::uint32_t>::max())
        throw UsageError(strCat("block size ", blocksize, " is out of range"));
    if (blocksize != 0)
        options.blocksize = std::uint32_t(blocksize);
    options.doubleQuant = doubleQuant;
    std::vector<std::shared_ptr<const ScanScheme>> schemes;
    for (auto& scheme : parseSchemeList(list, options))
        schemes.push_back(std::make_shared<QuantScheme>(std::move(scheme)));
    return schemes;
}

} // namespace quantlens::core
