#include "core/scan/cpu_benchmark.h"

#include "core/io/float_convert.h"
#include "core/model/model.h"
#include "core/scan/scan.h"
#include "core/scan/thread_pool.h"
#include "core/simd/instruction_set.h"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace quantlens::core {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kTensorElements = std::uint64_t(16) << 20;
constexpr std::uint64_t kChunkElements = std::uint64_t(1) << 16;

// BF16 tensors held in memory, decoded the way the safetensors reader decodes them.
class Bf16MemoryModel : public Model {
public:
    explicit Bf16MemoryModel(std::uint64_t parameters)
    {
        // A fast generator: the benchmark measures the scan, not the weights' statistics; an
        // approximately normal distribution (sum of four uniforms) gives NF4 realistic work.
        std::uint64_t state = 0x9e3779b97f4a7c15ull;
        const auto uniform = [&state] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return float(state >> 40) * (1.0f / 16777216.0f);
        };
        for (std::uint64_t done = 0, t = 0; done < parameters; ++t) {
            const std::uint64_t n = std::min(kTensorElements, parameters - done);
            TensorInfo info;
            info.name = strCat("model.layers.", t, ".mlp.down_proj.weight");
            info.shape = {n / 4096 == 0 ? 1 : n / 4096, n / 4096 == 0 ? n : 4096};
            if (info.shape[0] * info.shape[1] != n)
                info.shape = {n};
            info.dtype = DType::BF16;
            info.byteSize = n * 2;
            info.layer = int(t);
            info.role = TensorRole::MlpDown;
            std::vector<std::uint16_t> data(n);
            for (auto& v : data) {
                const float x = (uniform() + uniform() + uniform() + uniform() - 2.0f) * 0.0346f;
                v = floatToBf16(x);
            }
            m_infos.push_back(info);
            m_data.push_back(std::move(data));
            done += n;
        }
    }

    std::string format() const override { return "in-memory BF16"; }
    std::filesystem::path path() const override { return "benchmark"; }
    std::vector<std::filesystem::path> files() const override { return {}; }
    const std::vector<TensorInfo>& tensors() const override { return m_infos; }
    const ModelArchitecture& architecture() const override { return m_architecture; }
    const std::map<std::string, std::string>& metadata() const override { return m_metadata; }
    bool canDequantize(std::size_t, std::string*) const override { return true; }
    void readFloat(std::size_t index, std::uint64_t first, std::span<float> out) const override
    {
        // As the safetensors reader decodes BF16 (core/io/float_convert.h).
        bf16RowToFloat(std::as_bytes(std::span(m_data[index])).subspan(first * 2, out.size() * 2), out);
    }
    std::uint64_t blockAlignment(std::size_t) const override { return 1; }
    std::span<const std::byte> rawBytes(std::size_t index) const override
    {
        return std::as_bytes(std::span(m_data[index]));
    }

private:
    std::vector<TensorInfo> m_infos;
    std::vector<std::vector<std::uint16_t>> m_data;
    ModelArchitecture m_architecture;
    std::map<std::string, std::string> m_metadata;
};

// Reconstruction = original: what the metrics alone cost.
class IdentityScheme : public ScanScheme {
public:
    std::string id() const override { return "identity"; }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return 1; }
    double bitsPerParameter(std::span<const std::uint64_t>) const override { return 16.0; }
    void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t>, std::uint64_t,
                   const TensorStatistics&) const override
    {
        std::memcpy(out.data(), in.data(), in.size_bytes());
    }
};

template <typename Fn> double bestSeconds(int repetitions, ProgressSink& sink, Fn&& fn)
{
    double best = 0.0;
    for (int r = 0; r < std::max(1, repetitions); ++r) {
        sink.throwIfCancelled();
        const auto start = Clock::now();
        fn();
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        best = r == 0 ? seconds : std::min(best, seconds);
    }
    return best;
}

// The same chunks the scan reads, on the same number of threads, touching every byte once.
struct ChunkList {
    std::vector<std::pair<std::size_t, std::uint64_t>> chunks; // tensor, first element

    explicit ChunkList(const Model& model)
    {
        for (std::size_t t = 0; t < model.tensors().size(); ++t)
            for (std::uint64_t first = 0; first < model.tensors()[t].elementCount(); first += kChunkElements)
                chunks.emplace_back(t, first);
    }
};

} // namespace

