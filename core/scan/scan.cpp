#include "core/scan/scan.h"

#include "core/scan/scan_schemes.h"
#include "core/scan/thread_pool.h"
#include "core/simd/kernels.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"
#include "core/util/units.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <regex>
#include <set>

namespace quantlens::core {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kReportInterval = std::chrono::milliseconds(50);
// Consecutive small tensors are handed out together, one tensor per task, so that a model of
// thousands of tiny norms does not pay a parallel loop per tensor.
constexpr std::size_t kMaxTensorsPerGroup = 256;

// One scheme on one tensor, as the policy applies it.
struct Applied {
    std::shared_ptr<const ScanScheme> scheme; // the scheme asked for, a fallback, or null: kept as stored
    std::string note; // PlannedTensor::note
};

// Finite min/max of a tensor, and each scheme's whole-tensor statistics.
struct Prepass {
    float min = std::numeric_limits<float>::infinity();
    float max = -std::numeric_limits<float>::infinity();
    std::vector<TensorStatistics> schemeStatistics;

    void add(std::span<const float> values)
    {
        // NaN drops out of the comparisons by itself, infinities would not, so a chunk whose extremes
        // come out infinite is done again value by value.
        float chunkMin = 0.0f, chunkMax = 0.0f;
        kernels::kernels().minMax(values.data(), values.size(), chunkMin, chunkMax);
        if (std::isinf(chunkMin) || std::isinf(chunkMax)) {
            chunkMin = std::numeric_limits<float>::infinity();
            chunkMax = -chunkMin;
            for (float v : values) {
                if (std::isfinite(v)) {
                    chunkMin = std::min(chunkMin, v);
                    chunkMax = std::max(chunkMax, v);
                }
            }
        }
        min = std::min(min, chunkMin);
        max = std::max(max, chunkMax);
    }
    void merge(const Prepass& other, const std::vector<Applied>& applied)
    {
        min = std::min(min, other.min);
        max = std::max(max, other.max);
        schemeStatistics.resize(applied.size());
        for (std::size_t s = 0; s < applied.size(); ++s)
            if (s < other.schemeStatistics.size() && applied[s].scheme)
                applied[s].scheme->mergeStatistics(schemeStatistics[s], other.schemeStatistics[s]);
    }
};

// What one thread owns: its buffers and, for the tensor being measured, its accumulators.
struct Worker {
    std::vector<float> input;
    std::vector<float> output;
    std::vector<ErrorAccumulator> errors; // per scheme
    std::vector<double> weighted; // per scheme: ScanOptions::errorWeights' sum
    std::vector<double> activation; // per scheme: tr(D H D^T) with the tensor's calibration
    double activationBase = 0.0; // tr(W H W^T)
    ValueHistogram weights;
};

struct Aggregate {
    std::uint64_t tensors = 0;
    std::uint64_t tensorsQuantized = 0;
    std::uint64_t tensorsFallback = 0;
    std::uint64_t parameters = 0;
    std::uint64_t parametersQuantized = 0;
    std::uint64_t originalBytes = 0;
    std::uint64_t quantizedBytes = 0;
    ErrorAccumulator error;
    double activationError = 0.0; // sums of tr(D H D^T) and tr(W H W^T) over calibrated tensors
    double activationBase = 0.0;

