#include "core/model/tensor_info.h"

#include <ostream>

namespace quantlens::core {

std::string_view dtypeName(DType type)
{
    switch (type) {
    case DType::F64:
        return "F64";
    case DType::F32:
        return "F32";
    case DType::F16:
        return "F16";
    case DType::BF16:
        return "BF16";
    case DType::F8_E4M3:
        return "F8_E4M3";
    case DType::F8_E5M2:
        return "F8_E5M2";
    case DType::I64:
        return "I64";
    case DType::I32:
        return "I32";
    case DType::I16:
        return "I16";
    case DType::I8:
        return "I8";
    case DType::U8:
        return "U8";
    case DType::BOOL:
        return "BOOL";
    case DType::NF4:
        return "NF4";
    case DType::FP4:
        return "FP4";
    case DType::LlmInt8:
        return "LLM_INT8";
    case DType::Q4_0:
        return "Q4_0";
    case DType::Q4_1:
        return "Q4_1";
    case DType::Q5_0:
        return "Q5_0";
    case DType::Q5_1:
        return "Q5_1";
    case DType::Q8_0:
        return "Q8_0";
    case DType::Q8_1:
        return "Q8_1";
    case DType::Q2_K:
        return "Q2_K";
    case DType::Q3_K:
        return "Q3_K";
    case DType::Q4_K:
        return "Q4_K";
    case DType::Q5_K:
        return "Q5_K";
    case DType::Q6_K:
        return "Q6_K";
    case DType::Q8_K:
        return "Q8_K";
    case DType::IQ2_XXS:
        return "IQ2_XXS";
    case DType::IQ2_XS:
        return "IQ2_XS";
    case DType::IQ3_XXS:
        return "IQ3_XXS";
    case DType::IQ1_S:
        return "IQ1_S";
    case DType::IQ4_NL:
        return "IQ4_NL";
    case DType::IQ3_S:
        return "IQ3_S";
    case DType::IQ2_S:
        return "IQ2_S";
    case DType::IQ4_XS:
        return "IQ4_XS";
    case DType::IQ1_M:
        return "IQ1_M";
    case DType::TQ1_0:
        return "TQ1_0";
    case DType::TQ2_0:
        return "TQ2_0";
    case DType::MXFP4:
        return "MXFP4";
    case DType::Unknown:
        break;
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& out, DType type)
{
    return out << dtypeName(type);
}

std::uint64_t dtypeElementBytes(DType type)
{
    switch (type) {
    case DType::F64:
    case DType::I64:
        return 8;
    case DType::F32:
    case DType::I32:
        return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
        return 2;
    case DType::F8_E4M3:
    case DType::F8_E5M2:
    case DType::I8:
    case DType::U8:
    case DType::BOOL:
        return 1;
    default:
        return 0;
    }
}

std::string_view roleName(TensorRole role)
{
    switch (role) {
    case TensorRole::Embedding:
        return "embedding";
    case TensorRole::AttentionQ:
        return "attn_q";
    case TensorRole::AttentionK:
        return "attn_k";
    case TensorRole::AttentionV:
        return "attn_v";
    case TensorRole::AttentionO:
        return "attn_o";
    case TensorRole::AttentionQKV:
        return "attn_qkv";
    case TensorRole::MlpGate:
        return "mlp_gate";
    case TensorRole::MlpUp:
        return "mlp_up";
    case TensorRole::MlpDown:
        return "mlp_down";
    case TensorRole::MlpGateUp:
        return "mlp_gate_up";
    case TensorRole::Router:
        return "router";
    case TensorRole::Norm:
        return "norm";
    case TensorRole::LmHead:
        return "lm_head";
    case TensorRole::Other:
        break;
    }
    return "other";
}

} // namespace quantlens::core
