#pragma once

#include "core/util/progress.h"

#include <cstdint>
#include <string>

// How fast the forward pass runs on this machine, against this machine's own fp32 GEMM rate
// measured in the same run: synthetic weights of a real model's shape (Llama-3.2-1B by default).
namespace quantlens::core {

struct EvalBenchmarkOptions {
    // The shape: Llama-3.2-1B (hidden 2048, MLP 8192, 32 heads of 64, 8 KV heads, vocabulary 128256).
    std::uint64_t hidden = 2048;
    std::uint64_t intermediate = 8192;
    std::uint64_t heads = 32;
    std::uint64_t kvHeads = 8;
    std::uint64_t headDim = 64;
    std::uint64_t vocab = 128256;
    std::uint64_t layers = 2; // blocks run (the model has 16; each costs the same)
    std::uint64_t sequenceLength = 512;
    unsigned threads = 0; // sequences run in parallel, one per thread; 0: all cores
    std::uint64_t gemmSize = 4096; // the reference GEMM: gemmSize x gemmSize weights, sequenceLength rows
};

struct EvalBenchmarkResult {
    unsigned threads = 0;
    std::uint64_t sequences = 0;
    std::uint64_t sequenceLength = 0;
    std::uint64_t layers = 0;
    // The reference: Eigen fp32 GEMM (sequenceLength x gemmSize) x (gemmSize x gemmSize)^T, one per
    // thread at once, as the forward pass runs one sequence per thread.
    double gemmFlops = 0.0; // FLOP/s, all threads together
    // Prefill of `sequences` sequences through `layers` blocks (weights already decoded).
    double prefillSeconds = 0.0;
    double prefillTokensPerSecond = 0.0; // per block: tokens x layers / seconds
    double prefillFlops = 0.0; // FLOP/s achieved, all threads together
    double fractionOfGemm = 0.0; // prefillFlops / gemmFlops
    // The output head on 256 positions per thread (final norm + vocabulary projection).
    double headFlops = 0.0;
    // Memory: what each stage holds (the prefill: one block's fp32 weights, the KV cache and
    // activations of every sequence; the metrics pass: the output head and one sequence's logits per
    // thread) against the peak resident memory each stage added (VmHWM, reset per stage).
    std::uint64_t blockWeightBytes = 0;
    std::uint64_t headWeightBytes = 0;
    std::uint64_t activationBytes = 0; // hidden states, KV cache, attention scores, MLP intermediates
    std::uint64_t logitBytes = 0;
    std::uint64_t prefillPeakGrowthBytes = 0;
    std::uint64_t headPeakGrowthBytes = 0;
};

EvalBenchmarkResult runEvalBenchmark(const EvalBenchmarkOptions& options, const ProgressSink* progress = nullptr);

// A few lines for the terminal.
std::string formatEvalBenchmark(const EvalBenchmarkResult& result);

} // namespace quantlens::core
