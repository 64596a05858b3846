#pragma once

#include "core/eval/transformer.h"
#include "core/quant/awq.h"

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <vector>

// AWQ's search on one Llama block, as llm-awq's run_awq does it for a LlamaDecoderLayer (auto_scale
// at 02c1dd6): on the block's Linear inputs of the original model,
//  - the scales of q, k, v (folded into the attention norm), the loss the self-attention's output;
//  - the scales of o (folded into v's rows) only when v and o have the same shape, which
//    grouped-query attention breaks (llm-awq's condition), the loss o's output;
//  - the scales of gate and up (folded into the MLP norm), the loss the MLP's output;
//  - the scales of down (folded into up's rows), the loss down's output;
// each over alpha = 0, 1/grid, ... with s = mean|x|^alpha, every group on the original weights and the
// least loss kept (the first on ties); then auto_clip on every Linear but q and k, on the scaled
// weights and inputs. The single-Linear losses are computed exactly from the Hessian as tr(D H D^T);
// the attention and MLP losses by running those modules on every calibration position. The clipping
// uses every calibration position, where llm-awq takes a subsample of 512.
namespace quantlens::core {

class ThreadPool;

struct AwqBlockSearch {
    std::map<std::size_t, std::shared_ptr<const AwqTransform>> tensors; // by tensor index
    // The alpha chosen for q/k/v, o, gate/up and down; negative when that group was not searched.
    std::array<double, 4> alpha {-1.0, -1.0, -1.0, -1.0};
};

// `inputs` per calibration sequence, by LinearInput (what runBlock's observer saw); `hessians` by
// LinearInput (2/N sum x x^T of those inputs). `check` is called between steps (cancellation).
AwqBlockSearch awqSearchBlock(const Transformer& model, const BlockWeights& weights, const LlamaLayerTensors& tensors,
                              const std::vector<std::array<RowMatrix, 4>>& inputs,
                              const std::array<const Eigen::MatrixXf*, 4>& hessians, const AwqOptions& options,
                              ThreadPool& pool, const std::function<void()>& check = {});

} // namespace quantlens::core
