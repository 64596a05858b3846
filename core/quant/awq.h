#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

// AWQ (Lin et al., 2023) as mit-han-lab/llm-awq (awq/quantize at 02c1dd6) runs it, the parts that
// work on one Linear weight: the group-wise int quantizer, the per-input-channel scales of one grid
// point, the clipping search and the round trip of a weight with its searched transform. The search
// of the scales over a block's layer groups needs the forward pass (core/eval/awq_search.h).
//
// Two stated deviations from the reference:
//  - llm-awq asserts that a row is a whole number of groups; here the last group of a row is shorter
//    when it is not (as GPTQ's g_idx = column / group_size groups it), so rows of 64 or 172 values
//    (stories260K) can be measured at group 128;
//  - it computes in the model's fp16; here the weights stay fp32 and the group scale is read back in
//    fp16, as the checkpoint (WQLinear) stores it.
namespace quantlens::core {

struct AwqOptions {
    int bits = 4;
    std::uint64_t groupSize = 128; // 0: one group per row
    int grid = 20; // alpha = 0, 1/grid, ..., (grid - 1)/grid
    bool clip = true; // auto_clip: the per-group range search
    int clipGrid = 20;
    double maxShrink = 0.5; // clip ratios 1, 1 - 1/clipGrid, ... down to (above) 1 - maxShrink
};

// What AWQ did to one Linear weight W [rows = out, cols = in] before its quantization: the columns
// multiplied by `inputScale` (folded out of the op before it: a norm, or the previous Linear's
// rows), the rows divided by `outputScale` (the next Linear's scale folded into this one), then each
// group clamped to [-clip, clip]. Empty vectors mean none.
struct AwqTransform {
    Eigen::VectorXf inputScale; // cols
    Eigen::VectorXf outputScale; // rows
    std::vector<float> clip; // rows x groups per row
    double alpha = 0.0; // the grid point inputScale came from
};

// Groups per row of `cols` values.
std::uint64_t awqGroupsPerRow(std::uint64_t cols, std::uint64_t groupSize);

// pseudo_quantize_tensor with zero_point: per group, scale = max(max - min, 1e-5) / (2^b - 1) (read
// back in fp16), zero = clamp(-round(min / scale), 0, 2^b - 1), q = clamp(round(w / scale) + zero, 0,
// 2^b - 1), w' = (q - zero) * scale; round half to even as torch.round. `in` holds whole rows of
// `cols` values.
void awqQuantize(std::span<const float> in, std::span<float> out, std::uint64_t cols, int bits,
                 std::uint64_t groupSize);

// get_act_scale's mean |x| to the power alpha, clamped to >= 1e-4, divided by sqrt(max * min).
Eigen::VectorXf awqScales(const Eigen::VectorXf& meanAbs, double alpha);

// The weight as the quantized model computes with it, in the original coordinates:
// diag(outputScale) Q(clip(diag(1/outputScale) W diag(inputScale))) diag(1/inputScale). `in` holds
// whole rows of `cols`, starting at row `firstRow`.
void awqRoundTrip(std::span<const float> in, std::span<float> out, std::uint64_t firstRow, std::uint64_t cols,
                  const AwqTransform& transform, const AwqOptions& options);

// auto_clip_layer on a weight already scaled (`w`, rows x cols, row-major) whose input has the
// second-moment matrix `hessian` (cols x cols, of the scaled inputs: any positive multiple of X^T X):
// per row and group, the max |w| times 1 - i/clipGrid for i < maxShrink * clipGrid that gives the
// least output error of the group's part of the row, d^T H_gg d (the first on ties, as the reference's
// strict <). Rows x groups per row values.
std::vector<float> awqClipSearch(std::span<const float> w, std::uint64_t rows, std::uint64_t cols,
                                 const Eigen::MatrixXf& hessian, const AwqOptions& options);

// _search_module_scale's grid: alpha = i / grid for i < grid, s = awqScales(meanAbs, alpha), the
// alpha and scales of the least `loss(s)` (the first on ties, as the reference's strict <). Throws
// UsageError naming `group` when no loss is finite (the reference raises too).
std::pair<double, Eigen::VectorXf> awqSearchScales(const Eigen::VectorXf& meanAbs, const AwqOptions& options,
                                                   const std::function<double(const Eigen::VectorXf&)>& loss,
                                                   const std::string& group);

// The output error of one Linear quantized with input scales `s` (clip none): tr(D H D^T) with D =
// Q(W diag s) diag(1/s) - W, which is sum over the inputs of ||D x||^2 up to H's normalisation: the
// loss llm-awq's search measures for a group of one Linear (o after v, down after up).
double awqLinearLoss(std::span<const float> w, std::uint64_t rows, std::uint64_t cols, const Eigen::MatrixXf& hessian,
                     const Eigen::VectorXf& s, const AwqOptions& options);

} // namespace quantlens::core
