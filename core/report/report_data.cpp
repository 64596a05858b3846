#include "core/report/report_data.h"

#include "core/util/str_cat.h"
#include "core/util/text_list.h"
#include "core/util/units.h"
#include "core/util/version.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <thread>

namespace quantlens::core {

namespace {

void addTo(std::map<std::string, ModelGroupTotal>& groups, const std::string& name, const TensorInfo& t)
{
    auto& g = groups[name];
    g.name = name;
    g.tensors += 1;
    g.parameters += t.elementCount();
    g.bytes += t.byteSize;
}

std::vector<ModelGroupTotal> largestFirst(const std::map<std::string, ModelGroupTotal>& groups)
{
    std::vector<ModelGroupTotal> out;
    for (const auto& [name, g] : groups)
        out.push_back(g);
    std::stable_sort(out.begin(), out.end(),
                     [](const ModelGroupTotal& a, const ModelGroupTotal& b) { return a.parameters > b.parameters; });
    return out;
}

std::string cpuModelName()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0)
            continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        return value;
    }
    return "unknown";
}

} // namespace

ModelSummary summarizeModel(const Model& model)
{
    ModelSummary s;
    s.path = model.path().string();
    s.format = model.format();
    for (const auto& f : model.files())
        s.files.push_back(f.string());
    s.architecture = model.architecture();
    s.metadata = model.metadata();
    std::map<std::string, ModelGroupTotal> roles;
    std::map<std::string, ModelGroupTotal> dtypes;
    for (const auto& t : model.tensors()) {
        s.tensors += 1;
        s.parameters += t.elementCount();
        s.bytes += t.byteSize;
        addTo(roles, std::string(roleName(t.role)), t);
        addTo(dtypes, std::string(dtypeName(t.dtype)), t);
    }
    s.byRole = largestFirst(roles);
    s.byDtype = largestFirst(dtypes);
    s.storedQuantization = storedQuantizationNote(model);
    return s;
}

std::string planSubject(const PlanInput& input, const PlanResult& result)
{
    const std::string model = input.model.displayName.empty() ? input.model.name : input.model.displayName;
    return strCat(model, ", ", toString(input.method), " in ", toString(input.precision),
                  result.gpu ? strCat(" on ", input.gpus, " × ", result.gpu->name) : std::string(", no GPU chosen"));
}

PlanScenario makePlanScenario(const std::string& name, const PlanInput& input)
{
    PlanScenario s;
    s.input = input;
    s.result = evaluate(input);
    s.name = name.empty() ? planSubject(input, s.result) : name;
    s.suggestions = suggestions(input);
    if (!input.gpu.empty()) {
        s.maxMicroBatch = maxMicroBatch(input);
        s.maxSeqLen = maxSeqLen(input);
    }
    // Powers of two from 256 to 32768, on to the first past the longest sequence that fits, and that
    // one itself: the chart's marker then gives the text's number (at most 10M tokens: 17 points).
    constexpr std::int64_t kLongestPlanned = 10'000'000; // core::validate's limit for --seq
    const std::int64_t longest = s.maxSeqLen.value_or(0);
    std::vector<std::int64_t> lengths;
    for (std::int64_t v = 256; v <= std::max<std::int64_t>(32768, longest) && v <= kLongestPlanned; v *= 2)
        lengths.push_back(v);
    if (lengths.back() <= longest && lengths.back() * 2 <= kLongestPlanned)
        lengths.push_back(lengths.back() * 2);
    if (longest > 0 && std::find(lengths.begin(), lengths.end(), longest) == lengths.end()) {
        lengths.push_back(longest);
        std::sort(lengths.begin(), lengths.end());
    }
    s.seqSweep = sweep(input, SweepAxis::SeqLen, lengths);
    return s;
}

ReportEnvironment collectEnvironment()
{
    ReportEnvironment e;
    e.appVersion = kVersion;
    utsname u {};
    if (uname(&u) == 0)
        e.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
    e.cpuModel = cpuModelName();
    e.cpuThreads = std::thread::hardware_concurrency();
    return e;
}

std::string cpuBenchmarkRowLabel(const CpuBenchmarkRow& row)
{
    return row.instructionSet.empty() ? row.name : row.name + " (" + row.instructionSet + ")";
}

BenchSection cpuBenchmarkSection(const CpuBenchmarkResult& r)
{
    BenchSection section;
    section.title = "CPU scan benchmark";
    for (const auto& x : r.rows)
        section.rows.push_back({cpuBenchmarkRowLabel(x), x.what, x.parametersPerSecond / 1e6, "M params/s"});
    section.rows.push_back({"fraction of read bound", "scan rate / memory-read rate (" + r.instructionSet + ")",
                            r.fractionOfReadBound, "x"});
    const std::string sets = joinList(r.instructionSets, ", ");
    section.notes.push_back(formatThousands(r.parameters) + " BF16 parameters, " + std::to_string(r.threads)
                            + " threads, scheme " + r.scheme + ", measured one after the other in one run");
    section.notes.push_back("kernels measured on: " + sets + "; scans run on " + r.instructionSet);
    return section;
}

std::string utcTimestamp()
{
    const std::time_t now = std::time(nullptr);
    std::tm tm {};
    gmtime_r(&now, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::vector<std::string> scanSchemes(const ScanResult& scan)
{
    std::vector<std::string> out;
    for (const auto& m : scan.models)
        out.push_back(m.scheme);
    for (const auto& t : scan.tensors) {
        if (std::find(out.begin(), out.end(), t.scheme) == out.end())
            out.push_back(t.scheme);
    }
    return out;
}

std::vector<const TensorScanResult*> worstTensors(const ScanResult& scan, const std::string& scheme, std::size_t limit)
{
    std::vector<const TensorScanResult*> out;
    for (const auto& t : scan.tensors) {
        if (t.scheme == scheme)
            out.push_back(&t);
    }
    // +inf (an all-zero original) sorts first, as it should; NaN (no finite value measured) after
    // every number, so that the order stays a strict weak one.
    std::stable_sort(out.begin(), out.end(), [](const TensorScanResult* a, const TensorScanResult* b) {
        if (a->skipped.empty() != b->skipped.empty())
            return a->skipped.empty();
        if (std::isnan(a->error.relError) != std::isnan(b->error.relError))
            return std::isnan(b->error.relError);
        if (a->error.relError != b->error.relError)
            return a->error.relError > b->error.relError;
        return a->name < b->name;
    });
    if (limit > 0 && out.size() > limit)
        out.resize(limit);
    return out;
}

std::vector<const ScanSummary*> layerSummaries(const ScanResult& scan, const std::string& scheme)
{
    std::vector<const ScanSummary*> out;
    for (const auto& l : scan.layers) {
        if (l.scheme == scheme)
            out.push_back(&l);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const ScanSummary* a, const ScanSummary* b) { return a->layer < b->layer; });
    return out;
}

} // namespace quantlens::core
