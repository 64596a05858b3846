#include "core/eval/eval.h"

#include "core/eval/awq_search.h"
#include "core/eval/token_input.h"
#include "core/eval/tokenizer.h"
#include "core/eval/transformer.h"
#include "core/quant/quant_policy.h"
#include "core/scan/thread_pool.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace quantlens::core {

namespace {

// Counts block runs (and metric passes) for the progress bar, and checks for cancellation.
class Tracker {
public:
    Tracker(const ProgressSink* sink, std::uint64_t total)
        : m_sink(sink)
        , m_total(total)
    {
    }
    void step(const std::string& what)
    {
        if (m_sink) {
            m_sink->throwIfCancelled();
            Progress p;
            p.done = ++m_done;
            p.total = std::max(m_total, m_done);
            p.unit = "steps";
            p.current = what;
            m_sink->report(p);
        }
    }
    void check() const
    {
        if (m_sink)
            m_sink->throwIfCancelled();
    }

private:
    const ProgressSink* m_sink;
    std::uint64_t m_total;
    std::uint64_t m_done = 0;
};

// The Linear weights of a block that read one input (q, k and v the attention's; gate and up the
// MLP's), those the file has.
std::vector<std::size_t> linearsReading(const LlamaLayerTensors& b, LinearInput which)
{
    const std::vector<std::ptrdiff_t> all = which == LinearInput::Attention
        ? std::vector<std::ptrdiff_t> {b.q, b.k, b.v}
        : which == LinearInput::AttentionOutput ? std::vector<std::ptrdiff_t> {b.o}
        : which == LinearInput::Mlp             ? std::vector<std::ptrdiff_t> {b.gate, b.up}
                                                : std::vector<std::ptrdiff_t> {b.down};
    std::vector<std::size_t> present;
    for (const auto index : all)
        if (index >= 0)
            present.push_back(std::size_t(index));
    return present;
}

using States = std::vector<RowMatrix>; // one hidden-state matrix (positions x hidden) per sequence

States embedAll(const Transformer& model, const TokenSet& tokens)
{
    States states;
    for (const auto& s : tokens.sequences)
        states.push_back(model.embed(s));
    return states;
}

// Runs blocks [from, layers) on every sequence (prefill: all positions at once), one block's
// weights in memory at a time. `inputs`, when given, receives each block's input states.
void runBlocks(const Transformer& model, States& states, std::uint64_t from, ThreadPool& pool, Tracker& tracker,
               const std::string& label, std::vector<States>* inputs = nullptr)
{
    for (std::uint64_t l = from; l < model.config().layers; ++l) {
        tracker.check();
        if (inputs)
            inputs->push_back(states);
        const BlockWeights weights = model.loadBlock(l);
        pool.run(states.size(), [&](std::size_t i, unsigned) {
            tracker.check();
            KvCache cache = model.reserve(std::uint64_t(states[i].rows()));
            model.runBlock(weights, states[i], cache);
        });
        tracker.step(strCat(label, ": layer ", l + 1, " of ", model.config().layers));
    }
}

struct LogSoftmaxRow {
    double logSumExp = 0.0;
    Eigen::Index argmax = 0;
};

LogSoftmaxRow analyse(const float* row, Eigen::Index n)
{
    LogSoftmaxRow r;
    float top = row[0];
    for (Eigen::Index j = 1; j < n; ++j) {
        if (row[j] > top) {
            top = row[j];
            r.argmax = j;
        }
    }
    double sum = 0.0;
    for (Eigen::Index j = 0; j < n; ++j)
        sum += std::exp(double(row[j]) - double(top));
    r.logSumExp = double(top) + std::log(sum);
    return r;
}

// Per-position comparison of a model against the baseline over every sequence.
struct Comparison {
    std::vector<double> kl; // per scored position, in sequence order
    double baselineNll = 0.0;
    double modelNll = 0.0;
    double deltaLogProb = 0.0;
    std::uint64_t agree = 0;
    std::uint64_t positions = 0;
};

Comparison compare(const Transformer& base, const RowMatrix& baseHead, const Eigen::VectorXf& baseNorm,
                   const States& baseStates, const Transformer& other, const RowMatrix& otherHead,
                   const Eigen::VectorXf& otherNorm, const States& otherStates, const TokenSet& tokens,
                   ThreadPool& pool, Tracker& tracker)
{
    const std::size_t n = tokens.sequences.size();
    std::vector<Comparison> parts(n);
    pool.run(n, [&](std::size_t i, unsigned) {
        tracker.check();
        const auto& sequence = tokens.sequences[i];
        RowMatrix a;
        RowMatrix b;
        base.logits(baseHead, baseNorm, baseStates[i], a);
        other.logits(otherHead, otherNorm, otherStates[i], b);
        auto& part = parts[i];
        const Eigen::Index vocab = a.cols();
        for (std::size_t t = 0; t + 1 < sequence.size(); ++t) {
            const float* pa = a.row(Eigen::Index(t)).data();
            const float* pb = b.row(Eigen::Index(t)).data();
            const auto sa = analyse(pa, vocab);
            const auto sb = analyse(pb, vocab);
            double kl = 0.0;
            for (Eigen::Index j = 0; j < vocab; ++j) {
                const double la = double(pa[j]) - sa.logSumExp;
                const double lb = double(pb[j]) - sb.logSumExp;
                kl += std::exp(la) * (la - lb);
            }
            part.kl.push_back(std::max(kl, 0.0));
            const auto next = Eigen::Index(sequence[t + 1]);
            const double nllA = sa.logSumExp - double(pa[next]);
            const double nllB = sb.logSumExp - double(pb[next]);
            part.baselineNll += nllA;
            part.modelNll += nllB;
            part.deltaLogProb += nllA - nllB;
            part.agree += sa.argmax == sb.argmax ? 1 : 0;
            ++part.positions;
        }
    });
    Comparison all;
    for (auto& part : parts) {
        all.kl.insert(all.kl.end(), part.kl.begin(), part.kl.end());
        all.baselineNll += part.baselineNll;
        all.modelNll += part.modelNll;
        all.deltaLogProb += part.deltaLogProb;
        all.agree += part.agree;
        all.positions += part.positions;
    }
    return all;
}

// The value at quantile q of sorted values, interpolating linearly between ranks (numpy's default).
double quantile(const std::vector<double>& sorted, double q)
{
    if (sorted.empty())
        return std::nan("");
    const double rank = q * double(sorted.size() - 1);
    const auto below = std::size_t(std::floor(rank));
    const auto above = std::min(below + 1, sorted.size() - 1);
    return sorted[below] + (sorted[above] - sorted[below]) * (rank - double(below));
}

KlSummary summarise(std::vector<double> kl)
{
    KlSummary s;
    if (kl.empty())
        return s;
    double sum = 0.0;
    for (double v : kl)
        sum += v;
    std::sort(kl.begin(), kl.end());
    s.mean = sum / double(kl.size());
    s.median = quantile(kl, 0.5);
    s.p99 = quantile(kl, 0.99);
    s.max = kl.back();
    return s;
}

bool isPlainFloat(DType type)
{
    return type == DType::F32 || type == DType::F16 || type == DType::BF16;
}

// One model to compare: a scheme simulated on the baseline's weights, or another file.
struct Variant {
    EvalComparison row;
    std::unique_ptr<Model> file; // for kind "file"
    std::optional<LlamaConfig> fileConfig;
    std::shared_ptr<QuantPolicy> policy; // for kind "scheme"
    std::shared_ptr<const CalibrationData> calibration; // for a scheme that needs calibration inputs
    std::map<std::size_t, std::shared_ptr<const Scheme>> recipe; // for kind "recipe": tensor index -> scheme
    std::set<std::size_t> only; // sensitivity: the tensors of one group (empty: every tensor the policy takes)
};

SchemeChooser chooserFor(const Model& model, const std::shared_ptr<QuantPolicy>& policy,
                         const std::set<std::size_t>& only,
                         const std::shared_ptr<const CalibrationData>& calibration = nullptr)
{
    return [&model, policy, only, calibration](std::size_t index) -> std::shared_ptr<const Scheme> {
        if (!only.empty() && !only.contains(index))
            return nullptr;
        auto scheme = policy->forTensor(model.tensors()[index]).scheme;
        if (scheme && scheme->needsCalibration()) {
            auto bound = calibration ? bindCalibration(scheme, *calibration, index) : nullptr;
            if (!bound)
                throw UsageError(strCat(scheme->id(), " needs calibration inputs for ", model.tensors()[index].name,
                                        ", and the forward pass gave none"));
            return bound;
        }
        return scheme;
    };
}

// Bits per parameter of the baseline's weights with `policy` applied (kept tensors at their stored size).
double policyBits(const Model& model, const QuantPolicy& policy, EvalComparison& row)
{
    double bits = 0.0;
    std::map<std::string, std::uint64_t> noteCounts;
    for (const auto& t : model.tensors()) {
        const auto q = policy.forTensor(t);
        if (q.scheme) {
            bits += q.scheme->bitsPerParameter(t.shape) * double(t.elementCount());
            ++row.quantizedTensors;
            if (!q.note.empty())
                ++noteCounts[q.note];
        } else {
            bits += double(t.byteSize) * 8.0;
        }
        ++row.totalTensors;
    }
    for (const auto& [note, count] : noteCounts)
        row.notes.push_back(strCat(count, count == 1 ? " tensor" : " tensors", " in ", note));
    const auto params = model.totalParameters();
    return params ? bits / double(params) : 0.0;
}

double fileBits(const Model& model)
{
    const auto params = model.totalParameters();
    return params ? double(model.totalBytes()) * 8.0 / double(params) : 0.0;
}

std::mt19937_64 generatorFor(std::uint64_t seed, std::uint64_t sequence)
{
    std::seed_seq seq {std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(sequence), 0x51a9u};
    return std::mt19937_64(seq);
}

void checkTokens(const LlamaConfig& config, const TokenSet& tokens)
{
    for (std::size_t i = 0; i < tokens.sequences.size(); ++i) {
        const auto& s = tokens.sequences[i];
        if (s.size() < 2)
            throw UsageError(strCat("sequence ", i + 1, " has ", s.size(), " token; at least 2 are needed"));
        if (config.context && s.size() > config.context)
            throw UsageError(strCat("sequence ", i + 1, " has ", s.size(), " tokens, more than the model's context of ",
                                    config.context));
        for (auto id : s)
            if (id < 0 || std::uint64_t(id) >= config.vocab)
                throw UsageError(
                    strCat("sequence ", i + 1, " holds token id ", id, ", outside the vocabulary of ", config.vocab));
    }
}

// The baseline's run, kept for variants that differ from it in a few tensors only.
struct Baseline {
    const Transformer& model;
    States states; // after the last block
    std::vector<States> inputs; // of each block
    RowMatrix head;
    Eigen::VectorXf norm;
};

// The baseline with `chooser` applied to the tensors `members` (and no others), run from the first
// block one of them is in (the baseline's own states before it), compared with the baseline.
Comparison runChanged(const Model& model, const LlamaConfig& config, const Baseline& base,
                      const std::set<std::size_t>& members, SchemeChooser chooser, const TokenSet& tokens,
                      ThreadPool& pool, Tracker& tracker, const std::string& label)
{
    const Transformer other(model, config, std::move(chooser));
    std::uint64_t from = config.layers;
    bool touchesEmbedding = false;
    for (auto index : members) {
        const auto& t = model.tensors()[index];
        if (t.layer >= 0)
            from = std::min<std::uint64_t>(from, std::uint64_t(t.layer));
        if (std::ptrdiff_t(index) == config.embedding)
            touchesEmbedding = true;
    }
    States states;
    if (touchesEmbedding) {
        states = embedAll(other, tokens);
        from = 0;
    } else {
        states = from < config.layers ? base.inputs[from] : base.states;
    }
    runBlocks(other, states, from, pool, tracker, label);
    const bool headChanged = members.contains(std::size_t(config.head));
    const RowMatrix otherHead = headChanged ? other.loadHead() : RowMatrix();
    return compare(base.model, base.head, base.norm, base.states, other, headChanged ? otherHead : base.head, base.norm,
                   states, tokens, pool, tracker);
}

} // namespace

