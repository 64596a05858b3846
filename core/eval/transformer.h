#pragma once

#include "core/eval/llama_config.h"
#include "core/model/model.h"
#include "core/quant/scheme.h"

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

// A CPU forward pass of a decoder-only Llama-family model in fp32, with Eigen for the matrix
// products. Weights are decoded from the opened file one block at a time (any dtype the readers
// decode), so memory holds one block's weights in fp32, not the whole model.
namespace quantlens::core {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Which scheme (if any) replaces a tensor's values by their quantize-dequantize round trip before
// the forward pass uses them; null keeps the stored values. Takes the tensor's index in the model.
using SchemeChooser = std::function<std::shared_ptr<const Scheme>(std::size_t tensorIndex)>;

// One transformer block's weights in fp32. Linear weights are [out, in], row-major.
struct BlockWeights {
    RowMatrix q, k, v, o, gate, up, down;
    Eigen::VectorXf qBias, kBias, vBias; // empty when the model has none
    Eigen::VectorXf attnNorm, ffnNorm;
    std::uint64_t bytes() const;
};

// What enters the Linear layers of a block, for activation statistics (the per-input-channel mean
// squares llama.cpp's importance matrix collects): the normed input of q, k and v; the attention
// output entering o; the normed input of gate and up; the SwiGLU product entering down.
enum class LinearInput { Attention, AttentionOutput, Mlp, MlpDown };
using LinearInputObserver = std::function<void(LinearInput, const RowMatrix& input)>;

// The keys and values of one block for the positions a sequence has seen so far.
struct KvCache {
    RowMatrix k, v; // capacity x (kv heads * head_dim)
    std::uint64_t length = 0; // positions filled
};

class Transformer {
public:
    // `model` must outlive the Transformer. `chooser` may be empty (every weight as stored).
    Transformer(const Model& model, LlamaConfig config, SchemeChooser chooser = {});

    const LlamaConfig& config() const { return m_config; }
    const Model& model() const { return m_model; }

    // A tensor decoded to fp32, after the chooser's round trip when it names a scheme.
    std::vector<float> loadTensor(std::ptrdiff_t index) const;
    BlockWeights loadBlock(std::uint64_t layer) const;
    RowMatrix loadHead() const; // [vocab, hidden]
    Eigen::VectorXf loadFinalNorm() const;

    // The embedding rows of `tokens` (each < vocab), as a tokens x hidden matrix. Reads only those
    // rows where the file's blocks and the chooser's scheme allow it; else the whole embedding.
    RowMatrix embed(std::span<const std::int32_t> tokens) const;

    // Runs one block on the new positions `x` (rows, one per position; hidden wide) of one sequence,
    // in place. `cache` holds the earlier positions' keys and values and receives the new ones; its
    // capacity must hold them all (reserve() first).
    // `observer`, when given, sees each Linear input (rows: the new positions).
    void runBlock(const BlockWeights& weights, RowMatrix& x, KvCache& cache,
                  const LinearInputObserver* observer = nullptr) const;
    // The two halves of runBlock, on positions already RMS-normed (`xn`), writing what the block adds
    // to the residual stream into `out`: self-attention (q, k, v, RoPE, causal softmax, o) with
    // `cache` as in runBlock, and the SwiGLU MLP, down(silu(gate xn) * up xn).
    void attention(const BlockWeights& weights, const RowMatrix& xn, KvCache& cache, RowMatrix& out,
                   const LinearInputObserver* observer = nullptr) const;
    void mlp(const BlockWeights& weights, const RowMatrix& xn, RowMatrix& out,
             const LinearInputObserver* observer = nullptr) const;
    // An empty cache with room for `positions`.
    KvCache reserve(std::uint64_t positions) const;

    // Logits of every row of `x`: final RMSNorm, then the output head. [rows, vocab].
    void logits(const RowMatrix& head, const Eigen::VectorXf& finalNorm, const RowMatrix& x, RowMatrix& out) const;
    // The final RMSNorm alone: what enters the output head.
    void finalNormed(const Eigen::VectorXf& finalNorm, const RowMatrix& x, RowMatrix& out) const;

    // Multiply-adds of one block for a sequence of `positions` tokens (matrix products and
    // attention), for FLOP/s figures.
    double blockFlops(std::uint64_t positions) const;

private:
    std::vector<float> read(std::ptrdiff_t index) const;
    void applyRope(RowMatrix& m, std::uint64_t heads, std::uint64_t firstPosition) const;
    void rmsNorm(const RowMatrix& x, const Eigen::VectorXf& weight, RowMatrix& out) const;

    const Model& m_model;
    LlamaConfig m_config;
    SchemeChooser m_chooser;
};

} // namespace quantlens::core
