#pragma once

#include "core/model/tensor_info.h"

#include <string_view>

namespace quantlens::core {

// What a tensor's name says about it.
struct TensorNameRole {
    int layer = -1; // transformer block index, -1 outside the blocks
    int expert = -1; // expert index for per-expert weights; -1 otherwise (also for GGUF's stacked *_exps)
    TensorRole role = TensorRole::Other;
};

// Maps a tensor name to its layer, expert and role, for Hugging Face naming (Llama, Mistral,
// Mixtral, Qwen2, Gemma, Phi: `model.layers.3.self_attn.q_proj.weight`,
// `model.layers.0.block_sparse_moe.experts.5.w1.weight`, `model.layers.1.self_attn.qkv_proj.weight`)
// and llama.cpp's GGUF naming (`blk.3.attn_q.weight`, `blk.0.ffn_gate_exps.weight`,
// `token_embd.weight`, `output.weight`), after llama.cpp's gguf-py/gguf/tensor_mapping.py.
// Names it does not know are TensorRole::Other.
TensorNameRole classifyTensorName(std::string_view name);

} // namespace quantlens::core
