#include "core/advise/advisor.h"

#include "core/eval/llama_config.h"
#include "core/quant/quant_policy.h"
#include "core/quant/scheme.h"
#include "core/scan/scan.h"
#include "core/scan/scan_schemes.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

namespace quantlens::core {

namespace {

const std::vector<std::string> kGgmlDefault {"q2_k", "q3_k", "q4_0", "q4_1", "q4_k", "q5_0",
                                             "q5_1", "q5_k", "q6_k", "q8_0", "fp16"};
const std::vector<std::string> kBitsandbytesDefault {"nf4", "nf4-dq", "fp4"};

} // namespace

const char* toString(AdvisorCostKind kind)
{
    switch (kind) {
    case AdvisorCostKind::Activation:
        return "activation";
    case AdvisorCostKind::Kl:
        return "kl";
    default:
        return "weight";
    }
}

AdvisorCostKind parseAdvisorCostKind(const std::string& text)
{
    for (auto kind : {AdvisorCostKind::Weight, AdvisorCostKind::Activation, AdvisorCostKind::Kl})
        if (text == toString(kind))
            return kind;
    throw UsageError(strCat("unknown cost '", text, "': weight, activation or kl"));
}

std::string costLabel(const std::string& costId)
{
    if (costId == "activation")
        return "activation-weighted error";
    if (costId == "kl")
        return "predicted KL";
    return "weight error";
}

std::string costFormula(const std::string& costId)
{
    if (costId == "activation")
        return "\u03a3 d_j (W \u2212 Q(W))\u00b2";
    if (costId == "kl")
        return "\u03a3 KL (nats)";
    return "\u03a3 (W \u2212 Q(W))\u00b2";
}

EvalInputSpec defaultAdvisorTokens()
{
    EvalInputSpec spec;
    spec.seed = 2;
    return spec;
}

const std::vector<std::string> kLlamaCppFileTypes {"Q2_K",   "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S",
                                                   "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"};

std::vector<std::pair<std::size_t, std::string>> llamaCppFileTypeMix(const Model& model, const std::string& ft)
{
    if (std::find(kLlamaCppFileTypes.begin(), kLlamaCppFileTypes.end(), ft) == kLlamaCppFileTypes.end())
        throw UsageError(strCat("unknown llama.cpp file type '", ft, "'; known: ", joinCommaList(kLlamaCppFileTypes)));
    const auto& a = model.architecture();
    const int n = int(a.layers);
    const std::uint64_t gqa = a.kvHeads ? a.attentionHeads / a.kvHeads : 1;
    const bool is70b = a.name == "llama" && a.layers == 80 && a.attentionHeads != a.kvHeads;
    const auto moreBits = [n](int i) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; };
    const std::string base = ft.substr(0, 2) == "Q2" ? "q2_k"
        : ft.substr(0, 2) == "Q3"                    ? "q3_k"
        : ft.substr(0, 2) == "Q4"                    ? "q4_k"
        : ft.substr(0, 2) == "Q5"                    ? "q5_k"
                                                     : "q6_k";
    bool hasOutput = false;
    for (const auto& t : model.tensors())
        hasOutput = hasOutput || t.role == TensorRole::LmHead;
    std::vector<std::pair<std::size_t, std::string>> mix;
    for (std::size_t index = 0; index < model.tensors().size(); ++index) {
        const auto& t = model.tensors()[index];
        if (!isGgmlQuantizedWeight(t))
            continue;
        const int i = std::max(t.layer, 0);
        std::string type = base;
        const bool output = t.role == TensorRole::LmHead || (t.role == TensorRole::Embedding && !hasOutput);
        if (output) {
            // The output rule: Q8_0 when the rows are not whole blocks of the file's type, else Q6_K.
            type = makeScheme(base)->cannotStore(t.shape).empty() ? "q6_k" : "q8_0";
            mix.emplace_back(index, type);
            continue; // no fallback runs on it
        }
        switch (t.role) {
        case TensorRole::AttentionV:
            if (ft == "Q2_K")
                type = gqa >= 4 ? "q4_k" : "q3_k";
            else if (ft == "Q3_K_M")
                type = i < 2 ? "q5_k" : "q4_k";
            else if (ft == "Q3_K_L")
                type = "q5_k";
            else if (ft == "Q4_K_S")
                type = i < 4 ? "q5_k" : "q4_k";
            else if (ft == "Q4_K_M")
                type = moreBits(i) ? "q6_k" : "q4_k";
            else if (ft == "Q5_K_M")
                type = moreBits(i) ? "q6_k" : "q5_k";
            if (is70b && (type == "q3_k" || type == "q4_k"))
                type = "q5_k";
            break;
        case TensorRole::AttentionO:
            if (ft == "Q2_K")
                type = "q3_k";
            else if (ft == "Q3_K_M")
                type = "q4_k";
            else if (ft == "Q3_K_L")
                type = "q5_k";
            break;
        case TensorRole::MlpDown:
            if (ft == "Q2_K" || ft == "Q3_K_S")
                type = "q3_k";
            else if (ft == "Q3_K_M")
                type = i < n / 16 ? "q5_k" : "q4_k";
            else if (ft == "Q3_K_L")
                type = "q5_k";
            else if (ft == "Q4_K_S")
                type = i < n / 8 ? "q5_k" : "q4_k";
            else if (ft == "Q4_K_M")
                type = moreBits(i) ? "q6_k" : "q4_k";
            else if (ft == "Q5_K_M")
                type = moreBits(i) ? "q6_k" : "q5_k";
            break;
        default:
            break;
        }
        mix.emplace_back(index, ggmlStoredType(type, t.shape));
    }
    return mix;
}

