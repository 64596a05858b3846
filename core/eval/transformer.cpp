#include "core/eval/transformer.h"

#include "core/quant/quant_policy.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantlens::core {

std::uint64_t BlockWeights::bytes() const
{
    const auto size = [](const auto& m) { return std::uint64_t(m.size()) * sizeof(float); };
    return size(q) + size(k) + size(v) + size(o) + size(gate) + size(up) + size(down) + size(qBias) + size(kBias)
        + size(vBias) + size(attnNorm) + size(ffnNorm);
}

Transformer::Transformer(const Model& model, LlamaConfig config, SchemeChooser chooser)
    : m_model(model)
    , m_config(std::move(config))
    , m_chooser(std::move(chooser))
{
}

std::vector<float> Transformer::read(std::ptrdiff_t index) const
{
    const auto& t = m_model.tensors().at(std::size_t(index));
    std::vector<float> values(t.elementCount());
    m_model.readFloat(std::size_t(index), 0, values);
    return values;
}

std::vector<float> Transformer::loadTensor(std::ptrdiff_t index) const
{
    auto values = read(index);
    if (m_chooser) {
        if (const auto scheme = m_chooser(std::size_t(index))) {
            std::vector<float> out(values.size());
            roundTripTensor(*scheme, m_model.tensors()[std::size_t(index)].shape, values, out);
            values = std::move(out);
        }
    }
    return values;
}

namespace {

RowMatrix toMatrix(const std::vector<float>& values, std::uint64_t rows, std::uint64_t cols)
{
    return Eigen::Map<const RowMatrix>(values.data(), Eigen::Index(rows), Eigen::Index(cols));
}

Eigen::VectorXf toVector(const std::vector<float>& values)
{
    return Eigen::Map<const Eigen::VectorXf>(values.data(), Eigen::Index(values.size()));
}

// out = x w^T, in slices of w's rows: Eigen packs a product's whole right-hand side into a
// temporary, which for a 128k-row output head is hundreds of MB beyond the weights themselves.
void multiplyTransposed(const RowMatrix& x, const RowMatrix& w, RowMatrix& out)
{
    constexpr Eigen::Index kSlice = 4096;
    out.resize(x.rows(), w.rows());
    for (Eigen::Index c = 0; c < w.rows(); c += kSlice) {
        const Eigen::Index n = std::min(kSlice, w.rows() - c);
        out.middleCols(c, n).noalias() = x * w.middleRows(c, n).transpose();
    }
}

} // namespace

BlockWeights Transformer::loadBlock(std::uint64_t layer) const
{
    const auto& c = m_config;
    const auto& b = c.blocks.at(layer);
    const auto matrix = [&](std::ptrdiff_t index) {
        const auto& shape = m_model.tensors()[std::size_t(index)].shape;
        return toMatrix(loadTensor(index), shape[0], shape[1]);
    };
    BlockWeights w;
    w.attnNorm = toVector(loadTensor(b.attnNorm));
    w.q = matrix(b.q);
    w.k = matrix(b.k);
    w.v = matrix(b.v);
    w.o = matrix(b.o);
    if (b.qBias >= 0)
        w.qBias = toVector(loadTensor(b.qBias));
    if (b.kBias >= 0)
        w.kBias = toVector(loadTensor(b.kBias));
    if (b.vBias >= 0)
        w.vBias = toVector(loadTensor(b.vBias));
    w.ffnNorm = toVector(loadTensor(b.ffnNorm));
    w.gate = matrix(b.gate);
    w.up = matrix(b.up);
    w.down = matrix(b.down);
    return w;
}

RowMatrix Transformer::loadHead() const
{
    return toMatrix(loadTensor(m_config.head), m_config.vocab, m_config.hidden);
}

Eigen::VectorXf Transformer::loadFinalNorm() const
{
    return toVector(loadTensor(m_config.finalNorm));
}