    void add(const TensorScanResult& result, const ErrorAccumulator& accumulator, double activationBaseOfTensor)
    {
        ++tensors;
        if (!std::isnan(result.activationError)) {
            activationError += result.activationError * activationBaseOfTensor;
            activationBase += activationBaseOfTensor;
        }
        if (!result.storedAs.empty()) {
            ++tensorsQuantized;
            parametersQuantized += result.elements;
            tensorsFallback += result.storedAs != result.scheme ? 1 : 0;
        }
        parameters += result.elements;
        originalBytes += result.originalBytes;
        quantizedBytes += result.quantizedBytes;
        error.merge(accumulator);
    }
    ScanSummary summary(const std::string& scheme, int layer) const
    {
        ScanSummary s;
        s.scheme = scheme;
        s.layer = layer;
        s.tensors = tensors;
        s.tensorsQuantized = tensorsQuantized;
        s.tensorsFallback = tensorsFallback;
        s.parameters = parameters;
        s.parametersQuantized = parametersQuantized;
        s.originalBytes = originalBytes;
        s.quantizedBytes = quantizedBytes;
        s.bitsPerParameter = parameters != 0 ? double(quantizedBytes) * 8.0 / double(parameters) : 0.0;
        s.error = error.stats();
        if (activationBase > 0.0)
            s.activationError = activationError / activationBase;
        return s;
    }
};

std::uint64_t roundUp(std::uint64_t value, std::uint64_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

class Scanner {
public:
    Scanner(const Model& model, const ScanOptions& options, ProgressSink& sink)
        : m_model(model)
        , m_options(options)
        , m_sink(sink)
        , m_pool(options.threads)
        , m_workers(m_pool.size())
        , m_layers(options.schemes.size())
        , m_totals(options.schemes.size())
    {
    }

    ScanResult run();

private:
    std::uint64_t chunkFor(std::size_t index) const;
    // Each scheme as the policy applies it to every selected tensor: m_plans.
    void planTensors(const std::vector<std::size_t>& selected);
    void scanSmall(std::size_t index, Worker& worker);
    void scanLarge(std::size_t index);
    void skip(std::size_t index, const std::string& why);
    void scanSelected(const std::vector<std::size_t>& selected);
    void fillResult(ScanResult& result);
    void finishTensor(std::size_t index, const std::vector<ErrorAccumulator>& errors,
                      const std::vector<double>& weighted, const std::vector<double>& activation, double activationBase,
                      const ValueHistogram& weights, const std::vector<Applied>& applied);
    const ErrorWeights* errorWeightsFor(std::size_t index) const;
    const Calibration* calibrationFor(std::size_t index) const
    {
        return m_options.calibration ? m_options.calibration->find(index) : nullptr;
    }
    void addBytes(std::size_t index, std::uint64_t begin, std::uint64_t end);
    void report(bool force);
    Worker& prepareWorker(unsigned w, std::uint64_t chunk);

    const Model& m_model;
    const ScanOptions& m_options;
    ProgressSink& m_sink;
    ThreadPool m_pool;
    std::vector<Worker> m_workers;
    Clock::time_point m_start = Clock::now();

    std::mutex m_resultMutex;
    std::vector<TensorScanResult> m_results;
    std::vector<std::map<int, Aggregate>> m_layers; // per scheme
    std::vector<Aggregate> m_totals; // per scheme
    std::vector<std::vector<Applied>> m_plans; // per tensor index (the selected ones), per scheme

    std::mutex m_reportMutex;
    Clock::time_point m_lastReport {};
    std::string m_current;
    std::atomic<std::uint64_t> m_bytesDone {0};
    std::atomic<std::uint64_t> m_parametersDone {0};
    std::atomic<std::uint64_t> m_tensorsDone {0};
    std::uint64_t m_tensorsTotal = 0;
    std::uint64_t m_bytesTotal = 0;
    std::uint64_t m_maxChunk = 0;
};

// sum (columns[j] + rows[i]) (in - out)^2 over a chunk starting at flat element `first`; values
// that are not finite (in either) are left out, as the error statistics leave them.
double weightedSquaredError(std::span<const float> in, std::span<const float> out, std::span<const std::uint64_t> shape,
                            std::uint64_t first, const ErrorWeights& w)
{
    const std::uint64_t cols = shape.empty() ? 1 : std::max<std::uint64_t>(1, shape.back());
    double sum = 0.0;
    std::size_t k = 0;
    while (k < in.size()) {
        const std::uint64_t e = first + k;
        const std::uint64_t row = e / cols;
        std::uint64_t col = e % cols;
        const double rowWeight = row < w.rows.size() ? w.rows[std::size_t(row)] : 0.0;
        const std::size_t end = std::min(in.size(), k + std::size_t(cols - col));
        double part = 0.0;
        for (; k < end; ++k, ++col) {
            const double d = double(in[k]) - double(out[k]);
            if (!std::isfinite(d))
                continue;
            part += (col < w.columns.size() ? w.columns[std::size_t(col)] + rowWeight : rowWeight) * d * d;
        }
        sum += part;
    }
    return sum;
}

// The scheme measures the chunk where it runs (the GPU), or it round-trips here and we measure.
// A tensor the policy keeps as stored measures as exact: its values count, its error is zero.
void measureChunk(const ScanScheme* scheme, std::span<const float> input, std::span<float> output,
                  std::span<const std::uint64_t> shape, std::uint64_t first, const TensorStatistics& statistics,
                  ErrorAccumulator& errors, const ErrorWeights* weights, double& weighted,
                  const Calibration* calibration, double& activation)
{
    if (!scheme) {
        errors.add(input, input);
        return;
    }
    if (!weights && !calibration && scheme->measure(input, shape, first, statistics, errors))
        return;
    scheme->roundTrip(input, output, shape, first, statistics);
    errors.add(input, output);
    if (weights)
        weighted += weightedSquaredError(input, output, shape, first, *weights);
    if (calibration)
        activation += hessianQuadratic(input, output, calibration->hessian);
}

const ErrorWeights* Scanner::errorWeightsFor(std::size_t index) const
{
    if (!m_options.errorWeights)
        return nullptr;
    const auto it = m_options.errorWeights->find(index);
    return it == m_options.errorWeights->end() ? nullptr : &it->second;
}

std::uint64_t Scanner::chunkFor(std::size_t index) const
{
    std::uint64_t alignment = std::max<std::uint64_t>(1, m_model.blockAlignment(index));
    for (const Applied& applied : m_plans[index])
        if (applied.scheme)
            alignment = std::lcm(
                alignment, std::max<std::uint64_t>(1, applied.scheme->chunkAlignment(m_model.tensors()[index].shape)));
    if (calibrationFor(index)) // the activation error sums over whole rows
        alignment = std::lcm(alignment, std::max<std::uint64_t>(1, m_model.tensors()[index].rowLength()));
    return roundUp(std::max<std::uint64_t>(1, m_options.chunkElements), alignment);
}

void Scanner::planTensors(const std::vector<std::size_t>& selected)
{
    std::map<std::string, std::shared_ptr<const ScanScheme>> fallbacks;
    m_plans.assign(m_model.tensors().size(), {});
    for (std::size_t index : selected) {
        const TensorInfo& tensor = m_model.tensors()[index];
        auto& plan = m_plans[index];
        for (const auto& scheme : m_options.schemes) {
            const PlannedTensor planned
                = planTensor(m_options.selection, scheme->id(), tensor, scheme->cannotStore(tensor.shape));
            Applied applied;
            applied.note = planned.note;
            if (planned.type == scheme->id()) {
                applied.scheme = scheme;
            } else if (!planned.type.empty()) {
                auto& fallback = fallbacks[planned.type];
                if (!fallback)
                    fallback = makeScanSchemes(planned.type, 0, false).front();
                applied.scheme = fallback;
            }
            if (applied.scheme && applied.scheme->needsCalibration()) {
                if (auto bound = m_options.calibration ? applied.scheme->withCalibration(*m_options.calibration, index)
                                                       : nullptr) {
                    applied.scheme = std::move(bound);
                } else {
                    applied.scheme = nullptr;
                    applied.note = strCat("kept as stored: ", scheme->id(),
                                          m_options.calibration ? " has no calibration inputs for this tensor"
                                                                : " needs calibration inputs, and none were given");
                }
            }
            plan.push_back(std::move(applied));
        }
    }
}

Worker& Scanner::prepareWorker(unsigned w, std::uint64_t chunk)
{
    Worker& worker = m_workers[w];
    if (worker.input.size() < chunk) {
        worker.input.resize(chunk);
        worker.output.resize(chunk);
    }
    worker.errors.assign(m_options.schemes.size(), ErrorAccumulator());
    worker.weighted.assign(m_options.schemes.size(), 0.0);
    worker.activation.assign(m_options.schemes.size(), 0.0);
    worker.activationBase = 0.0;
    return worker;
}

ScanResult Scanner::run()
{
    std::regex filter;
    if (!m_options.filter.empty()) {
        try {
            filter = std::regex(m_options.filter, std::regex::ECMAScript | std::regex::icase);
        } catch (const std::regex_error& e) {
            throw UsageError(strCat("invalid tensor filter '", m_options.filter, "': ", e.what()));
        }
    }
    const auto& tensors = m_model.tensors();
    // "attn_q,mlp_down": any of these roles (spaces around a name and empty items ignored, as in
    // a scheme list).
    std::set<std::string, std::less<>> roles;
    for (std::string role : splitCommaList(m_options.role)) {
        role.erase(0, role.find_first_not_of(" \t"));
        role.erase(role.find_last_not_of(" \t") + 1);
        if (role.empty())
            continue;
        bool known = false;
        std::string all;
        for (int r = 0; r <= int(TensorRole::Other); ++r) {
            known = known || roleName(TensorRole(r)) == role;
            all += strCat(r > 0 ? ", " : "", roleName(TensorRole(r)));
        }
        if (!known)
            throw UsageError(strCat("unknown tensor role '", role, "'; the roles are ", all));
        roles.insert(role);
    }
    std::vector<bool> listed(m_options.tensorIndices ? tensors.size() : 0, false);
    if (m_options.tensorIndices) {
        for (std::size_t i : *m_options.tensorIndices) {
            if (i >= tensors.size())
                throw UsageError(strCat("tensor index ", i, " is past the model's ", tensors.size(), " tensors"));
            listed[i] = true;
        }
    }
    std::vector<std::size_t> selected;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if ((m_options.filter.empty() || std::regex_search(tensors[i].name, filter))
            && (roles.empty() || roles.count(roleName(tensors[i].role)) != 0)
            && (!m_options.tensorIndices || listed[i])) {
            selected.push_back(i);
            m_bytesTotal += tensors[i].byteSize;
        }
    }
    if (selected.empty() && (!m_options.filter.empty() || !roles.empty()))
        throw UsageError(strCat(
            "no tensor matches", m_options.filter.empty() ? "" : strCat(" the name filter '", m_options.filter, "'"),
            !m_options.filter.empty() && !roles.empty() ? " and" : "",
            roles.empty() ? "" : strCat(roles.size() == 1 ? " the role " : " the roles ", m_options.role)));
    m_tensorsTotal = selected.size();
    planTensors(selected);
    // The selection, for reports to state, when it left tensors out.
    const bool partial = selected.size() < tensors.size();
    report(true);

    bool cancelled = false;
    try {
        scanSelected(selected);
    } catch (const CancelledError&) {
        if (!m_options.partialOnCancel)
            throw;
        cancelled = true; // what finished stays: finishTensor runs only for whole tensors
    }
    report(true);

    ScanResult result;
    result.selection = m_options.selection;
    if (m_options.calibration)
        result.calibration = m_options.calibration->description();
    result.cancelled = cancelled;
    result.tensorsSelected = selected.size();
    result.tensorsMeasured = m_tensorsDone.load();
    fillResult(result);
    if (partial) {
        result.filter = m_options.filter;
        result.role = joinCommaList(roles);
    }
    return result;
}

void Scanner::scanSelected(const std::vector<std::size_t>& selected)
{
    const auto& tensors = m_model.tensors();
    std::size_t next = 0;
    while (next < selected.size()) {
        m_sink.throwIfCancelled();
        const std::size_t index = selected[next];
        std::string why;
        if (!m_model.canDequantize(index, &why)) {
            skip(index, why.empty() ? std::string("cannot be decoded") : why);
            ++next;
            continue;
        }
        if (tensors[index].elementCount() > chunkFor(index)) {
            {
                const std::lock_guard lock(m_reportMutex);
                m_current = tensors[index].name;
            }
            scanLarge(index);
            ++next;
            continue;
        }
        // A run of small, decodable tensors: one task each.
        std::vector<std::size_t> group;
        while (next < selected.size() && group.size() < kMaxTensorsPerGroup) {
            const std::size_t i = selected[next];
            if (!m_model.canDequantize(i) || tensors[i].elementCount() > chunkFor(i))
                break;
            group.push_back(i);
            ++next;
        }
        m_pool.run(group.size(), [&](std::size_t task, unsigned w) {
            m_sink.throwIfCancelled();
            // A small tensor needs buffers of its own size, not of a chunk (4 Mi values on the GPU path).
            scanSmall(group[task], prepareWorker(w, std::max<std::uint64_t>(1, tensors[group[task]].elementCount())));
        });
    }
}

void Scanner::fillResult(ScanResult& result)
{
    const std::lock_guard lock(m_resultMutex);
    result.tensors = std::move(m_results);
    std::stable_sort(
        result.tensors.begin(), result.tensors.end(),
        [](const TensorScanResult& a, const TensorScanResult& b) { return a.tensorIndex < b.tensorIndex; });
    for (std::size_t s = 0; s < m_options.schemes.size(); ++s) {
        const std::string id = m_options.schemes[s]->id();
        const std::string device = m_options.schemes[s]->device();
        for (const auto& [layer, aggregate] : m_layers[s]) {
            result.layers.push_back(aggregate.summary(id, layer));
            result.layers.back().device = device;
        }
        result.models.push_back(m_totals[s].summary(id, -1));
        result.models.back().device = device;
    }
    result.parameters = m_parametersDone.load();
    result.bytes = m_bytesTotal;
    result.seconds = std::chrono::duration<double>(Clock::now() - m_start).count();
    result.threads = m_pool.size();
    result.chunkElements = m_maxChunk;
    std::uint64_t working = 0;
    for (const auto& worker : m_workers)
        working += (worker.input.capacity() + worker.output.capacity()) * sizeof(float)
            + worker.errors.capacity() * sizeof(ErrorAccumulator);
    for (const auto& layers : m_layers)
        working += layers.size() * sizeof(Aggregate);
    result.workingBytes = working + m_totals.size() * sizeof(Aggregate);
}

// The whole tensor fits one chunk: one read, both passes on the same buffer.
void Scanner::scanSmall(std::size_t index, Worker& worker)
{
    const std::uint64_t n = m_model.tensors()[index].elementCount();
    const std::span<const std::uint64_t> shape = m_model.tensors()[index].shape;
    const std::span<float> input(worker.input.data(), n);
    const std::span<float> output(worker.output.data(), n);
    const std::vector<Applied>& applied = m_plans[index];
    if (n != 0)
        m_model.readFloat(index, 0, input);
    Prepass prepass;
    prepass.add(input);
    prepass.schemeStatistics.resize(m_options.schemes.size());
    for (std::size_t s = 0; s < applied.size(); ++s)
        if (applied[s].scheme && applied[s].scheme->needsTensorStatistics())
            prepass.schemeStatistics[s] = applied[s].scheme->chunkStatistics(input, shape);
    worker.weights = ValueHistogram(prepass.min, prepass.max, m_options.weightHistogramBins);
    worker.weights.add(input);
    const ErrorWeights* errorWeights = errorWeightsFor(index);
    const Calibration* calibration = calibrationFor(index);
    if (calibration)
        worker.activationBase += hessianQuadratic(input, {}, calibration->hessian);
    for (std::size_t s = 0; s < applied.size(); ++s)
        measureChunk(applied[s].scheme.get(), input, output, shape, 0, prepass.schemeStatistics[s], worker.errors[s],
                     errorWeights, worker.weighted[s], calibration, worker.activation[s]);
    addBytes(index, 0, n);
    finishTensor(index, worker.errors, worker.weighted, worker.activation, worker.activationBase, worker.weights,
                 applied);
}

// Larger than a chunk: a parallel first pass for the statistics, then a parallel measuring pass.
// Each chunk is read again in the second pass rather than kept, so memory stays at one chunk per
// thread whatever the tensor's size.
void Scanner::scanLarge(std::size_t index)
{
    const std::uint64_t n = m_model.tensors()[index].elementCount();
    const std::span<const std::uint64_t> shape = m_model.tensors()[index].shape;
    const std::uint64_t chunk = chunkFor(index);
    const std::size_t chunks = std::size_t((n + chunk - 1) / chunk);
    const std::vector<Applied>& applied = m_plans[index];
    const std::size_t schemes = applied.size();
    bool needStatistics = m_options.weightHistogramBins != 0;
    for (const Applied& a : applied)
        needStatistics = needStatistics || (a.scheme && a.scheme->needsTensorStatistics());

    // Per chunk, merged in chunk order afterwards, so that results do not depend on thread timing.
    std::vector<Prepass> parts(needStatistics ? chunks : 0);
    if (needStatistics) {
        m_pool.run(chunks, [&](std::size_t c, unsigned w) {
            m_sink.throwIfCancelled();
            Worker& worker = prepareWorker(w, chunk);
            const std::uint64_t first = c * chunk;
            const std::span<float> input(worker.input.data(), std::min(chunk, n - first));
            m_model.readFloat(index, first, input);
            parts[c].add(input);
            parts[c].schemeStatistics.resize(schemes);
            for (std::size_t s = 0; s < schemes; ++s)
                if (applied[s].scheme && applied[s].scheme->needsTensorStatistics())
                    parts[c].schemeStatistics[s] = applied[s].scheme->chunkStatistics(input, shape);
        });
    }
    Prepass whole;
    whole.schemeStatistics.resize(schemes);
    for (const auto& part : parts)
        whole.merge(part, applied);
    parts.clear();

    for (unsigned w = 0; w < m_workers.size(); ++w) {
        prepareWorker(w, chunk);
        m_workers[w].weights = ValueHistogram(whole.min, whole.max, m_options.weightHistogramBins);
    }
    const ErrorWeights* errorWeights = errorWeightsFor(index);
    const Calibration* calibration = calibrationFor(index);
    m_pool.run(chunks, [&](std::size_t c, unsigned w) {
        m_sink.throwIfCancelled();
        Worker& worker = m_workers[w];
        const std::uint64_t first = c * chunk;
        const std::uint64_t count = std::min(chunk, n - first);
        const std::span<float> input(worker.input.data(), count);
        const std::span<float> output(worker.output.data(), count);
        m_model.readFloat(index, first, input);
        if (m_options.weightHistogramBins != 0)
            worker.weights.add(input);
        if (calibration)
            worker.activationBase += hessianQuadratic(input, {}, calibration->hessian);
        for (std::size_t s = 0; s < schemes; ++s)
            measureChunk(applied[s].scheme.get(), input, output, shape, first, whole.schemeStatistics[s],
                         worker.errors[s], errorWeights, worker.weighted[s], calibration, worker.activation[s]);
        addBytes(index, first, first + count);
        report(false);
    });

    std::vector<ErrorAccumulator> errors(schemes);
    std::vector<double> weighted(schemes, 0.0);
    std::vector<double> activation(schemes, 0.0);
    double activationBase = 0.0;
    ValueHistogram weights(whole.min, whole.max, m_options.weightHistogramBins);
    for (auto& worker : m_workers) {
        for (std::size_t s = 0; s < schemes; ++s) {
            errors[s].merge(worker.errors[s]);
            weighted[s] += worker.weighted[s];
            activation[s] += worker.activation[s];
        }
        activationBase += worker.activationBase;
        weights.merge(worker.weights);
    }
    finishTensor(index, errors, weighted, activation, activationBase, weights, applied);
}

void Scanner::skip(std::size_t index, const std::string& why)
{
    const TensorInfo& info = m_model.tensors()[index];
    {
        const std::lock_guard lock(m_resultMutex);
        for (const auto& scheme : m_options.schemes) {
            TensorScanResult r;
            r.tensorIndex = index;
            r.name = info.name;
            r.layer = info.layer;
            r.role = info.role;
            r.dtype = info.dtype;
            r.shape = info.shape;
            r.elements = info.elementCount();
            r.originalBytes = info.byteSize;
            r.scheme = scheme->id();
            r.error = ErrorAccumulator().stats(); // not measured: NaN
            r.skipped = why;
            m_results.push_back(r);
            if (m_options.onTensor)
                m_options.onTensor(r);
        }
    }
    m_bytesDone += info.byteSize;
    ++m_tensorsDone;
    report(true);
}

void Scanner::finishTensor(std::size_t index, const std::vector<ErrorAccumulator>& errors,
                           const std::vector<double>& weighted, const std::vector<double>& activation,
                           double activationBase, const ValueHistogram& weights, const std::vector<Applied>& applied)
{
    const TensorInfo& info = m_model.tensors()[index];
    const std::uint64_t n = info.elementCount();
    {
        const std::lock_guard lock(m_resultMutex);
        for (std::size_t s = 0; s < m_options.schemes.size(); ++s) {
            TensorScanResult r;
            r.tensorIndex = index;
            r.name = info.name;
            r.layer = info.layer;
            r.role = info.role;
            r.dtype = info.dtype;
            r.shape = info.shape;
            r.elements = n;
            r.originalBytes = info.byteSize;
            r.scheme = m_options.schemes[s]->id();
            r.weightHistogram = weights;
            r.policyNote = applied[s].note;
            if (applied[s].scheme) {
                r.storedAs = applied[s].scheme->id();
                r.bitsPerParameter
                    = n != 0 ? applied[s].scheme->bitsPerParameter(std::span<const std::uint64_t>(info.shape)) : 0.0;
                r.quantizedBytes = std::uint64_t(std::ceil(r.bitsPerParameter * double(n) / 8.0));
            } else {
                // Kept as stored: its stored size, and exact.
                r.quantizedBytes = info.byteSize;
                r.bitsPerParameter = n != 0 ? double(info.byteSize) * 8.0 / double(n) : 0.0;
            }
            r.error = errors[s].stats();
            if (errorWeightsFor(index))
                r.weightedError = weighted[s];
            if (calibrationFor(index) && activationBase > 0.0)
                r.activationError = activation[s] / activationBase;
            const auto& counts = errors[s].errorHistogram().counts();
            std::size_t lo = 0, hi = counts.size();
            while (lo < hi && counts[lo] == 0)
                ++lo;
            while (hi > lo && counts[hi - 1] == 0)
                --hi;
            r.errorHistogramFirstBin = lo;
            r.errorHistogram.assign(counts.begin() + std::ptrdiff_t(lo), counts.begin() + std::ptrdiff_t(hi));
            m_layers[s][info.layer].add(r, errors[s], activationBase);
            m_totals[s].add(r, errors[s], activationBase);
            m_results.push_back(r);
            if (m_options.onTensor)
                m_options.onTensor(m_results.back());
        }
        m_maxChunk = std::max(m_maxChunk, std::min(n, chunkFor(index)));
    }
    ++m_tensorsDone;
    {
        const std::lock_guard lock(m_reportMutex);
        m_current = info.name;
    }
    report(true);
}

void Scanner::addBytes(std::size_t index, std::uint64_t begin, std::uint64_t end)
{
    // Stored bytes in proportion to elements, telescoping so that a tensor's chunks sum to its size.
    const TensorInfo& info = m_model.tensors()[index];
    const std::uint64_t n = info.elementCount();
    m_parametersDone += end - begin;
    if (n == 0) {
        m_bytesDone += info.byteSize;
        return;
    }
    const auto at = [&](std::uint64_t e) {
        return e == n ? info.byteSize : std::uint64_t(double(info.byteSize) * double(e) / double(n));
    };
    m_bytesDone += at(end) - at(begin);
}

void Scanner::report(bool force)
{
    if (!m_options.onProgress && !force)
        return;
    const std::lock_guard lock(m_reportMutex);
    const auto now = Clock::now();
    if (!force && now - m_lastReport < kReportInterval)
        return;
    m_lastReport = now;
    ScanProgress p;
    p.progress.done = m_tensorsDone.load();
    p.progress.total = m_tensorsTotal;
    p.progress.bytesDone = m_bytesDone.load();
    p.progress.bytesTotal = m_bytesTotal;
    p.progress.unit = "tensors";
    p.progress.current = m_current;
    p.seconds = std::chrono::duration<double>(now - m_start).count();
    if (p.seconds > 0) {
        p.bytesPerSecond = double(p.progress.bytesDone) / p.seconds;
        p.parametersPerSecond = double(m_parametersDone.load()) / p.seconds;
    }
    if (p.bytesPerSecond > 0 && m_bytesTotal >= p.progress.bytesDone)
        p.secondsLeft = double(m_bytesTotal - p.progress.bytesDone) / p.bytesPerSecond;
    m_sink.report(p.progress);
    if (m_options.onProgress)
        m_options.onProgress(p);
}

} // namespace

