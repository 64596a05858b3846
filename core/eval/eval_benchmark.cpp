#include "core/eval/eval_benchmark.h"

#include "core/eval/transformer.h"
#include "core/scan/thread_pool.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

namespace quantlens::core {

namespace {

// The Transformer reads weights through a Model; the benchmark hands it weights directly.
class NoFileModel final : public Model {
public:
    std::string format() const override { return "synthetic"; }
    std::filesystem::path path() const override { return "synthetic"; }
    std::vector<std::filesystem::path> files() const override { return {}; }
    const std::vector<TensorInfo>& tensors() const override { return m_tensors; }
    const ModelArchitecture& architecture() const override { return m_architecture; }
    const std::map<std::string, std::string>& metadata() const override { return m_metadata; }
    bool canDequantize(std::size_t, std::string*) const override { return false; }
    void readFloat(std::size_t, std::uint64_t, std::span<float>) const override
    {
        throw UsageError("the synthetic benchmark model has no tensors to read");
    }
    std::uint64_t blockAlignment(std::size_t) const override { return 1; }
    std::span<const std::byte> rawBytes(std::size_t) const override { return {}; }

private:
    std::vector<TensorInfo> m_tensors;
    ModelArchitecture m_architecture;
    std::map<std::string, std::string> m_metadata;
};

// Weights of the size a trained model has (about 0.02), from a cheap generator.
void fill(float* data, Eigen::Index n, std::uint64_t seed)
{
    std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (Eigen::Index i = 0; i < n; ++i) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        data[i] = (float(s >> 40) * 0x1.0p-24f - 0.5f) * 0.04f;
    }
}

RowMatrix randomMatrix(std::uint64_t rows, std::uint64_t cols, std::uint64_t seed)
{
    RowMatrix m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    fill(m.data(), m.size(), seed);
    return m;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); 0 when unreadable.
std::uint64_t statusBytes(const std::string& field)
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field + ":", 0) == 0)
            return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
    return 0;
}

// Measures the peak resident memory a stage adds: freed memory goes back to the system first, and
// the kernel's high-water mark restarts from the current size (writing 5 to clear_refs).
class StagePeak {
public:
    StagePeak()
    {
        malloc_trim(0);
        std::ofstream("/proc/self/clear_refs") << "5";
        m_start = statusBytes("VmRSS");
    }
    std::uint64_t growth() const
    {
        const auto peak = statusBytes("VmHWM");
        return peak > m_start ? peak - m_start : 0;
    }

private:
    std::uint64_t m_start = 0;
};

double seconds(std::chrono::steady_clock::time_point since)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

} // namespace

EvalBenchmarkResult runEvalBenchmark(const EvalBenchmarkOptions& o, const ProgressSink* progress)
{
    if (o.heads % o.kvHeads != 0 || o.layers == 0 || o.sequenceLength == 0)
        throw UsageError("eval benchmark: heads must be a multiple of KV heads, layers and length positive");
    ThreadPool pool(o.threads);
    EvalBenchmarkResult r;
    r.threads = pool.size();
    r.sequences = pool.size();
    r.sequenceLength = o.sequenceLength;
    r.layers = o.layers;
    const auto report = [&](std::uint64_t done, const std::string& what) {
        if (!progress)
            return;
        progress->throwIfCancelled();
        Progress p;
        p.done = done;
        p.total = 3;
        p.unit = "stages";
        p.current = what;
        progress->report(p);
    };

    LlamaConfig c;
    c.architecture = "llama";
    c.hidden = o.hidden;
    c.intermediate = o.intermediate;
    c.layers = o.layers;
    c.heads = o.heads;
    c.kvHeads = o.kvHeads;
    c.headDim = o.headDim;
    c.vocab = o.vocab;
    c.context = o.sequenceLength;
    c.ropeTheta = 500000.0;
    for (std::uint64_t i = 0; i < o.headDim / 2; ++i)
        c.ropeFrequencies.push_back(std::pow(c.ropeTheta, -double(2 * i) / double(o.headDim)));
    const NoFileModel none;
    const Transformer transformer(none, c);

    // 1. Prefill, one block's weights in memory (every layer runs the same block: each costs the same).
    report(0, "prefill");
    {
        const StagePeak peak;
        BlockWeights w;
        const std::uint64_t q = o.heads * o.headDim;
        const std::uint64_t kv = o.kvHeads * o.headDim;
        w.q = randomMatrix(q, o.hidden, 1);
        w.k = randomMatrix(kv, o.hidden, 2);
        w.v = randomMatrix(kv, o.hidden, 3);
        w.o = randomMatrix(o.hidden, q, 4);
        w.gate = randomMatrix(o.intermediate, o.hidden, 5);
        w.up = randomMatrix(o.intermediate, o.hidden, 6);
        w.down = randomMatrix(o.hidden, o.intermediate, 7);
        w.attnNorm = Eigen::VectorXf::Ones(Eigen::Index(o.hidden));
        w.ffnNorm = w.attnNorm;
        r.blockWeightBytes = w.bytes();
        std::vector<RowMatrix> states;
        for (std::uint64_t s = 0; s < r.sequences; ++s)
            states.push_back(randomMatrix(o.sequenceLength, o.hidden, 100 + s) * 25.0f);
        const auto start = std::chrono::steady_clock::now();
        for (std::uint64_t l = 0; l < o.layers; ++l) {
            pool.run(states.size(), [&](std::size_t s, unsigned) {
                KvCache cache = transformer.reserve(o.sequenceLength);
                transformer.runBlock(w, states[s], cache);
            });
        }
        r.prefillSeconds = seconds(start);
        const double t = double(o.sequenceLength);
        // Per sequence: hidden states, the cache, q/k/v, attention output, scores, the MLP's two intermediates.
        r.activationBytes = r.sequences * std::uint64_t(4 * t * (2 * double(o.hidden) + 2 * double(kv) * 2 + double(q) * 2
                                                                  + t + 2 * double(o.intermediate)));
        r.prefillPeakGrowthBytes = peak.growth();
    }
    const double tokens = double(r.sequences * o.sequenceLength * o.layers);
    r.prefillTokensPerSecond = tokens / r.prefillSeconds;
    r.prefillFlops = double(r.sequences * o.layers) * transformer.blockFlops(o.sequenceLength) / r.prefillSeconds;

    // 2. The output head on 256 positions of each sequence (eval's default length), as eval's metrics pass
    // runs it: the head's weights and one sequence's logits per thread.
    report(1, "output head");
    {
        const StagePeak peak;
        const RowMatrix head = randomMatrix(o.vocab, o.hidden, 30);
        r.headWeightBytes = std::uint64_t(head.size()) * sizeof(float);
        const Eigen::VectorXf norm = Eigen::VectorXf::Ones(Eigen::Index(o.hidden));
        const std::uint64_t rows = std::min<std::uint64_t>(256, o.sequenceLength);
        std::vector<RowMatrix> x(r.threads), logits(r.threads);
        for (unsigned i = 0; i < r.threads; ++i)
            x[i] = randomMatrix(rows, o.hidden, 40 + i);
        const auto start = std::chrono::steady_clock::now();
        pool.run(r.threads, [&](std::size_t i, unsigned) { transformer.logits(head, norm, x[i], logits[i]); });
        r.headFlops = double(r.threads) * 2.0 * double(rows) * double(o.hidden) * double(o.vocab) / seconds(start);
        r.logitBytes = std::uint64_t(r.threads) * rows * o.vocab * sizeof(float);
        r.headPeakGrowthBytes = peak.growth();
    }

    // 3. The reference GEMM, one per thread at once.
    report(2, "reference GEMM");
    {
        const RowMatrix w = randomMatrix(o.gemmSize, o.gemmSize, 11);
        std::vector<RowMatrix> x(r.threads), y(r.threads);
        for (unsigned i = 0; i < r.threads; ++i)
            x[i] = randomMatrix(o.sequenceLength, o.gemmSize, 20 + i);
        pool.run(r.threads, [&](std::size_t i, unsigned) { // warm-up on a slice
            y[i].noalias() = x[i].topRows(16) * w.transpose();
        });
        const auto start = std::chrono::steady_clock::now();
        pool.run(r.threads, [&](std::size_t i, unsigned) { y[i].noalias() = x[i] * w.transpose(); });
        r.gemmFlops = double(r.threads) * 2.0 * double(o.sequenceLength) * double(o.gemmSize) * double(o.gemmSize)
            / seconds(start);
    }
    r.fractionOfGemm = r.prefillFlops / r.gemmFlops;

    report(3, "done");
    return r;
}