CpuBenchmarkResult runCpuBenchmark(const CpuBenchmarkOptions& options, std::shared_ptr<const ScanScheme> scheme,
                                   ProgressSink& sink)
{
    if (!scheme)
        throw UsageError("the CPU benchmark needs a quantization scheme");
    if (options.parameters == 0)
        throw UsageError("the CPU benchmark needs at least one parameter");
    const Bf16MemoryModel model(options.parameters);
    // Every parameter must be measured for the rate to mean anything: a ggml format cannot store a
    // last tensor whose row is not a whole number of its blocks (a size such as 1000).
    for (const auto& tensor : model.tensors())
        if (const std::string why = scheme->cannotStore(tensor.shape); !why.empty())
            throw UsageError(strCat("the CPU benchmark cannot measure ", scheme->id(), " on ",
                                    formatThousands(options.parameters), " parameters: ", why,
                                    "; give a size that is a multiple of 4096"));
    CpuBenchmarkResult result;
    result.parameters = options.parameters;
    result.bytes = options.parameters * 2;
    result.scheme = scheme->id();
    const InstructionSet active = activeInstructionSet();
    result.instructionSet = instructionSetName(active);

    ThreadPool pool(options.threads);
    result.threads = pool.size();
    const ChunkList list(model);
    const auto chunkLength = [&](std::size_t c) {
        const auto [t, first] = list.chunks[c];
        return std::min(kChunkElements, model.tensors()[t].elementCount() - first);
    };
    const auto addRow
        = [&](std::string name, std::string what, const char* set, std::uint64_t parameters, double seconds) {
              CpuBenchmarkRow row;
              row.name = std::move(name);
              row.what = std::move(what);
              row.instructionSet = set;
              row.parameters = parameters;
              row.seconds = seconds;
              row.parametersPerSecond = double(parameters) / seconds;
              row.bytesPerSecond = double(parameters) * 2.0 / seconds;
              result.rows.push_back(row);
          };

    // Read bound: sum the bytes as 64-bit words, so that the loop runs at memory speed. One untimed
    // pass first wakes the threads and the pages, which would otherwise be charged to this row alone.
    std::vector<std::uint64_t> sums(pool.size(), 0);
    const auto readAll = [&] {
        pool.run(list.chunks.size(), [&](std::size_t c, unsigned w) {
            const auto bytes
                = model.rawBytes(list.chunks[c].first).subspan(list.chunks[c].second * 2, chunkLength(c) * 2);
            std::uint64_t sum = 0;
            for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
                std::uint64_t word;
                std::memcpy(&word, bytes.data() + i, 8);
                sum += word;
            }
            sums[w] += sum;
        });
    };
    readAll();
    const double readSeconds = bestSeconds(options.repetitions, sink, readAll);
    addRow("memory read", "sum the BF16 bytes (the bound)", "", result.parameters, readSeconds);

    std::vector<InstructionSet> sets {active};
    if (options.everyInstructionSet)
        sets = supportedInstructionSets();
    std::vector<std::vector<float>> buffers(pool.size(), std::vector<float>(kChunkElements));
    ScanResult last;
    for (const InstructionSet set : sets) {
        const ScopedInstructionSet on(set);
        const char* name = instructionSetName(set);
        result.instructionSets.push_back(name);
        const double decodeSeconds = bestSeconds(options.repetitions, sink, [&] {
            pool.run(list.chunks.size(), [&](std::size_t c, unsigned w) {
                const std::span<float> out(buffers[w].data(), chunkLength(c));
                model.readFloat(list.chunks[c].first, list.chunks[c].second, out);
                sums[w] += std::uint64_t(out[0] != 0.0f);
            });
        });
        addRow("read + decode", "BF16 to float into a chunk buffer", name, result.parameters, decodeSeconds);

        ScanOptions scanOptions;
        scanOptions.threads = pool.size();
        scanOptions.chunkElements = kChunkElements;
        scanOptions.schemes = {std::make_shared<IdentityScheme>()};
        scanOptions.selection = TensorSelection::EveryTensor; // whatever the tensor, as fast as the scheme goes
        const double metricsSeconds
            = bestSeconds(options.repetitions, sink, [&] { scanModel(model, scanOptions, sink); });
        addRow("read + metrics", "scan with Q(x) = x: two passes, every metric and histogram", name, result.parameters,
               metricsSeconds);

        scanOptions.schemes = {scheme};
        ScanResult scan;
        const double scanSeconds
            = bestSeconds(options.repetitions, sink, [&] { scan = scanModel(model, scanOptions, sink); });
        addRow("scan " + scheme->id(), "quantize + dequantize + every metric", name, result.parameters, scanSeconds);
        if (set == active)
            last = std::move(scan);

        // The slower schemes over the first tensor only.
        scanOptions.tensorIndices = std::vector<std::size_t> {0};
        for (const auto& more : options.moreSchemes) {
            if (!more || !more->cannotStore(model.tensors().front().shape).empty())
                continue;
            scanOptions.schemes = {more};
            const double seconds = bestSeconds(options.repetitions, sink, [&] { scanModel(model, scanOptions, sink); });
            addRow("scan " + more->id(), "quantize + dequantize + every metric, first tensor", name,
                   model.tensors().front().elementCount(), seconds);
        }
    }

    result.workingBytes = last.workingBytes;
    result.readBoundParametersPerSecond = result.rows.front().parametersPerSecond;
    for (const auto& row : result.rows)
        if (row.instructionSet == result.instructionSet && row.name == "scan " + scheme->id())
            result.scanParametersPerSecond = row.parametersPerSecond;
    result.fractionOfReadBound = result.scanParametersPerSecond / result.readBoundParametersPerSecond;
    return result;
}

} // namespace quantlens::core