TokenSet sampleSequences(const Model& model, const LlamaConfig& config, std::uint64_t count, std::uint64_t length,
                         std::uint64_t seed, unsigned threads, const ProgressSink* progress)
{
    if (config.bosId < 0 || std::uint64_t(config.bosId) >= config.vocab)
        throw UsageError(strCat(model.path().filename().string(),
                                " names no BOS token to start sampling from; give token ids with --tokens"));
    if (count == 0 || length < 2)
        throw UsageError("sampling needs at least 1 sequence of at least 2 tokens");
    if (config.context != 0 && length > config.context)
        throw UsageError(
            strCat("sampled sequences of ", length, " tokens exceed the model's context of ", config.context));
    const Transformer transformer(model, config);
    ThreadPool pool(threads);
    Tracker tracker(progress, length - 1);
    // Decoded blocks are kept while they fit in 4 GiB; beyond that each step decodes them again.
    std::vector<BlockWeights> blocks;
    std::uint64_t blockBytes = 0;
    for (std::uint64_t l = 0; l < config.layers && blockBytes < (std::uint64_t(4) << 30); ++l) {
        blocks.push_back(transformer.loadBlock(l));
        blockBytes += blocks.back().bytes();
    }
    if (blockBytes >= (std::uint64_t(4) << 30))
        blocks.clear();
    const RowMatrix head = transformer.loadHead();
    const Eigen::VectorXf norm = transformer.loadFinalNorm();

    TokenSet set;
    set.sequences.assign(count, {std::int32_t(config.bosId)});
    std::vector<std::vector<KvCache>> caches(config.layers);
    for (auto& layer : caches)
        for (std::uint64_t i = 0; i < count; ++i)
            layer.push_back(transformer.reserve(length));
    std::vector<std::mt19937_64> generators;
    for (std::uint64_t i = 0; i < count; ++i)
        generators.push_back(generatorFor(seed, i));

    std::vector<RowMatrix> x(count);
    for (std::uint64_t step = 0; step + 1 < length; ++step) {
        for (std::uint64_t i = 0; i < count; ++i)
            x[i] = transformer.embed(std::span(&set.sequences[i].back(), 1));
        for (std::uint64_t l = 0; l < config.layers; ++l) {
            std::optional<BlockWeights> loaded;
            if (blocks.empty())
                loaded = transformer.loadBlock(l);
            const BlockWeights& w = blocks.empty() ? *loaded : blocks[l];
            pool.run(count, [&](std::size_t i, unsigned) { transformer.runBlock(w, x[i], caches[l][i]); });
        }
        pool.run(count, [&](std::size_t i, unsigned) {
            RowMatrix logits;
            transformer.logits(head, norm, x[i], logits);
            const auto s = analyse(logits.data(), logits.cols());
            // Inverse-CDF sampling from the softmax, with a uniform draw built from 53 random bits
            // (std::uniform_real_distribution's algorithm differs between standard libraries).
            const double u = double(generators[i]() >> 11) * 0x1.0p-53;
            double cumulative = 0.0;
            Eigen::Index chosen = logits.cols() - 1;
            for (Eigen::Index j = 0; j < logits.cols(); ++j) {
                cumulative += std::exp(double(logits(0, j)) - s.logSumExp);
                if (u < cumulative) {
                    chosen = j;
                    break;
                }
            }
            set.sequences[i].push_back(std::int32_t(chosen));
        });
        tracker.step(strCat("sampling: token ", step + 2, " of ", length));
    }
    set.source = strCat(count, count == 1 ? " sequence" : " sequences", " of ", length,
                        " tokens sampled from the baseline model (temperature 1, seed ", seed, ", starting with BOS ",
                        config.bosId, ")");
    return set;
}