AdvisorMeasurements measureForAdvice(const Model& model, const AdvisorOptions& options, ProgressSink& sink)
{
    const auto start = std::chrono::steady_clock::now();
    const bool ggml = options.family == AdvisorFamily::Ggml;
    AdvisorMeasurements m;
    AdvisorResult& r = m.base;
    r.model = model.path().string();
    r.family = ggml ? "ggml" : "bitsandbytes";
    r.candidates = options.schemes.empty() ? (ggml ? kGgmlDefault : kBitsandbytesDefault) : options.schemes;
    for (const auto& id : r.candidates) {
        const auto scheme = makeScheme(id); // UsageError naming an unknown id
        if (ggml != (isGgmlSchemeId(scheme->id()) || scheme->id() == "fp16" || scheme->id() == "bf16"))
            throw UsageError(strCat("'", id, "' is not a ", ggml ? "GGUF (ggml) type" : "bitsandbytes scheme", "; the ",
                                    r.family, " advisor takes ",
                                    joinCommaList(ggml ? kGgmlDefault : kBitsandbytesDefault)));
    }
    if (!ggml && model.format() == "gguf")
        throw UsageError(strCat(model.path().filename().string(),
                                " is a GGUF file: a bitsandbytes mix is for a "
                                "Hugging Face checkpoint (safetensors), whose modules transformers names; use the "
                                "ggml family"));

    // Which tensors take part: what the format quantizes. The others keep a fixed size: llama.cpp
    // stores 1-D tensors in F32; transformers keeps everything but the Linear weights as stored.
    std::vector<std::size_t>& candidates = m.candidates;
    const auto& tensors = model.tensors();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        r.parameters += t.elementCount();
        if (ggml ? isGgmlQuantizedWeight(t) : isLinearProjectionWeight(t)) {
            std::string why;
            if (!model.canDequantize(i, &why))
                throw UnsupportedError(
                    strCat(model.path().filename().string(), ": tensor '", t.name, "' cannot be decoded: ", why));
            candidates.push_back(i);
        } else {
            r.fixedBytes += ggml ? t.elementCount() * 4 : t.byteSize;
        }
    }
    if (candidates.empty())
        throw UsageError(
            strCat(model.path().filename().string(), " has no tensor the ", r.family, " advisor can choose for"));
    r.policy = ggml ? strCat(candidates.size(),
                             " 2-D weights (token embedding and output head included) take one of the "
                             "candidate types; 1-D tensors stay F32 as llama.cpp stores them")
                    : strCat(candidates.size(),
                             " Linear projection weights take the 4-bit type or stay in 16-bit "
                             "(llm_int8_skip_modules); embeddings, norms and the head stay as stored");

    // Measure every candidate tensor under every candidate scheme, reading each tensor once.
    // The activation and KL costs run the model: on tokens of their own (defaultAdvisorTokens).
    r.costId = toString(options.cost);
    TokenSet tokens;
    std::map<std::size_t, ErrorWeights> errorWeights;
    if (options.cost != AdvisorCostKind::Weight) {
        const LlamaConfig config = llamaConfigFor(model); // UnsupportedError for what the forward pass cannot run
        tokens = loadEvalTokens(model, config, options.tokens, options.threads, &sink);
        r.costInput = tokens.source;
    }
    if (options.cost == AdvisorCostKind::Activation) {
        const auto stats = collectActivationStatistics(model, tokens, options.threads, &sink);
        for (std::size_t index : candidates) {
            ErrorWeights w;
            if (const auto it = stats.columns.find(index); it != stats.columns.end())
                w.columns = it->second;
            if (const auto it = stats.rows.find(index); it != stats.rows.end())
                w.rows = it->second;
            if (w.columns.empty() && w.rows.empty())
                throw UnsupportedError(strCat(model.path().filename().string(), ": the forward pass does not read '",
                                              tensors[index].name,
                                              "', so it has no activations to weigh its error by"));
            errorWeights.emplace(index, std::move(w));
        }
        r.costKind = strCat("activation-weighted error: sum_ij d_j (W - Q(W))_ij^2 per tensor, d_j the mean square of "
                            "input channel j (the token's share of positions for the embedding's rows) over ",
                            tokens.source, "; llama.cpp's importance matrix, its diagonal");
    } else if (options.cost == AdvisorCostKind::Kl) {
        r.costKind = strCat("output KL: per tensor and type, the mean KL(baseline || model with that tensor alone "
                            "quantized) over ",
                            tokens.source, ", summed over tensors (interactions between tensors left out)");
    } else {
        r.costKind = "weight error: the squared error summed over each tensor, sum (W - Q(W))^2";
    }

    ScanOptions scan;
    scan.schemes = makeScanSchemes(joinCommaList(r.candidates), 0, false);
    scan.tensorIndices = candidates; // the candidate tensors are the policy's already
    scan.selection = TensorSelection::EveryTensor;
    scan.threads = options.threads;
    scan.errorWeights = errorWeights.empty() ? nullptr : &errorWeights;
    scan.onProgress = [&sink](const ScanProgress& p) { sink.report(p.progress); };
    const ScanResult measured = scanModel(model, scan, sink);
    std::vector<TensorProbe> probes;
    std::vector<std::pair<std::size_t, std::string>> probed;
    std::map<std::string, std::shared_ptr<const Scheme>> schemes;
    for (const auto& t : measured.tensors) {
        if (t.storedAs != t.scheme)
            continue; // the type cannot store this tensor
        const double cost
            = options.cost == AdvisorCostKind::Activation ? t.weightedError : t.error.mse * double(t.error.count);
        m.table[{t.tensorIndex, t.scheme}] = AdvisorCost {t.quantizedBytes, cost};
        if (options.cost == AdvisorCostKind::Kl) {
            auto& scheme = schemes[t.scheme];
            if (!scheme)
                scheme = makeScheme(t.scheme);
            probes.push_back({t.tensorIndex, scheme});
            probed.emplace_back(t.tensorIndex, t.scheme);
        }
    }
    if (!probes.empty()) {
        const auto kl = probeTensorKl(model, tokens, probes, options.threads, &sink);
        for (std::size_t i = 0; i < probes.size(); ++i)
            m.table[probed[i]].cost = kl[i];
    }
    m.tensors = tensors;
    m.modelBytes = model.totalBytes();
    if (ggml)
        for (const auto& ft : kLlamaCppFileTypes)
            m.llamaCppMixes.emplace_back(ft, llamaCppFileTypeMix(model, ft));
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return m;
}

