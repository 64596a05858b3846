#pragma once

#include "core/quant/gptq.h"

#include <Eigen/Core>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

// What a calibrated quantizer (GPTQ) needs of one Linear weight: the Hessian of its layer-wise loss,
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
};

} // namespace quantlens::core
