#include "gpu/scan_acceleration.h"

#include "core/metrics/error_accumulator.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "gpu/device.h"
#include "gpu/error_metrics.h"

#include <map>
#include <mutex>

namespace quantlens::gpu {

namespace {

// A CPU 4-bit scheme whose measure() runs on the GPU. Everything else (statistics, the round trip
// the Lab draws, the storage cost) is the CPU scheme's own. Scan workers call measure() from
// several threads: one mutex serialises them on one stream, while the other threads keep reading.
class GpuFourBitScheme final : public core::ScanScheme {
public:
    GpuFourBitScheme(std::shared_ptr<const core::ScanScheme> cpu, std::string deviceName)
        : m_cpu(std::move(cpu))
        , m_deviceName(std::move(deviceName))
    {
    }

    std::string id() const override { return m_cpu->id(); }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        return m_cpu->chunkAlignment(shape);
    }
    std::string cannotStore(std::span<const std::uint64_t> shape) const override { return m_cpu->cannotStore(shape); }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return m_cpu->bitsPerParameter(shape);
    }
    bool needsTensorStatistics() const override { return m_cpu->needsTensorStatistics(); }
    core::TensorStatistics chunkStatistics(std::span<const float> chunk,
                                           std::span<const std::uint64_t> shape) const override
    {
        return m_cpu->chunkStatistics(chunk, shape);
    }
    void mergeStatistics(core::TensorStatistics& into, const core::TensorStatistics& part) const override
    {
        m_cpu->mergeStatistics(into, part);
    }
    void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t> shape,
                   std::uint64_t first, const core::TensorStatistics& statistics) const override
    {
        m_cpu->roundTrip(in, out, shape, first, statistics);
    }
    std::optional<core::FourBitParameters> fourBitParameters(const core::TensorStatistics& statistics) const override
    {
        return m_cpu->fourBitParameters(statistics);
    }
    std::string device() const override { return "CUDA: " + m_deviceName; }

    bool measure(std::span<const float> in, std::span<const std::uint64_t>, std::uint64_t,
                 const core::TensorStatistics& statistics, core::ErrorAccumulator& errors) const override
    {
        const auto p = m_cpu->fourBitParameters(statistics);
        if (!p || in.empty())
            return false;
        const std::lock_guard lock(m_mutex);
        Buffers& b = buffersFor(static_cast<std::int64_t>(in.size()), p->options);
        b.input.upload(in);
        // The offset comes from the whole tensor's statistics, as the CPU scheme takes it: a chunk's
        // own mean would differ from it.
        quantize4bit(m_stream, b.input, FloatType::F32, b.tensor,
                     p->options.doubleQuant ? std::optional<float>(p->doubleQuantOffset) : std::nullopt);
        const DeviceErrorSums d = measureError4bit(m_stream, b.input, FloatType::F32, b.tensor, m_scratch);
        errors.addSums(d.sums(), d.histogram());
        return true;
    }

private:
    struct Buffers {
        DeviceBuffer input;
        FourBitTensor tensor;
        std::uint64_t lastUse = 0;
    };

    // Device buffers per chunk length (a tensor's full chunks, then its shorter last one; a model has
    // a few dozen lengths at most). Kept while they fit kCacheBytes, the least recently used going
    // first, so that the scan does not pay a cudaMalloc and cudaFree per tensor.
    static constexpr std::size_t kCacheBytes = std::size_t(1) << 30;

    Buffers& buffersFor(std::int64_t numel, const core::Bnb4BitOptions& options) const
    {
        const auto key = std::make_pair(numel, static_cast<int>(options.blocksize));
        ++m_uses;
        if (auto it = m_buffers.find(key); it != m_buffers.end()) {
            it->second.lastUse = m_uses;
            return it->second;
        }
        const auto type = options.type == core::FourBitType::Nf4 ? FourBitType::Nf4 : FourBitType::Fp4;
        Buffers b {DeviceBuffer(static_cast<std::size_t>(numel) * sizeof(float)),
                   allocateFourBit(numel, static_cast<int>(options.blocksize), type, options.doubleQuant), m_uses};
        m_bytes += bytesOf(b);
        auto& added = m_buffers.emplace(key, std::move(b)).first->second;
        while (m_bytes > kCacheBytes && m_buffers.size() > 1) {
            auto oldest = m_buffers.begin();
            for (auto it = m_buffers.begin(); it != m_buffers.end(); ++it)
                if (it->second.lastUse < oldest->second.lastUse)
                    oldest = it;
            m_bytes -= bytesOf(oldest->second);
            m_buffers.erase(oldest);
        }
        return added;
    }

    static std::size_t bytesOf(const Buffers& b)
    {
        return b.input.size() + b.tensor.packed.size() + b.tensor.absmax.size() + b.tensor.absmaxCodes.size()
            + b.tensor.nestedAbsmax.size() + b.tensor.offset.size() + b.tensor.scratch.size();
    }

    std::shared_ptr<const core::ScanScheme> m_cpu;
    std::string m_deviceName;
    mutable std::mutex m_mutex;
    mutable Stream m_stream;
    mutable ErrorScratch m_scratch;
    // Type and DQ are fixed per scheme; the key is (numel, blocksize).
    mutable std::map<std::pair<std::int64_t, int>, Buffers> m_buffers;
    mutable std::size_t m_bytes = 0;
    mutable std::uint64_t m_uses = 0;
};

} // namespace

std::vector<std::shared_ptr<const core::ScanScheme>>
accelerateScanSchemes(const std::vector<std::shared_ptr<const core::ScanScheme>>& schemes)
{
    if (!available())
        throw UnsupportedError(strCat("cannot scan on the GPU: ", unavailableReason()));
    const auto name = devices().front().name;
    std::vector<std::shared_ptr<const core::ScanScheme>> out;
    for (const auto& scheme : schemes) {
        if (scheme->fourBitParameters(core::TensorStatistics {}))
            out.push_back(std::make_shared<GpuFourBitScheme>(scheme, name));
        else
            out.push_back(scheme);
    }
    return out;
}

} // namespace quantlens::gpu
