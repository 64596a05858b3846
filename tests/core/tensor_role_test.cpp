#include "core/model/tensor_role.h"

#include <gtest/gtest.h>
#include <ostream>

using namespace quantlens::core;

namespace {

struct NameCase {
    const char* name;
    int layer;
    int expert;
    TensorRole role;
};

inline void PrintTo(const NameCase& c, std::ostream* os)
{
    *os << c.name;
}

class TensorNames : public ::testing::TestWithParam<NameCase> { };

} // namespace

TEST_P(TensorNames, MapToLayerExpertAndRole)
{
    const auto& c = GetParam();
    const auto r = classifyTensorName(c.name);
    EXPECT_EQ(r.layer, c.layer) << c.name;
    EXPECT_EQ(r.expert, c.expert) << c.name;
    EXPECT_EQ(roleName(r.role), roleName(c.role)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    HuggingFaceAndGguf, TensorNames,
    ::testing::Values(
        // Llama / Mistral / Qwen2 / Gemma (Hugging Face)
        NameCase {"model.embed_tokens.weight", -1, -1, TensorRole::Embedding},
        NameCase {"model.layers.12.self_attn.q_proj.weight", 12, -1, TensorRole::AttentionQ},
        NameCase {"model.layers.0.self_attn.k_proj.bias", 0, -1, TensorRole::AttentionK},
        NameCase {"model.layers.3.self_attn.v_proj.weight", 3, -1, TensorRole::AttentionV},
        NameCase {"model.layers.3.self_attn.o_proj.weight", 3, -1, TensorRole::AttentionO},
        NameCase {"model.layers.31.mlp.gate_proj.weight", 31, -1, TensorRole::MlpGate},
        NameCase {"model.layers.31.mlp.up_proj.weight", 31, -1, TensorRole::MlpUp},
        NameCase {"model.layers.31.mlp.down_proj.weight", 31, -1, TensorRole::MlpDown},
        NameCase {"model.layers.2.input_layernorm.weight", 2, -1, TensorRole::Norm},
        NameCase {"model.layers.2.pre_feedforward_layernorm.weight", 2, -1, TensorRole::Norm},
        NameCase {"model.layers.2.self_attn.q_norm.weight", 2, -1, TensorRole::Norm},
        NameCase {"model.norm.weight", -1, -1, TensorRole::Norm},
        NameCase {"lm_head.weight", -1, -1, TensorRole::LmHead},
        // Mixtral and Qwen2-MoE
        NameCase {"model.layers.7.block_sparse_moe.gate.weight", 7, -1, TensorRole::Router},
        NameCase {"model.layers.7.block_sparse_moe.experts.5.w1.weight", 7, 5, TensorRole::MlpGate},
        NameCase {"model.layers.7.block_sparse_moe.experts.5.w2.weight", 7, 5, TensorRole::MlpDown},
        NameCase {"model.layers.7.block_sparse_moe.experts.5.w3.weight", 7, 5, TensorRole::MlpUp},
        NameCase {"model.layers.1.mlp.gate.weight", 1, -1, TensorRole::Router},
        NameCase {"model.layers.1.mlp.experts.59.down_proj.weight", 1, 59, TensorRole::MlpDown},
        // Phi-3 and Phi-2
        NameCase {"model.layers.4.self_attn.qkv_proj.weight", 4, -1, TensorRole::AttentionQKV},
        NameCase {"model.layers.4.mlp.gate_up_proj.weight", 4, -1, TensorRole::MlpGateUp},
        NameCase {"model.layers.4.self_attn.dense.weight", 4, -1, TensorRole::AttentionO},
        NameCase {"model.layers.4.mlp.fc1.weight", 4, -1, TensorRole::MlpUp},
        NameCase {"model.final_layernorm.weight", -1, -1, TensorRole::Norm},
        // bitsandbytes companions keep the weight's layer
        NameCase {"model.layers.9.mlp.down_proj.weight.absmax", 9, -1, TensorRole::MlpDown},
        // llama.cpp GGUF naming
        NameCase {"token_embd.weight", -1, -1, TensorRole::Embedding},
        NameCase {"output.weight", -1, -1, TensorRole::LmHead},
        NameCase {"output_norm.weight", -1, -1, TensorRole::Norm},
        NameCase {"blk.0.attn_q.weight", 0, -1, TensorRole::AttentionQ},
        NameCase {"blk.0.attn_output.weight", 0, -1, TensorRole::AttentionO},
        NameCase {"blk.10.attn_qkv.weight", 10, -1, TensorRole::AttentionQKV},
        NameCase {"blk.10.ffn_gate_inp.weight", 10, -1, TensorRole::Router},
        NameCase {"blk.10.ffn_down_exps.weight", 10, -1, TensorRole::MlpDown},
        NameCase {"blk.10.ffn_norm.weight", 10, -1, TensorRole::Norm},
        NameCase {"blk.1.attn_k.weight@q4_K", 1, -1, TensorRole::AttentionK},
        // Unknown names stay visible as other
        NameCase {"rope.freqs", -1, -1, TensorRole::Other},
        NameCase {"vision_tower.patch_embed.proj.weight", -1, -1, TensorRole::Other}),
    [](const auto& info) { return std::to_string(info.index); });

TEST(RoleName, SpellsEveryRoleAndOther)
{
    EXPECT_EQ(roleName(TensorRole::AttentionQKV), "attn_qkv");
    EXPECT_EQ(roleName(TensorRole::MlpGateUp), "mlp_gate_up");
    EXPECT_EQ(roleName(TensorRole::Other), "other");
    EXPECT_EQ(dtypeName(DType::Q4_K), "Q4_K");
    EXPECT_EQ(dtypeName(DType::F8_E4M3), "F8_E4M3");
    EXPECT_EQ(dtypeElementBytes(DType::BF16), 2u);
    EXPECT_EQ(dtypeElementBytes(DType::Q4_0), 0u);
}