RowMatrix Transformer::embed(std::span<const std::int32_t> tokens) const
{
    const auto& c = m_config;
    const std::uint64_t d = c.hidden;
    for (const auto token : tokens) {
        if (token < 0 || std::uint64_t(token) >= c.vocab)
            throw UsageError(strCat("token id ", token, " is outside the vocabulary of ", c.vocab));
    }
    RowMatrix x(Eigen::Index(tokens.size()), Eigen::Index(d));
    const auto index = std::size_t(c.embedding);
    const auto& shape = m_model.tensors()[index].shape;
    const auto scheme = m_chooser ? m_chooser(index) : nullptr;
    const std::uint64_t readAlignment = std::max<std::uint64_t>(m_model.blockAlignment(index), 1);
    const bool rowsReadable = d % readAlignment == 0
        && (!scheme
            || (!scheme->needsTensorStatistics()
                && d % std::max<std::uint64_t>(scheme->chunkAlignment(shape), 1) == 0));
    if (!rowsReadable) {
        const auto all = loadTensor(c.embedding);
        for (std::size_t i = 0; i < tokens.size(); ++i)
            x.row(Eigen::Index(i))
                = Eigen::Map<const Eigen::RowVectorXf>(&all[std::uint64_t(tokens[i]) * d], Eigen::Index(d));
        return x;
    }
    std::vector<float> row(d);
    std::vector<float> quantized(scheme ? d : 0);
    RoundTripContext context;
    context.shape = shape;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::uint64_t first = std::uint64_t(tokens[i]) * d;
        m_model.readFloat(index, first, row);
        const float* values = row.data();
        if (scheme) {
            context.first = first;
            scheme->roundTrip(row, quantized, context);
            values = quantized.data();
        }
        x.row(Eigen::Index(i)) = Eigen::Map<const Eigen::RowVectorXf>(values, Eigen::Index(d));
    }
    return x;
}

KvCache Transformer::reserve(std::uint64_t positions) const
{
    KvCache cache;
    const auto width = Eigen::Index(m_config.kvHeads * m_config.headDim);
    cache.k.resize(Eigen::Index(positions), width);
    cache.v.resize(Eigen::Index(positions), width);
    return cache;
}

void Transformer::rmsNorm(const RowMatrix& x, const Eigen::VectorXf& weight, RowMatrix& out) const
{
    out.resize(x.rows(), x.cols());
    const double n = double(x.cols());
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
        double sum = 0.0;
        for (Eigen::Index i = 0; i < x.cols(); ++i)
            sum += double(x(r, i)) * double(x(r, i));
        const float scale = static_cast<float>(1.0 / std::sqrt(sum / n + m_config.rmsEps));
        out.row(r) = (x.row(r) * scale).cwiseProduct(weight.transpose());
    }
}

void Transformer::applyRope(RowMatrix& m, std::uint64_t heads, std::uint64_t firstPosition) const
{
    const std::uint64_t hd = m_config.headDim;
    const std::uint64_t half = hd / 2;
    const bool interleaved = m_config.ropeLayout == RopeLayout::Interleaved;
    std::vector<float> cosines(half);
    std::vector<float> sines(half);
    for (Eigen::Index r = 0; r < m.rows(); ++r) {
        const double position = double(firstPosition + std::uint64_t(r));
        for (std::uint64_t i = 0; i < half; ++i) {
            const double angle = position * m_config.ropeFrequencies[i];
            cosines[i] = static_cast<float>(std::cos(angle));
            sines[i] = static_cast<float>(std::sin(angle));
        }
        float* row = m.row(r).data();
        for (std::uint64_t h = 0; h < heads; ++h) {
            float* head = row + h * hd;
            for (std::uint64_t i = 0; i < half; ++i) {
                float& a = interleaved ? head[2 * i] : head[i];
                float& b = interleaved ? head[2 * i + 1] : head[i + half];
                const float x0 = a;
                const float x1 = b;
                a = x0 * cosines[i] - x1 * sines[i];
                b = x0 * sines[i] + x1 * cosines[i];
            }
        }
    }
}

void Transformer::runBlock(const BlockWeights& w, RowMatrix& x, KvCache& cache,
                           const LinearInputObserver* observer) const
{
    RowMatrix xn, projected;
    rmsNorm(x, w.attnNorm, xn);
    attention(w, xn, cache, projected, observer);
    x += projected;
    rmsNorm(x, w.ffnNorm, xn);
    mlp(w, xn, projected, observer);
    x += projected;
}

