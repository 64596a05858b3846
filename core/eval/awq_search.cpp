#include "core/eval/awq_search.h"

#include "core/scan/thread_pool.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <cmath>
#include <limits>

namespace quantlens::core {

namespace {

std::span<const float> valuesOf(const RowMatrix& m)
{
    return {m.data(), std::size_t(m.size())};
}

// W diag(s) quantized, read back as Q(W diag s) diag(1/s).
RowMatrix quantizedWithScales(const RowMatrix& w, const Eigen::VectorXf& s, const AwqOptions& options)
{
    AwqTransform t;
    t.inputScale = s;
    RowMatrix out(w.rows(), w.cols());
    awqRoundTrip(valuesOf(w), {out.data(), std::size_t(out.size())}, 0, std::uint64_t(w.cols()), t, options);
    return out;
}

// get_act_scale: mean |x| per channel over every calibration position.
Eigen::VectorXf meanAbs(const std::vector<std::array<RowMatrix, 4>>& inputs, LinearInput which)
{
    Eigen::VectorXd sum;
    double count = 0.0;
    for (const auto& sequence : inputs) {
        const RowMatrix& x = sequence[std::size_t(which)];
        if (sum.size() == 0)
            sum = Eigen::VectorXd::Zero(x.cols());
        sum += x.cwiseAbs().colwise().sum().transpose().cast<double>();
        count += double(x.rows());
    }
    return (sum / std::max(count, 1.0)).cast<float>();
}

// diag(1/r) W diag(s), and diag(1/s) H diag(1/s): the weight and input moments after the fold.
RowMatrix scaledWeight(const RowMatrix& w, const Eigen::VectorXf& s, const Eigen::VectorXf& r)
{
    RowMatrix out = w;
    if (s.size())
        out = out * s.asDiagonal();
    if (r.size())
        out = r.cwiseInverse().asDiagonal() * out;
    return out;
}

} // namespace

AwqBlockSearch awqSearchBlock(const Transformer& model, const BlockWeights& w, const LlamaLayerTensors& b,
                              const std::vector<std::array<RowMatrix, 4>>& inputs,
                              const std::array<const Eigen::MatrixXf*, 4>& hessians, const AwqOptions& options,
                              ThreadPool& pool, const std::function<void()>& check)
{
    const auto tick = [&] {
        if (check)
            check();
    };
    AwqOptions noClip = options;
    noClip.clip = false;
    const std::size_t n = inputs.size();
    AwqBlockSearch result;

    // Runs `module` on every sequence's input `which` with `trial` weights: the summed squared
    // difference from `reference` (per sequence; empty: fills it with the outputs).
    BlockWeights trial = w;
    const auto moduleLoss = [&](LinearInput which, bool attention, std::vector<RowMatrix>& reference) {
        const bool fill = reference.empty();
        if (fill)
            reference.resize(n);
        std::vector<double> partial(n, 0.0);
        pool.run(n, [&](std::size_t i, unsigned) {
            const RowMatrix& x = inputs[i][std::size_t(which)];
            RowMatrix out;
            if (attention) {
                KvCache cache = model.reserve(std::uint64_t(x.rows()));
                model.attention(trial, x, cache, out);
            } else {
                model.mlp(trial, x, out);
            }
            if (fill)
                reference[i] = std::move(out);
            else
                partial[i] = (out - reference[i]).cast<double>().squaredNorm();
        });
        double sum = 0.0; // in sequence order: the same on any thread count
        for (const double p : partial)
            sum += p;
        return sum;
    };

    // q, k, v: the self-attention's output.
    std::vector<RowMatrix> reference;
    moduleLoss(LinearInput::Attention, true, reference);
    const auto [alphaAttention, sAttention] = awqSearchScales(
        meanAbs(inputs, LinearInput::Attention), options,
        [&](const Eigen::VectorXf& s) {
            tick();
            trial.q = quantizedWithScales(w.q, s, noClip);
            trial.k = quantizedWithScales(w.k, s, noClip);
            trial.v = quantizedWithScales(w.v, s, noClip);
            return moduleLoss(LinearInput::Attention, true, reference);
        },
        "q, k, v");
    trial.q = w.q;
    trial.k = w.k;
    trial.v = w.v;
    result.alpha[0] = alphaAttention;

    // o after v, when their shapes agree.
    Eigen::VectorXf sOutput;
    if (w.v.rows() == w.o.rows() && w.v.cols() == w.o.cols()) {
        const Eigen::MatrixXf& h = *hessians[std::size_t(LinearInput::AttentionOutput)];
        auto [alpha, s] = awqSearchScales(
            meanAbs(inputs, LinearInput::AttentionOutput), options,
            [&](const Eigen::VectorXf& scales) {
                tick();
                return awqLinearLoss(valuesOf(w.o), std::uint64_t(w.o.rows()), std::uint64_t(w.o.cols()), h, scales,
                                     noClip);
            },
            "o");
        result.alpha[1] = alpha;
        sOutput = std::move(s);
    }

    // gate, up: the MLP's output.
    reference.clear();
    moduleLoss(LinearInput::Mlp, false, reference);
    const auto [alphaMlp, sMlp] = awqSearchScales(
        meanAbs(inputs, LinearInput::Mlp), options,
        [&](const Eigen::VectorXf& s) {
            tick();
            trial.gate = quantizedWithScales(w.gate, s, noClip);
            trial.up = quantizedWithScales(w.up, s, noClip);
            return moduleLoss(LinearInput::Mlp, false, reference);
        },
        "gate, up");
    result.alpha[2] = alphaMlp;

    // down after up.
    const Eigen::MatrixXf& hDown = *hessians[std::size_t(LinearInput::MlpDown)];
    const auto [alphaDown, sDown] = awqSearchScales(
        meanAbs(inputs, LinearInput::MlpDown), options,
        [&](const Eigen::VectorXf& s) {
            tick();
            return awqLinearLoss(valuesOf(w.down), std::uint64_t(w.down.rows()), std::uint64_t(w.down.cols()), hDown, s,
                                 noClip);
        },
        "down");
    result.alpha[3] = alphaDown;

    // Each weight's transform, with auto_clip on all but q and k (the scaled weight, the scaled inputs).
    const auto add = [&](std::ptrdiff_t index, const RowMatrix& weight, const Eigen::VectorXf& s,
                         const Eigen::VectorXf& r, LinearInput which, double alpha, bool clip) {
        if (index < 0)
            return;
        tick();
        auto t = std::make_shared<AwqTransform>();
        t->inputScale = s;
        t->outputScale = r;
        t->alpha = alpha;
        if (options.clip && clip) {
            const RowMatrix scaled = scaledWeight(weight, s, r);
            const Eigen::MatrixXf& h = *hessians[std::size_t(which)];
            const Eigen::MatrixXf hs
                = s.size() ? Eigen::MatrixXf(s.cwiseInverse().asDiagonal() * h * s.cwiseInverse().asDiagonal()) : h;
            t->clip = awqClipSearch(valuesOf(scaled), std::uint64_t(scaled.rows()), std::uint64_t(scaled.cols()), hs,
                                    options);
        }
        result.tensors[std::size_t(index)] = std::move(t);
    };
    add(b.q, w.q, sAttention, {}, LinearInput::Attention, alphaAttention, false);
    add(b.k, w.k, sAttention, {}, LinearInput::Attention, alphaAttention, false);
    add(b.v, w.v, sAttention, sOutput, LinearInput::Attention, alphaAttention, true);
    add(b.o, w.o, sOutput, {}, LinearInput::AttentionOutput, result.alpha[1], true);
    add(b.gate, w.gate, sMlp, {}, LinearInput::Mlp, alphaMlp, true);
    add(b.up, w.up, sMlp, sDown, LinearInput::Mlp, alphaMlp, true);
    add(b.down, w.down, sDown, {}, LinearInput::MlpDown, alphaDown, true);
    return result;
}

} // namespace quantlens::core