AdvisorResult solveAdvice(const AdvisorMeasurements& m, std::uint64_t budgetBytes, std::size_t frontierPoints)
{
    const auto start = std::chrono::steady_clock::now();
    AdvisorResult r = m.base;
    const bool ggml = r.family == "ggml";
    const auto& tensors = m.tensors;
    const auto& candidates = m.candidates;
    const auto& table = m.table;
    AdvisorOptions options;
    options.budgetBytes = budgetBytes;
    options.frontierPoints = frontierPoints;

    // The items: per tensor, the options it can take.
    std::vector<std::vector<std::string>> names; // scheme of each option
    const auto buildItems = [&](const std::string& fourBit, std::vector<AllocationItem>& items) {
        items.clear();
        names.clear();
        for (std::size_t index : candidates) {
            AllocationItem item;
            std::vector<std::string> ids;
            if (ggml) {
                for (const auto& id : r.candidates) {
                    if (const auto it = table.find({index, id}); it != table.end()) {
                        item.push_back({it->second.bytes, it->second.cost});
                        ids.push_back(id);
                    }
                }
                if (item.empty())
                    throw UsageError(strCat("no candidate type can store '", tensors[index].name, "' (rows of ",
                                            tensors[index].shape.back(), "); add fp16 or q8_0 to the candidates"));
            } else {
                const auto it = table.find({index, fourBit});
                if (it != table.end()) {
                    item.push_back({it->second.bytes, it->second.cost});
                    ids.push_back(fourBit);
                }
                item.push_back({tensors[index].byteSize, 0.0});
                ids.push_back("keep");
            }
            items.push_back(std::move(item));
            names.push_back(std::move(ids));
        }
    };

    const auto assign = [&](const Allocation& a, const std::vector<AllocationItem>& items) {
        r.assignment.clear();
        for (std::size_t k = 0; k < candidates.size(); ++k) {
            const auto& t = tensors[candidates[k]];
            const auto& o = items[k][a.choice[k]];
            r.assignment.push_back({candidates[k], t.name, t.layer, std::string(roleName(t.role)),
                                    names[k][a.choice[k]], o.bytes, o.cost});
        }
        r.totalBytes = a.bytes + r.fixedBytes;
        r.predictedCost = a.cost;
        r.lowerBound = a.lowerBound;
        r.exact = a.exact;
    };
    const auto checkBudget = [&](std::uint64_t least, std::uint64_t most) {
        r.smallestBytes = least + r.fixedBytes;
        r.largestBytes = most + r.fixedBytes;
        r.budgetBytes = options.budgetBytes;
        if (options.budgetBytes < r.smallestBytes)
            throw UsageError(strCat("a budget of ", options.budgetBytes,
                                    " bytes is below the smallest mix of these "
                                    "candidates, ",
                                    r.smallestBytes, " bytes (every tensor in its smallest type, ", r.fixedBytes,
                                    " bytes of fixed tensors included)"));
        if (options.budgetBytes > r.largestBytes)
            throw UsageError(strCat("a budget of ", options.budgetBytes,
                                    " bytes is above the largest mix of these "
                                    "candidates, ",
                                    r.largestBytes,
                                    " bytes (every tensor in its largest type): there "
                                    "is nothing to choose; the model as stored is ",
                                    m.modelBytes, " bytes"));
    };

    std::vector<AllocationItem> items;
    if (ggml) {
        buildItems("", items);
        const auto [least, most] = allocationBounds(items);
        checkBudget(least, most);
        assign(solveAllocation(items, options.budgetBytes - r.fixedBytes), items);
        for (auto p : allocationFrontier(items, options.frontierPoints))
            r.frontier.push_back({p.bytes + r.fixedBytes, std::max(p.cost, 0.0)}); // sums of costs, not below 0
        // Each candidate alone, as llama-quantize --pure applies it (fallbacks for rows it cannot store).
        for (const auto& id : r.candidates) {
            const QuantPolicy policy(makeScheme(id));
            UniformPoint u {id, r.fixedBytes, 0.0, ""};
            std::map<std::string, int> fallbacks;
            bool complete = true;
            for (std::size_t index : candidates) {
                const auto q = policy.forTensor(tensors[index]);
                const std::string used = q.scheme ? q.scheme->id() : id;
                const auto it = table.find({index, used});
                if (it == table.end()) {
                    complete = false;
                    break;
                }
                u.bytes += it->second.bytes;
                u.cost += it->second.cost;
                if (used != id)
                    ++fallbacks[used];
            }
            if (!complete)
                continue; // its fallback type is not among the candidates
            for (const auto& [type, count] : fallbacks)
                u.note += strCat(u.note.empty() ? "" : ", ", count, " in ", type);
            r.uniform.push_back(std::move(u));
        }
        // llama.cpp's own file-type mixes, where every type they use was measured.
        for (const auto& [ft, mix] : m.llamaCppMixes) {
            UniformPoint p {"llama.cpp " + ft, r.fixedBytes, 0.0, ""};
            bool complete = true;
            for (const auto& [index, type] : mix) {
                const auto it = table.find({index, type});
                if (it == table.end()) {
                    complete = false;
                    p.note = strCat("needs ", type, ", not among the candidates");
                    break;
                }
                p.bytes += it->second.bytes;
                p.cost += it->second.cost;
            }
            if (complete)
                r.llamaCppMixes.push_back(std::move(p));
        }
    } else {
        // One 4-bit type per mix: solve for each, keep the best at the budget.
        std::uint64_t least = UINT64_MAX, most = 0;
        std::optional<Allocation> best;
        std::vector<AllocationItem> bestItems;
        std::vector<std::vector<std::string>> bestNames;
        for (const auto& id : r.candidates) {
            buildItems(id, items);
            const auto [lo, hi] = allocationBounds(items);
            least = std::min(least, lo);
            most = std::max(most, hi);
            UniformPoint u {id, r.fixedBytes, 0.0, ""};
            for (const auto& item : items) {
                u.bytes += item.front().bytes;
                u.cost += item.front().cost;
            }
            r.uniform.push_back(u);
            if (lo + r.fixedBytes > options.budgetBytes)
                continue;
            auto a = solveAllocation(items, options.budgetBytes - r.fixedBytes);
            if (!best || a.cost < best->cost) {
                best = std::move(a);
                r.fourBitType = id;
                bestItems = items;
                bestNames = names;
            }
        }
        checkBudget(least, most);
        names = bestNames;
        assign(*best, bestItems);
        for (auto p : allocationFrontier(bestItems, options.frontierPoints))
            r.frontier.push_back({p.bytes + r.fixedBytes, std::max(p.cost, 0.0)}); // sums of costs, not below 0
        r.uniform.push_back({"keep (16-bit)", most + r.fixedBytes, 0.0, ""});
    }
    r.seconds = m.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

std::pair<std::uint64_t, std::uint64_t> adviceSpan(const AdvisorMeasurements& m)
{
    const bool ggml = m.base.family == "ggml";
    std::uint64_t least = UINT64_MAX, most = 0;
    for (const auto& type : ggml ? std::vector<std::string> {""} : m.base.candidates) {
        std::uint64_t lo = 0, hi = 0;
        for (std::size_t index : m.candidates) {
            std::uint64_t a = ggml ? UINT64_MAX : m.tensors[index].byteSize;
            std::uint64_t b = ggml ? 0 : m.tensors[index].byteSize;
            for (const auto& id : m.base.candidates) {
                if (!ggml && id != type)
                    continue;
                if (const auto it = m.table.find({index, id}); it != m.table.end()) {
                    a = std::min(a, it->second.bytes);
                    b = std::max(b, it->second.bytes);
                }
            }
            lo += a == UINT64_MAX ? 0 : a;
            hi += b;
        }
        least = std::min(least, lo);
        most = std::max(most, hi);
    }
    return {least + m.base.fixedBytes, most + m.base.fixedBytes};
}

AdvisorResult advise(const Model& model, const AdvisorOptions& options, ProgressSink& sink)
{
    return solveAdvice(measureForAdvice(model, options, sink), options.budgetBytes, options.frontierPoints);
}

nlohmann::json adviceToJson(const AdvisorResult& r)
{
    nlohmann::json j;
    j["model"] = r.model;
    j["family"] = r.family;
    j["cost_kind"] = r.costId; // weight, activation or kl
    j["cost_description"] = r.costKind;
    j["policy"] = r.policy;
    j["candidates"] = r.candidates;
    if (!r.fourBitType.empty())
        j["bnb_4bit_type"] = r.fourBitType;
    j["budget_bytes"] = r.budgetBytes;
    j["budget_source"] = r.budgetSource;
    j["cost_input"] = r.costInput;
    j["total_bytes"] = r.totalBytes;
    j["fixed_bytes"] = r.fixedBytes;
    j["smallest_bytes"] = r.smallestBytes;
    j["largest_bytes"] = r.largestBytes;
    j["parameters"] = r.parameters;
    j["bits_per_parameter"] = r.parameters ? double(r.totalBytes) * 8.0 / double(r.parameters) : 0.0;
    j["predicted_cost"] = r.predictedCost;
    j["lower_bound"] = r.lowerBound;
    j["optimality_gap"] = r.predictedCost - r.lowerBound;
    j["exact"] = r.exact;
    j["assignment"] = nlohmann::json::array();
    for (const auto& a : r.assignment)
        j["assignment"].push_back({{"tensor", a.tensor},
                                   {"layer", a.layer},
                                   {"role", a.role},
                                   {"scheme", a.scheme},
                                   {"bytes", a.bytes},
                                   {"cost", a.cost}});
    j["frontier"] = nlohmann::json::array();
    for (const auto& p : r.frontier)
        j["frontier"].push_back({{"bytes", p.bytes}, {"cost", p.cost}});
    j["uniform"] = nlohmann::json::array();
    for (const auto& u : r.uniform)
        j["uniform"].push_back({{"scheme", u.scheme}, {"bytes", u.bytes}, {"cost", u.cost}, {"note", u.note}});
    j["llama_cpp_mixes"] = nlohmann::json::array();
    for (const auto& u : r.llamaCppMixes)
        j["llama_cpp_mixes"].push_back({{"file_type", u.scheme}, {"bytes", u.bytes}, {"cost", u.cost}});
    j["seconds"] = r.seconds;
    return j;
}

} // namespace quantlens::core