void Transformer::attention(const BlockWeights& w, const RowMatrix& xn, KvCache& cache, RowMatrix& out,
                            const LinearInputObserver* observer) const
{
    const auto& c = m_config;
    const Eigen::Index t = xn.rows();
    const auto hd = Eigen::Index(c.headDim);
    const std::uint64_t first = cache.length;
    if (first + std::uint64_t(t) > std::uint64_t(cache.k.rows()))
        throw UsageError(strCat("KV cache of ", cache.k.rows(), " positions cannot take ", t, " more after ", first));

    if (observer)
        (*observer)(LinearInput::Attention, xn);
    RowMatrix q, k, v;
    multiplyTransposed(xn, w.q, q);
    multiplyTransposed(xn, w.k, k);
    multiplyTransposed(xn, w.v, v);
    if (w.qBias.size())
        q.rowwise() += w.qBias.transpose();
    if (w.kBias.size())
        k.rowwise() += w.kBias.transpose();
    if (w.vBias.size())
        v.rowwise() += w.vBias.transpose();
    applyRope(q, c.heads, first);
    applyRope(k, c.kvHeads, first);
    cache.k.middleRows(Eigen::Index(first), t) = k;
    cache.v.middleRows(Eigen::Index(first), t) = v;
    cache.length = first + std::uint64_t(t);
    const auto length = Eigen::Index(cache.length);

    RowMatrix attention(t, Eigen::Index(c.heads) * hd);
    const float scale = static_cast<float>(1.0 / std::sqrt(double(c.headDim)));
    const std::uint64_t group = c.heads / c.kvHeads;
    RowMatrix scores;
    for (std::uint64_t h = 0; h < c.heads; ++h) {
        const auto g = Eigen::Index(h / group);
        const auto keys = cache.k.block(0, g * hd, length, hd);
        const auto values = cache.v.block(0, g * hd, length, hd);
        scores.noalias() = (q.middleCols(Eigen::Index(h) * hd, hd) * keys.transpose()) * scale;
        for (Eigen::Index r = 0; r < t; ++r) {
            const auto position = Eigen::Index(first) + r;
            const Eigen::Index from = c.slidingWindow && std::uint64_t(position) >= c.slidingWindow
                ? position + 1 - Eigen::Index(c.slidingWindow)
                : 0;
            float* row = scores.row(r).data();
            float top = -std::numeric_limits<float>::infinity();
            for (Eigen::Index j = from; j <= position; ++j)
                top = std::max(top, row[j]);
            float sum = 0.0f;
            for (Eigen::Index j = 0; j < length; ++j) {
                const float e = j >= from && j <= position ? std::exp(row[j] - top) : 0.0f;
                row[j] = e;
                sum += e;
            }
            const float inverse = 1.0f / sum;
            for (Eigen::Index j = from; j <= position; ++j)
                row[j] *= inverse;
        }
        attention.middleCols(Eigen::Index(h) * hd, hd).noalias() = scores * values;
    }
    if (observer)
        (*observer)(LinearInput::AttentionOutput, attention);
    multiplyTransposed(attention, w.o, out);
}

void Transformer::mlp(const BlockWeights& w, const RowMatrix& xn, RowMatrix& out,
                      const LinearInputObserver* observer) const
{
    if (observer)
        (*observer)(LinearInput::Mlp, xn);
    RowMatrix gate, up;
    multiplyTransposed(xn, w.gate, gate);
    multiplyTransposed(xn, w.up, up);
    gate = gate.unaryExpr([](float g) { return g / (1.0f + std::exp(-g)); }).cwiseProduct(up);
    if (observer)
        (*observer)(LinearInput::MlpDown, gate);
    multiplyTransposed(gate, w.down, out);
}

void Transformer::finalNormed(const Eigen::VectorXf& finalNorm, const RowMatrix& x, RowMatrix& out) const
{
    rmsNorm(x, finalNorm, out);
}

void Transformer::logits(const RowMatrix& head, const Eigen::VectorXf& finalNorm, const RowMatrix& x,
                         RowMatrix& out) const
{
    RowMatrix xn;
    rmsNorm(x, finalNorm, xn);
    multiplyTransposed(xn, head, out);
}

double Transformer::blockFlops(std::uint64_t positions) const
{
    const auto& c = m_config;
    const double t = double(positions);
    const double d = double(c.hidden);
    const double q = double(c.heads * c.headDim);
    const double kv = double(c.kvHeads * c.headDim);
    const double projections = t * d * (q + 2 * kv) + t * q * d + 3 * t * d * double(c.intermediate);
    const double attention = 2 * double(c.heads) * t * t * double(c.headDim); // scores and weighted values, full square
    return 2 * (projections + attention);
}

} // namespace quantlens::core
