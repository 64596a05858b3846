#pragma once

#include <Eigen/Core>

#include <cstddef>
#include <map>
#include <memory>
#include <string>

// What a calibrated quantizer (GPTQ) needs of one Linear weight: the Hessian of its layer-wise loss,
// H = 2/N sum x x^T over the N calibration inputs x of that layer (input channels x input channels).
// Linear weights that read the same input (q, k and v; gate and up) share one.
namespace quantlens::core {

struct Calibration {
    Eigen::MatrixXf hessian;
    std::uint64_t samples = 0; // N: calibration positions
};

struct CalibrationData {
    std::map<std::size_t, std::shared_ptr<const Calibration>> tensors; // tensor index -> its layer's Hessian
    std::string source; // the calibration tokens: "16 sequences of 256 sampled from the model, seed 1234"
    // "inputs of the original model (not sequential)" or how they were made
    std::string mode;

    const Calibration* find(std::size_t tensorIndex) const
    {
        const auto it = tensors.find(tensorIndex);
        return it == tensors.end() ? nullptr : it->second.get();
    }
};

} // namespace quantlens::core