TokenSet loadEvalTokens(const Model& model, const LlamaConfig& config, const EvalInputSpec& input, unsigned threads,
                        const ProgressSink* progress)
{
    if (!input.tokens.empty())
        return readTokenFile(input.tokens, config.vocab, config.context);
    if (!input.text.empty()) {
        const auto tokenizer = loadTokenizer(model);
        if (config.context && input.length > config.context)
            throw UsageError(
                strCat("text sequences of ", input.length, " tokens exceed the model's context of ", config.context));
        return tokenizeTextFile(*tokenizer, input.text, input.length, input.sequences, config.vocab);
    }
    return sampleSequences(model, config, input.sequences, input.length, input.seed, threads, progress);
}

EvalResult runEval(const Model& baseline, const TokenSet& tokens, const EvalOptions& options,
                   const ProgressSink* progress)
{
    const auto start = std::chrono::steady_clock::now();
    const LlamaConfig config = llamaConfigFor(baseline);
    checkTokens(config, tokens);

    EvalResult result;
    result.model = baseline.path().string();
    result.config = config.summary();
    result.input = tokens.source;
    result.sequences = tokens.sequences.size();
    result.tokens = tokens.tokenCount();
    result.tokensScored = tokens.scoredCount();
    result.baselineBitsPerParameter = fileBits(baseline);

    // Calibration inputs for the schemes that need them (GPTQ): their own tokens, never these.
    std::optional<TokenSet> calibrationTokens;
    const auto ensureCalibrationTokens = [&]() -> const TokenSet& {
        if (!calibrationTokens)
            calibrationTokens = options.calibration
                ? *options.calibration
                : sampleCalibrationTokens(baseline, config, options.threads, progress);
        return *calibrationTokens;
    };
    // GPTQ sequentially (unless told not to), as its reference runs; AWQ on the original model's
    // inputs, as llm-awq's run_awq does.
    bool anySequential = false, anyOriginal = false;
    std::string awqSummary;
    const auto calibrationFor = [&](const std::shared_ptr<const Scheme>& scheme) {
        const bool awq = scheme->awqOptions() != nullptr;
        const bool sequential = options.sequentialCalibration && !awq;
        auto data = std::make_shared<CalibrationData>(collectCalibration(
            baseline, ensureCalibrationTokens(), options.threads, progress, sequential ? scheme : nullptr, {scheme}));
        (sequential ? anySequential : anyOriginal) = true;
        std::string mode;
        if (anySequential)
            mode = "sequential: each GPTQ scheme's layers on the inputs its own quantized layers before them give";
        if (anyOriginal)
            mode += strCat(mode.empty() ? "" : "; ", "the original model's inputs to each layer",
                           anySequential ? " for AWQ" : "");
        if (awq)
            awqSummary += strCat(awqSummary.empty() ? "" : "; ", data->awqSummary());
        result.calibration = strCat(data->source, "; ", mode, awqSummary.empty() ? "" : ". ", awqSummary);
        return std::shared_ptr<const CalibrationData>(std::move(data));
    };
    std::vector<Variant> variants;
    for (const auto& scheme : options.schemes) {
        Variant v;
        v.policy = std::make_shared<QuantPolicy>(scheme);
        if (scheme->needsCalibration())
            v.calibration = calibrationFor(scheme);
        v.row.name = scheme->id();
        v.row.kind = "scheme";
        v.row.policy = v.policy->description();
        v.row.bitsPerParameter = policyBits(baseline, *v.policy, v.row);
        variants.push_back(std::move(v));
    }
    for (const auto& path : options.compare) {
        Variant v;
        v.file = openModel(path);
        v.fileConfig = llamaConfigFor(*v.file);
        checkSameShape(config, baseline, *v.fileConfig, path.filename().string());
        // The file's name; with its folder when another compared file has the same name
        // (mix-a/model.safetensors, mix-b/model.safetensors).
        v.row.name = path.filename().string();
        const auto sameName = std::count_if(options.compare.begin(), options.compare.end(),
                                            [&](const auto& p) { return p.filename() == path.filename(); });
        if (sameName > 1 && path.has_parent_path())
            v.row.name = (std::filesystem::absolute(path).parent_path().filename() / path.filename()).string();
        v.row.kind = "file";
        v.row.policy = strCat("the file's own weights (", v.file->format(), ")");
        v.row.bitsPerParameter = fileBits(*v.file);
        for (const auto& t : v.file->tensors()) {
            v.row.quantizedTensors += isPlainFloat(t.dtype) ? 0 : 1;
            ++v.row.totalTensors;
        }
        variants.push_back(std::move(v));
    }

    for (const auto& recipe : options.recipes) {
        Variant v;
        v.row.name = recipe.name;
        v.row.kind = "recipe";
        v.row.policy = strCat("a mix of ", recipe.schemes.size(), " tensors, each in its own scheme");
        std::map<std::string, std::shared_ptr<const Scheme>> made;
        double bits = 0.0;
        for (std::size_t i = 0; i < baseline.tensors().size(); ++i) {
            const auto& t = baseline.tensors()[i];
            const auto it = recipe.schemes.find(t.name);
            if (it == recipe.schemes.end()) {
                bits += double(t.byteSize) * 8.0;
            } else {
                auto& scheme = made[it->second];
                if (!scheme)
                    scheme = makeScheme(it->second);
                if (const auto why = scheme->cannotStore(t.shape); !why.empty())
                    throw UsageError(strCat(recipe.name, ": ", t.name, ": ", why));
                v.recipe[i] = scheme;
                bits += scheme->bitsPerParameter(t.shape) * double(t.elementCount());
                ++v.row.quantizedTensors;
            }
            ++v.row.totalTensors;
        }
        if (v.recipe.size() != recipe.schemes.size())
            throw UsageError(
                strCat(recipe.name, ": names tensors that ", baseline.path().filename().string(), " does not have"));
        v.row.bitsPerParameter = baseline.totalParameters() ? bits / double(baseline.totalParameters()) : 0.0;
        variants.push_back(std::move(v));
    }

    // Sensitivity groups: the tensors the scheme's policy quantizes, by layer or by role.
    std::shared_ptr<QuantPolicy> sensitivityPolicy;
    std::shared_ptr<const CalibrationData> sensitivityCalibration;
    std::vector<std::pair<std::string, std::set<std::size_t>>> groups;
    if (options.sensitivity != SensitivityMode::None) {
        auto scheme = options.sensitivityScheme ? options.sensitivityScheme
                                                : (options.schemes.empty() ? nullptr : options.schemes.front());
        if (!scheme)
            throw UsageError("a sensitivity run needs a scheme (--scheme)");
        sensitivityPolicy = std::make_shared<QuantPolicy>(scheme);
        if (scheme->needsCalibration()) // one group at a time: the original model's inputs
            sensitivityCalibration = std::make_shared<CalibrationData>(
                collectCalibration(baseline, ensureCalibrationTokens(), options.threads, progress, nullptr, {scheme}));
        std::map<std::string, std::set<std::size_t>> byName;
        std::vector<std::string> order;
        const auto& ts = baseline.tensors();
        for (std::size_t i = 0; i < ts.size(); ++i) {
            if (!sensitivityPolicy->forTensor(ts[i]).scheme)
                continue;
            std::string name = options.sensitivity == SensitivityMode::Role || ts[i].layer < 0
                ? std::string(roleName(ts[i].role))
                : strCat("layer ", ts[i].layer);
            if (!byName.contains(name))
                order.push_back(name);
            byName[name].insert(i);
        }
        if (options.sensitivity == SensitivityMode::Layer) { // layers in order, then the rest
            std::stable_sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
                const bool la = a.rfind("layer ", 0) == 0;
                const bool lb = b.rfind("layer ", 0) == 0;
                if (la != lb)
                    return la;
                return la && std::stoi(a.substr(6)) < std::stoi(b.substr(6));
            });
        }
        for (const auto& name : order)
            groups.emplace_back(name, byName[name]);
    }

    const std::uint64_t layers = config.layers;
    Tracker tracker(progress, (1 + variants.size()) * (layers + 1) + groups.size() * (layers + 1));
    ThreadPool pool(options.threads);
    result.threads = pool.size();

    const Transformer base(baseline, config);
    Baseline run {base, embedAll(base, tokens), {}, base.loadHead(), base.loadFinalNorm()};
    runBlocks(base, run.states, 0, pool, tracker, "baseline", groups.empty() ? nullptr : &run.inputs);
    const States& baseStates = run.states;
    const RowMatrix& baseHead = run.head;
    const Eigen::VectorXf& baseNorm = run.norm;

    bool baselineScored = false;
    const auto finish = [&](EvalComparison& row, const Comparison& c) {
        const double positions = double(std::max<std::uint64_t>(c.positions, 1));
        if (!baselineScored) {
            result.baselinePerplexity = std::exp(c.baselineNll / positions);
            baselineScored = true;
        }
        row.perplexity = std::exp(c.modelNll / positions);
        row.top1Agreement = double(c.agree) / positions;
        row.meanDeltaLogProb = c.deltaLogProb / positions;
        row.kl = summarise(c.kl);
    };

    for (auto& v : variants) {
        const Model& model = v.file ? *v.file : baseline;
        const LlamaConfig& vc = v.fileConfig ? *v.fileConfig : config;
        SchemeChooser chooser;
        if (v.policy)
            chooser = chooserFor(baseline, v.policy, {}, v.calibration);
        else if (!v.recipe.empty())
            chooser = [&v](std::size_t index) -> std::shared_ptr<const Scheme> {
                const auto it = v.recipe.find(index);
                return it == v.recipe.end() ? nullptr : it->second;
            };
        const Transformer other(model, vc, chooser);
        States states = embedAll(other, tokens);
        runBlocks(other, states, 0, pool, tracker, v.row.name);
        const bool sameHead = !v.file && !(chooser && chooser(std::size_t(config.head)));
        const RowMatrix otherHead = sameHead ? RowMatrix() : other.loadHead();
        const Eigen::VectorXf otherNorm = v.file ? other.loadFinalNorm() : baseNorm;
        const auto c = compare(base, baseHead, baseNorm, baseStates, other, sameHead ? baseHead : otherHead, otherNorm,
                               states, tokens, pool, tracker);
        finish(v.row, c);
        tracker.step(strCat(v.row.name, ": metrics"));
        result.results.push_back(v.row);
    }

    if (!groups.empty()) {
        result.sensitivityMode = options.sensitivity == SensitivityMode::Layer ? "layer" : "role";
        for (const auto& [name, members] : groups) {
            std::uint64_t parameters = 0;
            for (auto index : members)
                parameters += baseline.tensors()[index].elementCount();
            const auto c = runChanged(baseline, config, run, members,
                                      chooserFor(baseline, sensitivityPolicy, members, sensitivityCalibration), tokens,
                                      pool, tracker, strCat(sensitivityPolicy->scheme()->id(), " on ", name));
            tracker.step(strCat(name, ": metrics"));
            SensitivityRow row;
            row.group = name;
            row.scheme = sensitivityPolicy->scheme()->id();
            row.tensors = members.size();
            row.parameters = parameters;
            const double positions = double(std::max<std::uint64_t>(c.positions, 1));
            row.klMean = summarise(c.kl).mean;
            row.top1Agreement = double(c.agree) / positions;
            if (!baselineScored) {
                result.baselinePerplexity = std::exp(c.baselineNll / positions);
                baselineScored = true;
            }
            result.sensitivity.push_back(row);
        }
    }

    if (!baselineScored) { // nothing compared: the baseline against itself gives its perplexity
        const auto c = compare(base, baseHead, baseNorm, baseStates, base, baseHead, baseNorm, baseStates, tokens, pool,
                               tracker);
        result.baselinePerplexity = std::exp(c.baselineNll / double(std::max<std::uint64_t>(c.positions, 1)));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

ActivationStatistics collectActivationStatistics(const Model& model, const TokenSet& tokens, unsigned threads,
                                                 const ProgressSink* progress)
{
    const LlamaConfig config = llamaConfigFor(model);
    checkTokens(config, tokens);
    ActivationStatistics a;
    a.input = tokens.source;
    a.positions = tokens.tokenCount();
    const double positions = double(std::max<std::uint64_t>(a.positions, 1));
    if (config.embedding >= 0) {
        std::vector<double> rows(config.vocab, 0.0);
        for (const auto& s : tokens.sequences)
            for (auto id : s)
                rows[std::size_t(id)] += 1.0;
        for (auto& r : rows)
            r /= positions;
        a.rows[std::size_t(config.embedding)] = std::move(rows);
    }
    const Transformer transformer(model, config);
    ThreadPool pool(threads);
    Tracker tracker(progress, config.layers + 1);
    States states = embedAll(transformer, tokens);
    const std::size_t n = states.size();
    // Sums per sequence, added in sequence order: the same figures on any thread count.
    const auto meanSquares = [&](const std::vector<Eigen::VectorXd>& sums) {
        Eigen::VectorXd total = Eigen::VectorXd::Zero(sums.front().size());
        for (const auto& s : sums)
            total += s;
        total /= positions;
        return std::vector<double>(total.data(), total.data() + total.size());
    };
    const auto squares
        = [](const RowMatrix& x) -> Eigen::VectorXd { return x.cast<double>().colwise().squaredNorm().transpose(); };
    for (std::uint64_t l = 0; l < config.layers; ++l) {
        tracker.check();
        const BlockWeights weights = transformer.loadBlock(l);
        std::vector<std::array<Eigen::VectorXd, 4>> sums(n);
        pool.run(n, [&](std::size_t i, unsigned) {
            tracker.check();
            const LinearInputObserver observe = [&sums, &squares, i](LinearInput which, const RowMatrix& x) {
                sums[i][std::size_t(which)] = squares(x);
            };
            KvCache cache = transformer.reserve(std::uint64_t(states[i].rows()));
            transformer.runBlock(weights, states[i], cache, &observe);
        });
        const auto& b = config.blocks[l];
        for (std::size_t which = 0; which < 4; ++which) {
            std::vector<Eigen::VectorXd> slot;
            for (const auto& s : sums)
                slot.push_back(s[which]);
            const auto mean = meanSquares(slot);
            for (const std::size_t index : linearsReading(b, LinearInput(which)))
                a.columns[index] = mean;
        }
        tracker.step(strCat("activations: layer ", l + 1, " of ", config.layers));
    }
    const Eigen::VectorXf norm = transformer.loadFinalNorm();
    std::vector<Eigen::VectorXd> sums(n);
    pool.run(n, [&](std::size_t i, unsigned) {
        RowMatrix xn;
        transformer.finalNormed(norm, states[i], xn);
        sums[i] = squares(xn);
    });
    if (config.head >= 0)
        a.columns[std::size_t(config.head)] = meanSquares(sums);
    tracker.step("activations: output head");
    return a;
}

TokenSet sampleCalibrationTokens(const Model& model, const LlamaConfig& config, unsigned threads,
                                 const ProgressSink* progress)
{
    return sampleSequences(model, config, 16, std::min<std::uint64_t>(256, config.context), kCalibrationSeed, threads,
                           progress);
}

bool anyNeedsCalibration(const std::vector<std::shared_ptr<const ScanScheme>>& schemes)
{
    return std::any_of(schemes.begin(), schemes.end(), [](const auto& s) { return s && s->needsCalibration(); });
}

std::optional<CalibrationData> calibrateScan(const Model& model,
                                             const std::vector<std::shared_ptr<const ScanScheme>>& schemes, bool asked,
                                             const std::filesystem::path& tokens, unsigned threads,
                                             const ProgressSink* progress, std::string* whyNot)
{
    if (!asked && tokens.empty() && !anyNeedsCalibration(schemes))
        return std::nullopt;
    try {
        const LlamaConfig config = llamaConfigFor(model);
        const TokenSet set = tokens.empty() ? sampleCalibrationTokens(model, config, threads, progress)
                                            : readTokenFile(tokens, config.vocab, config.context);
        std::vector<std::shared_ptr<const Scheme>> quantizers;
        for (const auto& scheme : schemes)
            quantizers.push_back(scheme->scheme());
        return collectCalibration(model, set, threads, progress, nullptr, quantizers);
    } catch (const Error& e) {
        // A model the forward pass cannot run (no config.json, another architecture): UnsupportedError
        // or UsageError. Reading errors and cancellation go on as they are.
        const bool cannotRun = dynamic_cast<const UnsupportedError*>(&e) || dynamic_cast<const UsageError*>(&e);
        if (asked || !tokens.empty() || !cannotRun)
            throw;
        if (whyNot)
            *whyNot = e.what();
        return std::nullopt;
    }
}

CalibrationData collectCalibration(const Model& model, const TokenSet& tokens, unsigned threads,
                                   const ProgressSink* progress, const std::shared_ptr<const Scheme>& sequential,
                                   const std::vector<std::shared_ptr<const Scheme>>& schemes)
{
    const LlamaConfig config = llamaConfigFor(model);
    checkTokens(config, tokens);
    CalibrationData data;
    data.source = tokens.source;
    data.mode = sequential ? strCat("sequential: each layer's inputs from the layers before it in ", sequential->id())
                           : std::string("the original model's inputs to each layer");
    const double positions = double(std::max<std::uint64_t>(tokens.tokenCount(), 1));
    const Transformer original(model, config);
    // The quantized blocks, for the sequential mode: each Linear weight with its own Hessian, found
    // in `data` by the time its block is loaded.
    const Transformer quantized(model, config, [&](std::size_t index) -> std::shared_ptr<const Scheme> {
        // A weight the scheme cannot store stays as stored (the GPTQ export's layout keeps some).
        if (!sequential || !sequential->cannotStore(model.tensors()[index].shape).empty())
            return nullptr;
        return bindCalibration(sequential, data, index);
    });
    ThreadPool pool(threads);
    std::vector<std::shared_ptr<const Scheme>> awq;
    for (const auto& scheme : schemes)
        if (scheme && scheme->awqOptions())
            awq.push_back(scheme);
    Tracker tracker(progress, config.layers * ((sequential ? 2 : 1) + awq.size()));
    States states = embedAll(original, tokens);
    const std::size_t n = states.size();
    for (std::uint64_t l = 0; l < config.layers; ++l) {
        tracker.check();
        const BlockWeights weights = original.loadBlock(l);
        std::vector<std::array<RowMatrix, 4>> inputs(n);
        States next = states;
        pool.run(n, [&](std::size_t i, unsigned) {
            tracker.check();
            const LinearInputObserver observe
                = [&inputs, i](LinearInput which, const RowMatrix& x) { inputs[i][std::size_t(which)] = x; };
            KvCache cache = original.reserve(std::uint64_t(next[i].rows()));
            original.runBlock(weights, next[i], cache, &observe);
        });
        const auto& b = config.blocks[l];
        std::array<std::shared_ptr<const Calibration>, 4> layer; // alive through AWQ's search
        std::array<const Eigen::MatrixXf*, 4> hessians {};
        for (std::size_t which = 0; which < 4; ++which) {
            // Summed in sequence order: the same Hessian on any thread count.
            auto c = std::make_shared<Calibration>();
            for (const auto& sequence : inputs) {
                const RowMatrix& x = sequence[which];
                if (c->hessian.size() == 0)
                    c->hessian = Eigen::MatrixXf::Zero(x.cols(), x.cols());
                c->hessian.noalias() += x.transpose() * x;
                c->samples += std::uint64_t(x.rows());
            }
            c->hessian *= float(2.0 / positions);
            hessians[which] = &c->hessian;
            layer[which] = std::move(c);
            for (const std::size_t index : linearsReading(b, LinearInput(which)))
                data.tensors[index] = layer[which];
        }
        tracker.step(strCat("calibration: layer ", l + 1, " of ", config.layers));
        for (const auto& scheme : awq) {
            auto search = awqSearchBlock(original, weights, b, inputs, hessians, *scheme->awqOptions(), pool,
                                         [&tracker] { tracker.check(); });
            data.awq[scheme->id()].merge(search.tensors);
            data.awqAlpha[scheme->id()].push_back(search.alpha);
            tracker.step(strCat("calibration: layer ", l + 1, ", ", scheme->id(), "'s search"));
        }
        if (!sequential) {
            states = std::move(next);
            continue;
        }
        const BlockWeights q = quantized.loadBlock(l);
        pool.run(n, [&](std::size_t i, unsigned) {
            tracker.check();
            KvCache cache = quantized.reserve(std::uint64_t(states[i].rows()));
            quantized.runBlock(q, states[i], cache);
        });
        tracker.step(strCat("calibration: layer ", l + 1, " quantized in ", sequential->id()));
    }
    return data;
}

std::vector<double> probeTensorKl(const Model& model, const TokenSet& tokens, const std::vector<TensorProbe>& probes,
                                  unsigned threads, const ProgressSink* progress)
{
    const LlamaConfig config = llamaConfigFor(model);
    checkTokens(config, tokens);
    for (const auto& p : probes) {
        const auto& t = model.tensors().at(p.tensorIndex);
        if (const auto why = p.scheme->cannotStore(t.shape); !why.empty())
            throw UsageError(strCat(p.scheme->id(), " cannot store ", t.name, ": ", why));
    }
    ThreadPool pool(threads);
    std::uint64_t steps = config.layers;
    for (const auto& p : probes) {
        const int layer = model.tensors()[p.tensorIndex].layer;
        steps += (layer >= 0 ? config.layers - std::uint64_t(layer) : config.layers) + 1;
    }
    Tracker tracker(progress, steps);
    const Transformer base(model, config);
    Baseline run {base, embedAll(base, tokens), {}, base.loadHead(), base.loadFinalNorm()};
    runBlocks(base, run.states, 0, pool, tracker, "baseline", &run.inputs);
    std::vector<double> kl;
    kl.reserve(probes.size());
    for (const auto& p : probes) {
        const auto scheme = p.scheme;
        const std::size_t only = p.tensorIndex;
        const std::string& name = model.tensors()[only].name;
        const auto c = runChanged(
            model, config, run, {only},
            [scheme, only](std::size_t index) { return index == only ? scheme : std::shared_ptr<const Scheme>(); },
            tokens, pool, tracker, strCat(scheme->id(), " on ", name));
        kl.push_back(summarise(c.kl).mean);
        tracker.step(strCat(scheme->id(), " on ", name, ": metrics"));
    }
    return kl;
}

nlohmann::json evalToJson(const EvalResult& r)
{
    const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json j;
    j["model"] = r.model;
    j["config"] = r.config;
    j["input"] = r.input;
    j["calibration"] = r.calibration.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.calibration);
    j["sequences"] = r.sequences;
    j["tokens"] = r.tokens;
    j["tokens_scored"] = r.tokensScored;
    j["baseline"]
        = {{"perplexity", number(r.baselinePerplexity)}, {"bits_per_parameter", number(r.baselineBitsPerParameter)}};
    j["results"] = nlohmann::json::array();
    for (const auto& c : r.results) {
        j["results"].push_back({{"name", c.name},
                                {"kind", c.kind},
                                {"policy", c.policy},
                                {"notes", c.notes},
                                {"bits_per_parameter", number(c.bitsPerParameter)},
                                {"quantized_tensors", c.quantizedTensors},
                                {"total_tensors", c.totalTensors},
                                {"perplexity", number(c.perplexity)},
                                {"kl_mean", number(c.kl.mean)},
                                {"kl_median", number(c.kl.median)},
                                {"kl_p99", number(c.kl.p99)},
                                {"kl_max", number(c.kl.max)},
                                {"top1_agreement", number(c.top1Agreement)},
                                {"mean_delta_logprob", number(c.meanDeltaLogProb)}});
    }
    j["sensitivity_mode"] = r.sensitivityMode.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.sensitivityMode);
    j["sensitivity"] = nlohmann::json::array();
    for (const auto& s : r.sensitivity) {
        j["sensitivity"].push_back({{"group", s.group},
                                    {"scheme", s.scheme},
                                    {"tensors", s.tensors},
                                    {"parameters", s.parameters},
                                    {"kl_mean", number(s.klMean)},
                                    {"top1_agreement", number(s.top1Agreement)}});
    }
    j["seconds"] = r.seconds;
    j["threads"] = r.threads;
    return j;
}

} // namespace quantlens::core
