#include "core/model/architecture.h"

#include <algorithm>

namespace quantlens::core {

void fillArchitectureFromTensors(const std::vector<TensorInfo>& tensors, ModelArchitecture& architecture)
{
    int maxLayer = -1;
    int maxExpert = -1;
    bool hasLmHead = false;
    for (const auto& t : tensors) {
        maxLayer = std::max(maxLayer, t.layer);
        maxExpert = std::max(maxExpert, t.expert);
        if (t.role == TensorRole::LmHead)
            hasLmHead = true;
        if (t.role == TensorRole::Embedding && t.shape.size() == 2) {
            if (architecture.vocabSize == 0)
                architecture.vocabSize = t.shape[0];
            if (architecture.hiddenSize == 0)
                architecture.hiddenSize = t.shape[1];
        }
        if (t.role == TensorRole::MlpDown && t.shape.size() == 2 && t.expert < 0 && architecture.intermediateSize == 0)
            architecture.intermediateSize = t.shape[1];
    }
    if (architecture.layers == 0 && maxLayer >= 0)
        architecture.layers = static_cast<std::uint64_t>(maxLayer) + 1;
    if (architecture.experts == 0 && maxExpert >= 0)
        architecture.experts = static_cast<std::uint64_t>(maxExpert) + 1;
    if (!tensors.empty() && !hasLmHead)
        architecture.tiedEmbeddings = true;
}

ModelArchitecture architectureFromGguf(const std::map<std::string, std::uint64_t>& integers,
                                       const std::map<std::string, std::string>& strings)
{
    ModelArchitecture a;
    if (const auto it = strings.find("general.architecture"); it != strings.end())
        a.name = it->second;
    const auto get = [&](const std::string& key) -> std::uint64_t {
        const auto it = integers.find(a.name + "." + key);
        return it == integers.end() ? 0 : it->second;
    };
    a.hiddenSize = get("embedding_length");
    a.intermediateSize = get("feed_forward_length");
    a.layers = get("block_count");
    a.attentionHeads = get("attention.head_count");
    a.kvHeads = get("attention.head_count_kv");
    if (a.kvHeads == 0)
        a.kvHeads = a.attentionHeads;
    a.headDim = get("attention.key_length");
    if (a.headDim == 0 && a.attentionHeads > 0)
        a.headDim = a.hiddenSize / a.attentionHeads;
    a.contextLength = get("context_length");
    a.experts = get("expert_count");
    a.expertsPerToken = get("expert_used_count");
    a.vocabSize = get("vocab_size");
    if (a.vocabSize == 0) {
        if (const auto it = integers.find("tokenizer.ggml.tokens.count"); it != integers.end())
            a.vocabSize = it->second;
    }
    return a;
}

} // namespace quantlens::core