ScanResult scanModel(const Model& model, const ScanOptions& options, ProgressSink& sink)
{
    if (options.schemes.empty())
        throw UsageError("no quantization scheme to scan with");
    for (const auto& scheme : options.schemes)
        if (!scheme)
            throw UsageError("a quantization scheme to scan with is missing");
    Scanner scanner(model, options, sink);
    return scanner.run();
}

std::string coverageText(const ScanSummary& s)
{
    return strCat(s.tensorsQuantized, " of ", s.tensors, s.tensors == 1 ? " tensor" : " tensors", " quantized (",
                  formatThousands(s.parametersQuantized), " of ", formatThousands(s.parameters), " parameters)",
                  s.tensorsFallback != 0 ? strCat(", ", s.tensorsFallback, " in a fallback type") : std::string());
}

std::vector<std::string> policyNotes(const ScanResult& result, const std::string& scheme)
{
    std::vector<std::pair<std::string, std::uint64_t>> counts;
    for (const auto& t : result.tensors) {
        if (t.scheme != scheme || t.policyNote.empty())
            continue;
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == t.policyNote; });
        if (it == counts.end())
            counts.emplace_back(t.policyNote, 1);
        else
            ++it->second;
    }
    std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<std::string> lines;
    for (const auto& [note, count] : counts)
        lines.push_back(strCat(count, count == 1 ? " tensor: " : " tensors: ", note));
    return lines;
}

} // namespace quantlens::core