std::string formatEvalBenchmark(const EvalBenchmarkResult& r)
{
    char line[512];
    std::string out;
    std::snprintf(line, sizeof line,
                  "Forward pass (CPU, fp32, Eigen): %llu sequences of %llu tokens, one per thread, %u threads, %llu "
                  "block(s) of Llama-3.2-1B shape\n",
                  static_cast<unsigned long long>(r.sequences), static_cast<unsigned long long>(r.sequenceLength),
                  r.threads, static_cast<unsigned long long>(r.layers));
    out += line;
    std::snprintf(line, sizeof line, "  reference GEMM (%s)        %8.2f GFLOP/s\n", "Eigen fp32, 512 x 4096 x 4096",
                  r.gemmFlops / 1e9);
    out += line;
    std::snprintf(line, sizeof line, "  prefill                                      %8.2f GFLOP/s = %.1f%% of the GEMM rate; "
                                     "%.0f tokens/s per block (%.1f tokens/s through all 16 blocks)\n",
                  r.prefillFlops / 1e9, 100.0 * r.fractionOfGemm, r.prefillTokensPerSecond,
                  r.prefillTokensPerSecond / 16.0);
    out += line;
    std::snprintf(line, sizeof line, "  output head (vocabulary 128256, 256 rows)    %8.2f GFLOP/s = %.1f%% of the GEMM rate\n",
                  r.headFlops / 1e9, 100.0 * r.headFlops / r.gemmFlops);
    out += line;
    const std::uint64_t prefill = r.blockWeightBytes + r.activationBytes;
    const std::uint64_t head = r.headWeightBytes + r.logitBytes;
    std::snprintf(line, sizeof line,
                  "  memory, prefill: one block's weights %s + KV cache and activations %s = %s; peak resident growth "
                  "%s (%.0f%%)\n",
                  formatBinaryBytes(double(r.blockWeightBytes)).c_str(), formatBinaryBytes(double(r.activationBytes)).c_str(),
                  formatBinaryBytes(double(prefill)).c_str(), formatBinaryBytes(double(r.prefillPeakGrowthBytes)).c_str(),
                  100.0 * double(r.prefillPeakGrowthBytes) / double(prefill));
    out += line;
    std::snprintf(line, sizeof line,
                  "  memory, output head: its weights %s + one sequence's logits per thread %s = %s; peak resident "
                  "growth %s (%.0f%%)\n",
                  formatBinaryBytes(double(r.headWeightBytes)).c_str(), formatBinaryBytes(double(r.logitBytes)).c_str(),
                  formatBinaryBytes(double(head)).c_str(), formatBinaryBytes(double(r.headPeakGrowthBytes)).c_str(),
                  100.0 * double(r.headPeakGrowthBytes) / double(head));
    out += line;
    return out;
}

} // namespace quantlens::core
