#pragma once

#include "core/quant/awq.h"
#include "core/quant/gptq.h"

#include <Eigen/Core>

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

// What a calibrated quantizer (GPTQ, AWQ) needs of one Linear weight: the Hessian of its layer-wise loss,
// H = 2/N sum x x^T over the N calibration inputs x of that layer (input channels x input channels).
// Linear weights that read the same input (q, k and v; gate and up) share one.
namespace quantlens::core {

struct Calibration {
    Eigen::MatrixXf hessian;
    std::uint64_t samples = 0; // N: calibration positions

    // GPTQ's factor of `hessian` for these options' act-order and dampening, computed once whatever
    // the number of chunks and threads that quantize the tensor. Thread-safe.
    std::shared_ptr<const GptqFactor> gptqFactor(const GptqOptions& options) const;

private:
    mutable std::mutex m_mutex;
    mutable std::map<std::pair<bool, double>, std::shared_ptr<const GptqFactor>> m_factors;
};

// sum over the rows r of `a` (whole rows of hessian.rows() values) of (a_r - b_r) H (a_r - b_r)^T, or
// of a_r H a_r^T when `b` is empty: ||D X||^2 up to 2/N for calibration inputs X with H = 2/N X X^T,
// summed in double. NaN when `a` is not whole rows.
double hessianQuadratic(std::span<const float> a, std::span<const float> b, const Eigen::MatrixXf& hessian);

struct CalibrationData {
    std::map<std::size_t, std::shared_ptr<const Calibration>> tensors; // tensor index -> its layer's Hessian
    std::string source; // the calibration tokens: "16 sequences of 256 sampled from the model, seed 1234"
    // "inputs of the original model (not sequential)" or how they were made
    std::string mode;

    // The tensor's calibration, shared with the weights that read the same input; null when none.
    std::shared_ptr<const Calibration> shared(std::size_t tensorIndex) const
    {
        const auto it = tensors.find(tensorIndex);
        return it == tensors.end() ? nullptr : it->second;
    }
    const Calibration* find(std::size_t tensorIndex) const { return shared(tensorIndex).get(); }

    // AWQ's search, per AWQ scheme id ("awq4") and tensor index: what was done to the weight before
    // its quantization. Only for the schemes the collection was asked to search for.
    std::map<std::string, std::map<std::size_t, std::shared_ptr<const AwqTransform>>> awq;
    // The alpha each layer's search chose for q/k/v, o, gate/up and down (negative: not searched).
    std::map<std::string, std::vector<std::array<double, 4>>> awqAlpha;
    // "awq4's search, alpha per layer: q/k/v 0.45 0.30 ..., gate/up ..., down ...": what the search
    // chose, for the outputs that state the calibration; empty without AWQ.
    std::string awqSummary() const;
    // What every output states: "<source>; <mode>", then ". <awqSummary>" when AWQ searched.
    std::string description() const;
    std::shared_ptr<const AwqTransform> awqFor(const std::string& schemeId, std::size_t tensorIndex) const
    {
        const auto scheme = awq.find(schemeId);
        if (scheme == awq.end())
            return nullptr;
        const auto it = scheme->second.find(tensorIndex);
        return it == scheme->second.end() ? nullptr : it->second;
    }
};

} // namespace quantlens::core
