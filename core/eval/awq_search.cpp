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

    // A group whose loss is a module's output (the self-attention, the MLP): `members` are the weights
    // of `trial` it scales, quantized at each grid point and then restored.
    BlockWeights trial = w;
    const auto searchModule
        = [&](LinearInput which, bool attention, const std::vector<std::pair<RowMatrix*, const RowMatrix*>>& members,
              const char* group) {
              const auto run = [&](std::size_t i, RowMatrix& out) {
                  const RowMatrix& x = inputs[i][std::size_t(which)];
                  if (attention) {
                      KvCache cache = model.reserve(std::uint64_t(x.rows()));
                      model.attention(trial, x, cache, out);
                  } else {
                      model.mlp(trial, x, out);
                  }
              };
              std::vector<RowMatrix> reference(n);
              pool.run(n, [&](std::size_t i, unsigned) { run(i, reference[i]); });
              auto found = awqSearchScales(
                  meanAbs(inputs, which), options,
                  [&](const Eigen::VectorXf& s) {
                      tick();
                      for (const auto& [into, original] : members)
                          *into = quantizedWithScales(*original, s, noClip);
                      std::vector<double> partial(n, 0.0);
                      pool.run(n, [&](std::size_t i, unsigned) {
                          RowMatrix out;
                          run(i, out);
                          partial[i] = (out - reference[i]).cast<double>().squaredNorm();
                      });
                      double sum = 0.0; // in sequence order: the same on any thread count
                      for (const double p : partial)
                          sum += p;
                      return sum;
                  },
                  group);
              for (const auto& [into, original] : members)
                  *into = *original;
              return found;
          };
    // A group of one Linear (o after v, down after up): its output's error, exactly, from the Hessian.
    const auto searchLinear = [&](const RowMatrix& weight, LinearInput which, const char* group) {
        const Eigen::MatrixXf& h = *hessians[std::size_t(which)];
        return awqSearchScales(
            meanAbs(inputs, which), options,
            [&](const Eigen::VectorXf& s) {
                tick();
                return awqLinearLoss(valuesOf(weight), std::uint64_t(weight.rows()), std::uint64_t(weight.cols()), h, s,
                                     noClip);
            },
            group);
    };

    const auto [alphaAttention, sAttention]
        = searchModule(LinearInput::Attention, true, {{&trial.q, &w.q}, {&trial.k, &w.k}, {&trial.v, &w.v}}, "q, k, v");
    result.alpha[0] = alphaAttention;
    Eigen::VectorXf sOutput;
    if (w.v.rows() == w.o.rows() && w.v.cols() == w.o.cols()) { // llm-awq's condition, which GQA breaks
        auto [alpha, s] = searchLinear(w.o, LinearInput::AttentionOutput, "o");
        result.alpha[1] = alpha;
        sOutput = std::move(s);
    }
    const auto [alphaMlp, sMlp]
        = searchModule(LinearInput::Mlp, false, {{&trial.gate, &w.gate}, {&trial.up, &w.up}}, "gate, up");
    result.alpha[2] = alphaMlp;
    const auto [alphaDown, sDown] = searchLinear(w.down, LinearInput::MlpDown, "down");
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
