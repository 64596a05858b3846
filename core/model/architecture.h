#pragma once

#include "core/model/model.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace quantlens::core {

// Fills the facts of `architecture` that are still zero from the tensors themselves: layers from
// the highest block index, vocabulary and hidden size from the embedding, the MLP width from a
// down projection, the number of experts from the highest expert index, tied embeddings from the
// absence of an lm_head. Known facts are kept: config.json and GGUF metadata come first.
void fillArchitectureFromTensors(const std::vector<TensorInfo>& tensors, ModelArchitecture& architecture);

// The architecture from GGUF metadata (llama.cpp keys: general.architecture, then
// ARCH.embedding_length, ARCH.feed_forward_length, ARCH.block_count, ARCH.attention.head_count,
// ARCH.attention.head_count_kv, ARCH.attention.key_length, ARCH.context_length, ARCH.expert_count,
// ARCH.expert_used_count, ARCH.vocab_size). `integers` holds the metadata's integer values,
// `strings` its string values.
ModelArchitecture architectureFromGguf(const std::map<std::string, std::uint64_t>& integers,
                                       const std::map<std::string, std::string>& strings);

} // namespace quantlens::core
