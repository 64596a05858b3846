#include "core/quant/quant_policy.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <map>

namespace quantlens::core {

namespace {

// llama.cpp's llama_tensor_get_type (src/llama-quant.cpp at 007dbbf3, docs/llama-quant-rules.md): a
// tensor whose rows are not a whole number of the chosen type's blocks takes a fallback type; when
// that cannot store it either, F16. (Older llama.cpp sent q2_k and q3_k to iq4_nl.) The legacy types
// have no fallback there (llama-quantize stops with "Unsupported tensor size"); we keep such a
// tensor in F16 and say so.
const std::map<std::string, std::string>& ggmlFallbacks()
{
    static const std::map<std::string, std::string> fallbacks {
        {"q2_k", "q4_0"}, {"q3_k", "q4_0"}, {"q4_k", "q5_0"}, {"q5_k", "q5_1"}, {"q6_k", "q8_0"},
    };
    return fallbacks;
}

} // namespace

bool isLinearProjectionWeight(const TensorInfo& t)
{
    switch (t.role) {
    case TensorRole::AttentionQ:
    case TensorRole::AttentionK:
    case TensorRole::AttentionV:
    case TensorRole::AttentionO:
    case TensorRole::AttentionQKV:
    case TensorRole::MlpGate:
    case TensorRole::MlpUp:
    case TensorRole::MlpDown:
    case TensorRole::MlpGateUp:
        return t.shape.size() == 2 && t.elementCount() > 0 && t.name.ends_with(".weight");
    default:
        return false;
    }
}

bool isGgmlSchemeId(const std::string& id)
{
    static const char* const ids[] = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"};
    return std::find(std::begin(ids), std::end(ids), id) != std::end(ids);
}

bool isGgmlQuantizedWeight(const TensorInfo& t)
{
    return t.shape.size() == 2 && t.name.ends_with(".weight") && t.elementCount() > 0 && t.role != TensorRole::Router;
}

std::string ggmlStoredType(const std::string& id, std::span<const std::uint64_t> shape)
{
    if (makeScheme(id)->cannotStore(shape).empty())
        return id;
    const auto fallback = ggmlFallbacks().find(id);
    if (fallback != ggmlFallbacks().end() && makeScheme(fallback->second)->cannotStore(shape).empty())
        return fallback->second;
    return "fp16";
}

QuantPolicy::QuantPolicy(std::shared_ptr<const Scheme> scheme)
    : m_scheme(std::move(scheme))
    , m_ggml(isGgmlSchemeId(m_scheme->id()))
{
}

std::string QuantPolicy::description() const
{
    if (m_ggml)
        return strCat("as llama-quantize --pure: every 2-D weight in ", m_scheme->id(),
                      " (token embedding and output head included), 1-D norms kept; rows that are not whole blocks "
                      "take llama.cpp's fallback (q2_k/q3_k -> q4_0, q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0), "
                      "else f16");
    return strCat("as bitsandbytes through transformers: ", m_scheme->id(),
                  " on the Linear projection weights only; embeddings, norms, biases and the output head kept");
}

TensorQuantization QuantPolicy::forTensor(const TensorInfo& t) const
{
    TensorQuantization result;
    if (!m_ggml) {
        if (isLinearProjectionWeight(t))
            result.scheme = m_scheme;
        return result;
    }
    if (!isGgmlQuantizedWeight(t))
        return result;
    const std::string type = ggmlStoredType(m_scheme->id(), t.shape);
    if (type == m_scheme->id()) {
        result.scheme = m_scheme;
        return result;
    }
    result.scheme = makeScheme(type);
    result.note = type == "fp16"
        ? strCat("f16 (rows of ", t.shape.back(), " are not whole ", m_scheme->id(), " blocks)")
        : strCat(type, " (llama.cpp's fallback: rows of ", t.shape.back(), " are not whole ", m_scheme->id(), " blocks)");
    return result;
}

void roundTripTensor(const Scheme& scheme, std::span<const std::uint64_t> shape, std::span<const float> in,
                     std::span<float> out)
{
    if (in.size() != out.size())
        throw UsageError(strCat("roundTripTensor: ", in.size(), " values in, room for ", out.size()));
    const std::uint64_t n = in.size();
    const std::uint64_t alignment = std::max<std::uint64_t>(scheme.chunkAlignment(shape), 1);
    const std::uint64_t step = std::max<std::uint64_t>(alignment, (std::uint64_t(1) << 20) / alignment * alignment);
    SchemeStatistics statistics;
    if (scheme.needsTensorStatistics()) {
        for (std::uint64_t begin = 0; begin < n; begin += step)
            scheme.mergeStatistics(statistics, scheme.chunkStatistics(in.subspan(begin, std::min(step, n - begin)), shape));
    }
    RoundTripContext context;
    context.shape = shape;
    context.statistics = scheme.needsTensorStatistics() ? &statistics : nullptr;
    for (std::uint64_t begin = 0; begin < n; begin += step) {
        const std::uint64_t count = std::min(step, n - begin);
        context.first = begin;
        scheme.roundTrip(in.subspan(begin, count), out.subspan(begin, count), context);
    }
}

} // namespace quantlens::core
