#include "core/quant/quant_policy.h"

#include "core/quant/calibration.h"

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

std::string selectionName(TensorSelection selection)
{
    return selection == TensorSelection::AsTool ? "as-tool" : "every";
}

TensorSelection parseSelection(const std::string& name)
{
    if (name == "as-tool" || name == "tool")
        return TensorSelection::AsTool;
    if (name == "every" || name == "every-tensor")
        return TensorSelection::EveryTensor;
    throw UsageError(strCat("unknown tensor policy '", name,
                            "'; expected as-tool (each format as its tool applies it) or every (every tensor)"));
}

PlannedTensor planTensor(TensorSelection selection, const std::string& schemeId, const TensorInfo& t,
                         const std::string& cannotStore)
{
    PlannedTensor plan;
    if (selection == TensorSelection::EveryTensor) {
        if (cannotStore.empty())
            plan.type = schemeId;
        else
            plan.note = strCat("kept as stored: ", cannotStore);
        return plan;
    }
    if (!isGgmlSchemeId(schemeId)) {
        if (isLinearProjectionWeight(t) && cannotStore.empty())
            plan.type = schemeId;
        else if (!cannotStore.empty())
            plan.note = strCat("kept as stored: ", cannotStore);
        else
            plan.note
                = "kept as stored: not a Linear projection weight, which bitsandbytes and transformers leave alone";
        return plan;
    }
    if (!isGgmlQuantizedWeight(t)) {
        plan.note = "kept as stored: llama.cpp quantizes 2-D weights only";
        return plan;
    }
    plan.type = cannotStore.empty() ? schemeId : ggmlStoredType(schemeId, t.shape);
    if (plan.type == schemeId)
        return plan;
    plan.note = plan.type == "fp16" ? strCat("f16 (rows of ", t.shape.back(), " are not whole ", schemeId, " blocks)")
                                    : strCat(plan.type, " (llama.cpp's fallback: rows of ", t.shape.back(),
                                             " are not whole ", schemeId, " blocks)");
    return plan;
}

std::string policyDescription(TensorSelection selection, const std::string& id)
{
    if (selection == TensorSelection::EveryTensor)
        return strCat("every tensor: ", id,
                      " on every tensor it can store, norms and embeddings included (for "
                      "teaching; no tool does this); the rest kept as stored");
    if (isGgmlSchemeId(id))
        return strCat("as llama-quantize --pure: every 2-D weight in ", id,
                      " (token embedding and output head included), 1-D norms kept; rows that are not whole blocks "
                      "take llama.cpp's fallback (q2_k/q3_k -> q4_0, q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0), "
                      "else f16");
    static const char* const bitsandbytes[] = {"nf4", "nf4-dq", "fp4", "fp4-dq", "llm-int8", "dyn8"};
    const bool bnb = std::find(std::begin(bitsandbytes), std::end(bitsandbytes), id) != std::end(bitsandbytes);
    return strCat(bnb ? "as bitsandbytes through transformers: " : "as transformers' weight-only quantizers do: ", id,
                  " on the Linear projection weights only; embeddings, norms, biases and the output head kept");
}

QuantPolicy::QuantPolicy(std::shared_ptr<const Scheme> scheme, TensorSelection selection)
    : m_scheme(std::move(scheme))
    , m_selection(selection)
{
}

std::string QuantPolicy::description() const
{
    return policyDescription(m_selection, m_scheme->id());
}

TensorQuantization QuantPolicy::forTensor(const TensorInfo& t) const
{
    const PlannedTensor plan = planTensor(m_selection, m_scheme->id(), t, m_scheme->cannotStore(t.shape));
    TensorQuantization result;
    if (!plan.type.empty())
        result.scheme = plan.type == m_scheme->id() ? m_scheme : makeScheme(plan.type);
    if (result.scheme)
        result.note = plan.note; // the fallback; a kept tensor has no note here, as before
    return result;
}

