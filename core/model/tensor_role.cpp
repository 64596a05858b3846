#include "core/model/tensor_role.h"

#include <charconv>
#include <string>
#include <vector>

namespace quantlens::core {

namespace {

std::vector<std::string_view> splitDots(std::string_view name)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= name.size()) {
        const auto dot = name.find('.', start);
        const auto end = dot == std::string_view::npos ? name.size() : dot;
        parts.push_back(name.substr(start, end - start));
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return parts;
}

bool parseIndex(std::string_view text, int& value)
{
    if (text.empty() || text.size() > 9)
        return false;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size();
}

bool contains(std::string_view text, std::string_view part)
{
    return text.find(part) != std::string_view::npos;
}

// The role of one name component, in either spelling; Other when this component says nothing.
TensorRole roleOfComponent(std::string_view c, bool inMoe)
{
    // Norms first: "input_layernorm", "post_attention_layernorm", "attn_norm", "ffn_norm", "q_norm".
    if (contains(c, "norm") || c == "ln_f" || c == "ln_1" || c == "ln_2")
        return TensorRole::Norm;
    if (c == "embed_tokens" || c == "tok_embeddings" || c == "token_embd" || c == "wte" || c == "word_embeddings"
        || c == "embed_in")
        return TensorRole::Embedding;
    if (c == "lm_head" || c == "output" || c == "embed_out")
        return TensorRole::LmHead;
    if (c == "q_proj" || c == "attn_q" || c == "wq" || c == "query")
        return TensorRole::AttentionQ;
    if (c == "k_proj" || c == "attn_k" || c == "wk" || c == "key")
        return TensorRole::AttentionK;
    if (c == "v_proj" || c == "attn_v" || c == "wv" || c == "value")
        return TensorRole::AttentionV;
    if (c == "o_proj" || c == "attn_output" || c == "wo" || c == "dense" || c == "out_proj")
        return TensorRole::AttentionO;
    if (c == "qkv_proj" || c == "attn_qkv" || c == "query_key_value" || c == "Wqkv" || c == "c_attn")
        return TensorRole::AttentionQKV;
    if (c == "gate_up_proj" || c == "ffn_gate_up" || c == "ffn_gate_up_exps")
        return TensorRole::MlpGateUp;
    if (c == "ffn_gate_inp" || c == "router" || (inMoe && c == "gate"))
        return TensorRole::Router;
    if (c == "gate_proj" || c == "ffn_gate" || c == "ffn_gate_exps" || c == "w1")
        return TensorRole::MlpGate;
    if (c == "up_proj" || c == "ffn_up" || c == "ffn_up_exps" || c == "w3" || c == "fc1" || c == "c_fc")
        return TensorRole::MlpUp;
    if (c == "down_proj" || c == "ffn_down" || c == "ffn_down_exps" || c == "w2" || c == "fc2")
        return TensorRole::MlpDown;
    return TensorRole::Other;
}

} // namespace

TensorNameRole classifyTensorName(std::string_view name)
{
    TensorNameRole result;
    const auto parts = splitDots(name);
    bool inMoe = false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto c = parts[i];
        int index = 0;
        if (i + 1 < parts.size() && (c == "layers" || c == "blk" || c == "h" || c == "blocks" || c == "layer")
            && result.layer < 0 && parseIndex(parts[i + 1], index)) {
            result.layer = index;
            ++i;
            continue;
        }
        if (i + 1 < parts.size() && c == "experts" && parseIndex(parts[i + 1], index)) {
            result.expert = index;
            inMoe = true;
            ++i;
            continue;
        }
        if (c == "block_sparse_moe" || c == "moe" || c == "experts") {
            inMoe = true;
            continue;
        }
        // Mixtral's router is block_sparse_moe.gate; Qwen2-MoE's is mlp.gate next to mlp.experts.
        const auto role
            = roleOfComponent(c, inMoe || (c == "gate" && i + 2 == parts.size() && i > 0 && parts[i - 1] == "mlp"));
        if (role != TensorRole::Other) {
            // The GGUF output head is plainly "output.weight"; inside a block "output" is not a head.
            if (role == TensorRole::LmHead && result.layer >= 0)
                continue;
            result.role = role;
        }
    }
    return result;
}

} // namespace quantlens::core