namespace {

class CalibratedScheme final : public Scheme {
public:
    CalibratedScheme(std::shared_ptr<const Scheme> scheme, std::shared_ptr<const Calibration> calibration,
                     std::shared_ptr<const AwqTransform> awq)
        : m_scheme(std::move(scheme))
        , m_calibration(std::move(calibration))
        , m_awq(std::move(awq))
    {
    }
    std::string id() const override { return m_scheme->id(); }
    std::string displayName() const override { return m_scheme->displayName(); }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->bitsPerParameter(shape);
    }
    std::string cannotStore(std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->cannotStore(shape);
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->chunkAlignment(shape);
    }
    bool needsTensorStatistics() const override { return m_scheme->needsTensorStatistics(); }
    bool needsCalibration() const override { return m_scheme->needsCalibration(); }
    const AwqOptions* awqOptions() const override { return m_scheme->awqOptions(); }
    SchemeStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->chunkStatistics(chunk, shape);
    }
    void mergeStatistics(SchemeStatistics& into, const SchemeStatistics& part) const override
    {
        m_scheme->mergeStatistics(into, part);
    }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        RoundTripContext calibrated = context;
        calibrated.calibration = m_calibration.get();
        calibrated.awq = m_awq.get();
        m_scheme->roundTrip(in, out, calibrated);
    }
    std::uint64_t viewBlockSize(std::span<const std::uint64_t> shape) const override
    {
        return m_scheme->viewBlockSize(shape);
    }

private:
    std::shared_ptr<const Scheme> m_scheme;
    std::shared_ptr<const Calibration> m_calibration;
    std::shared_ptr<const AwqTransform> m_awq;
};

} // namespace

std::shared_ptr<const Scheme> bindCalibration(std::shared_ptr<const Scheme> scheme,
                                              std::shared_ptr<const Calibration> calibration,
                                              std::shared_ptr<const AwqTransform> awq)
{
    return std::make_shared<CalibratedScheme>(std::move(scheme), std::move(calibration), std::move(awq));
}

std::shared_ptr<const Scheme> bindCalibration(const std::shared_ptr<const Scheme>& scheme, const CalibrationData& data,
                                              std::size_t index)
{
    auto calibration = data.shared(index);
    if (!calibration)
        return nullptr;
    std::shared_ptr<const AwqTransform> awq;
    if (scheme->awqOptions() && !(awq = data.awqFor(scheme->id(), index)))
        return nullptr;
    return bindCalibration(scheme, std::move(calibration), std::move(awq));
}

void roundTripTensor(const Scheme& scheme, std::span<const std::uint64_t> shape, std::span<const float> in,
                     std::span<float> out, const Calibration* calibration)
{
    if (in.size() != out.size())
        throw UsageError(strCat("roundTripTensor: ", in.size(), " values in, room for ", out.size()));
    const std::uint64_t n = in.size();
    const std::uint64_t alignment = std::max<std::uint64_t>(scheme.chunkAlignment(shape), 1);
    const std::uint64_t step = std::max<std::uint64_t>(alignment, (std::uint64_t(1) << 20) / alignment * alignment);
    SchemeStatistics statistics;
    if (scheme.needsTensorStatistics()) {
        for (std::uint64_t begin = 0; begin < n; begin += step)
            scheme.mergeStatistics(statistics,
                                   scheme.chunkStatistics(in.subspan(begin, std::min(step, n - begin)), shape));
    }
    RoundTripContext context;
    context.shape = shape;
    context.statistics = scheme.needsTensorStatistics() ? &statistics : nullptr;
    context.calibration = calibration;
    for (std::uint64_t begin = 0; begin < n; begin += step) {
        const std::uint64_t count = std::min(step, n - begin);
        context.first = begin;
        scheme.roundTrip(in.subspan(begin, count), out.subspan(begin, count), context);
    }
}

} // namespace quantlens::core
