#include "core/report/report_document.h"

#include "core/report/report_text.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>

namespace quantlens::core {

namespace {

using Block = ReportBlock;

class DocumentBuilder {
public:
    void heading(int level, std::string text)
    {
        Block b;
        b.kind = Block::Kind::Heading;
        b.level = level;
        b.text = std::move(text);
        m_blocks.push_back(std::move(b));
    }
    void paragraph(std::string text)
    {
        Block b;
        b.kind = Block::Kind::Paragraph;
        b.text = std::move(text);
        m_blocks.push_back(std::move(b));
    }
    void code(std::string text)
    {
        Block b;
        b.kind = Block::Kind::Code;
        b.text = std::move(text);
        m_blocks.push_back(std::move(b));
    }
    void list(std::vector<std::string> items)
    {
        if (items.empty())
            return;
        Block b;
        b.kind = Block::Kind::List;
        b.items = std::move(items);
        m_blocks.push_back(std::move(b));
    }
    void chart(std::string id, std::string caption)
    {
        Block b;
        b.kind = Block::Kind::Chart;
        b.chartId = std::move(id);
        b.text = std::move(caption);
        m_blocks.push_back(std::move(b));
    }
    // `numeric` holds one flag per column ("lrr" style: 'r' = right-aligned).
    void table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows, const std::string& align)
    {
        Block b;
        b.kind = Block::Kind::Table;
        b.header = std::move(header);
        b.rows = std::move(rows);
        for (std::size_t i = 0; i < b.header.size(); ++i)
            b.numeric.push_back(i < align.size() && align[i] == 'r');
        m_blocks.push_back(std::move(b));
    }
    std::vector<Block> take() { return std::move(m_blocks); }

private:
    std::vector<Block> m_blocks;
};

// Decimal units, as the planner counts, but small enough models (the bundled example has 260 K
// parameters) shown in MB or kB rather than as "0.00 GB".
std::string gb(double bytes)
{
    if (std::fabs(bytes) >= 0.1e9 || bytes == 0)
        return formatGB(bytes);
    char buffer[32];
    if (std::fabs(bytes) >= 0.1e6)
        std::snprintf(buffer, sizeof buffer, "%.2f MB", bytes / 1e6);
    else
        std::snprintf(buffer, sizeof buffer, "%.2f kB", bytes / 1e3);
    return buffer;
}

void addModel(DocumentBuilder& doc, const ModelSummary& m)
{
    doc.heading(2, "Model");
    doc.paragraph(strCat(m.path, " (", m.format, "): ", groupDigits(m.parameters), " parameters in ", m.tensors,
                         " tensors, ", formatBinaryBytes(static_cast<double>(m.bytes)), " of tensor data."));
    if (m.files.size() > 1)
        doc.list(m.files);
    if (!m.storedQuantization.empty())
        doc.paragraph(m.storedQuantization);
    const auto& a = m.architecture;
    std::vector<std::vector<std::string>> arch;
    const auto add = [&](const char* name, std::uint64_t v) {
        if (v > 0)
            arch.push_back({name, std::to_string(v)});
    };
    // A file without config.json (or GGUF metadata) says nothing of its shape: unknown, not 0.
    arch.push_back({"architecture", a.name.empty() ? "unknown (no config.json or GGUF metadata)" : a.name});
    add("layers", a.layers);
    add("hidden size", a.hiddenSize);
    add("intermediate size", a.intermediateSize);
    add("attention heads", a.attentionHeads);
    add("key/value heads", a.kvHeads);
    add("head dim", a.headDim);
    add("vocabulary", a.vocabSize);
    add("context length", a.contextLength);
    add("experts", a.experts);
    add("experts per token", a.expertsPerToken);
    if (a.tiedEmbeddings && !a.name.empty())
        arch.push_back({"tied embeddings", "yes"});
    if (!arch.empty())
        doc.table({"Architecture", "Value"}, std::move(arch), "lr");
    const auto groups = [&](const char* title, const std::vector<ModelGroupTotal>& gs) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& g : gs) {
            const double share = m.parameters ? double(g.parameters) / double(m.parameters) : 0.0;
            rows.push_back({g.name, std::to_string(g.tensors), groupDigits(g.parameters), formatPercent(share),
                            formatBinaryBytes(double(g.bytes))});
        }
        doc.table({title, "Tensors", "Parameters", "Share", "Bytes"}, std::move(rows), "lrrrr");
    };
    groups("Role", m.byRole);
    groups("Dtype", m.byDtype);
    if (!m.metadata.empty()) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& [key, value] : m.metadata)
            rows.push_back({key, value.size() > 300 ? value.substr(0, 300) + "..." : value});
        doc.table({"Metadata key", "Value"}, std::move(rows), "ll");
    }
}

void addPlan(DocumentBuilder& doc, const PlanScenario& p, std::size_t index)
{
    const auto& in = p.input;
    const auto& r = p.result;
    doc.heading(2, strCat("Memory plan: ", p.name));
    doc.paragraph(strCat(in.model.displayName.empty() ? in.model.name : in.model.displayName, ": ",
                         groupDigits(r.totalParameters), " parameters, ", groupDigits(r.trainableParameters),
                         " trainable. Setup: ", planSetupText(in), "."));
    std::string verdict = strCat("Peak ", formatGBAndGiB(double(r.peakBytes)),
                                 " per GPU (as nvidia-smi shows it), at the ", r.peakPhase, ".");
    if (r.gpu) {
        verdict += strCat(" ", r.gpu->name, ": ", formatGBAndGiB(double(r.gpu->memoryBytesUsable)), " usable. ",
                          r.fits ? "Fits" : "Does not fit", ", headroom ", r.headroomBytes < 0 ? "-" : "",
                          gb(std::fabs(double(r.headroomBytes))), ".");
        if (!r.cannotRun.empty())
            verdict += strCat(" But ", r.cannotRun, ".");
        if (p.maxMicroBatch)
            verdict += strCat(" Largest micro-batch at seq ", in.seqLen, ": ",
                              searchedLimitText(*p.maxMicroBatch, kMaxMicroBatchSearched), ".");
        if (p.maxSeqLen)
            verdict += strCat(" Longest sequence at batch ", in.microBatch, ": ",
                              searchedLimitText(*p.maxSeqLen, kMaxSeqLenSearched), ".");
    }
    doc.paragraph(verdict);
    std::vector<std::vector<std::string>> rows;
    const double peak = double(r.peakBytes);
    for (const auto& c : r.components) {
        if (c.bytes == 0 && c.bytesAtPeak == 0)
            continue;
        const double v = double(c.bytesAtPeak);
        rows.push_back({componentLabel(c.component), gb(v), formatGiB(v), formatPercent(peak > 0 ? v / peak : 0),
                        c.bytes != c.bytesAtPeak ? gb(double(c.bytes)) : "", c.formula});
    }
    rows.push_back({"Peak", gb(peak), formatGiB(peak), "100.0%", "", r.peakPhase});
    doc.table({"Component", "At peak", "GiB", "Share", "In all", "How it is computed"}, std::move(rows), "lrrrrl");
    doc.chart(strCat("breakdown/", index), "Memory at the peak by component, against the GPU's usable memory");
    if (r.pagedOptimizerBytes > 0)
        doc.paragraph(strCat("Of the optimizer states, ", gb(double(r.pagedOptimizerBytes)),
                             " are paged and may spill to CPU memory under pressure."));
    doc.list(r.notes);
    if (!p.suggestions.empty()) {
        doc.heading(3, "To lower the peak");
        std::vector<std::string> items;
        for (const auto& s : p.suggestions)
            items.push_back(
                strCat(s.text, ": ", gb(double(s.peakBytes)), r.gpu ? (s.fits ? " (fits)" : " (does not fit)") : ""));
        doc.list(std::move(items));
    }
    if (!p.seqSweep.empty()) {
        doc.heading(3, "Peak against sequence length");
        doc.chart(strCat("sweep/", index), "Peak memory against sequence length");
        std::vector<std::vector<std::string>> sweepRows;
        for (const auto& s : p.seqSweep)
            sweepRows.push_back({std::to_string(s.value), gb(double(s.result.peakBytes)),
                                 r.gpu ? (s.result.fits ? "yes" : "no") : "-"});
        doc.table({"Sequence length", "Peak", "Fits"}, std::move(sweepRows), "rrl");
    }
}

void addTeaching(DocumentBuilder& doc, const TeachingTable& t)
{
    doc.heading(2, "Teaching table");
    doc.paragraph(strCat("Bytes = parameters x bits / 8 for ", groupDigits(t.parameters),
                         " parameters, activations assumed as many as the parameters."));
    const auto& b = t.baseline;
    const auto& q = t.quantized;
    const auto bits = [](double v) { return strCat(v, "-bit"); };
    std::vector<std::vector<std::string>> rows = {
        {"Parameters", bits(b.setup.weightBits), gb(b.weightsBytes), bits(q.setup.weightBits), gb(q.weightsBytes)},
        {"Gradients", bits(b.setup.gradientBits), gb(b.gradientsBytes), bits(q.setup.gradientBits),
         gb(q.gradientsBytes)},
        {strCat("Optimizer states (", b.setup.optimizerStates, ")"), bits(b.setup.optimizerBits), gb(b.optimizerBytes),
         bits(q.setup.optimizerBits), gb(q.optimizerBytes)},
        {"Activations", bits(b.setup.activationBits), gb(b.activationsBytes), bits(q.setup.activationBits),
         gb(q.activationsBytes)},
        {"Total", "", gb(b.totalBytes()), "", gb(q.totalBytes())},
    };
    doc.table({"Component", "Baseline", "Bytes", "Quantized", "Bytes"}, std::move(rows), "lrrrr");
    doc.paragraph(strCat("Reduction: ", formatPercent(t.reduction), ". ", t.whyRealDiffers));
}

// Cosine to 6 decimals: int8 on a real model is 0.9999x, which %.4g would print as a perfect 1.
std::string formatCosine(double cosine)
{
    if (!std::isfinite(cosine))
        return formatMetric(cosine);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6f", cosine);
    return buffer;
}

// One line per scheme and reason for the tensors a scheme did not measure ("q4_0: 5 tensors
// (44,720 parameters) not measured: rows of 172 values ..."), in scheme order: the summary's rows
// above cover different tensors when these differ between schemes.
std::vector<std::string> skippedNotes(const ScanResult& scan)
{
    std::vector<std::string> notes;
    for (const auto& scheme : scanSchemes(scan)) {
        std::vector<std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>> reasons; // first-seen order
        for (const auto& t : scan.tensors) {
            if (t.scheme != scheme || t.skipped.empty())
                continue;
            auto it = std::find_if(reasons.begin(), reasons.end(), [&](const auto& r) { return r.first == t.skipped; });
            if (it == reasons.end())
                it = reasons.insert(reasons.end(), {t.skipped, {0, 0}});
            ++it->second.first;
            it->second.second += t.elements;
        }
        for (const auto& [why, counts] : reasons)
            notes.push_back(strCat(scheme, ": ", counts.first, counts.first == 1 ? " tensor (" : " tensors (",
                                   groupDigits(counts.second),
                                   " parameters) not measured and left out of its row: ", why));
    }
    return notes;
}

void addErrors(DocumentBuilder& doc, const ScanResult& scan)
{
    doc.heading(2, "Quantization error");
    doc.paragraph(strCat(
        "Each scheme applied ",
        scan.selection == TensorSelection::AsTool ? "as its tool applies it (the policy of each scheme below)"
                                                  : "to every tensor it can store (for teaching; no tool does this)",
        ", quantized and dequantized; ", groupDigits(scan.parameters),
        " parameters measured. Every row covers the same tensors: a tensor a scheme leaves alone counts at its "
        "stored size, as exact. Relative error = ||W - Q(W)||_F / ||W||_F; SQNR in dB."));
    // A filtered scan covers part of the model: say which part, beside the numbers.
    if (!scan.filter.empty() || !scan.role.empty())
        doc.paragraph(strCat(
            "Only the tensors", scan.filter.empty() ? "" : strCat(" whose names match '", scan.filter, "'"),
            !scan.filter.empty() && !scan.role.empty() ? " and" : "",
            scan.role.empty() ? "" : strCat(" of the roles ", scan.role), " were scanned, not the whole model."));
    if (scan.cancelled)
        doc.paragraph(strCat("The scan was cancelled: ", scan.tensorsMeasured, " of ", scan.tensorsSelected,
                             " tensors were measured, and every table and chart below covers those only."));
    std::vector<std::vector<std::string>> summary;
    std::vector<std::string> nonFinite;
    for (const auto& m : scan.models) {
        // A scheme that stored no tensor (every row skipped) has no size: n/a, not 0 bits.
        summary.push_back({m.scheme, strCat(m.tensorsQuantized, " of ", m.tensors),
                           m.tensors == 0 ? "n/a" : formatMetric(m.bitsPerParameter),
                           m.tensors == 0 ? "n/a" : formatBinaryBytes(double(m.originalBytes)),
                           m.tensors == 0 ? "n/a" : formatBinaryBytes(double(m.quantizedBytes)),
                           formatMetric(m.error.relError), formatMetric(m.error.rmse), formatMetric(m.error.sqnrDb),
                           formatCosine(m.error.cosine), formatMetric(m.error.maxAbsError),
                           groupDigits(m.error.nonFinite())});
        if (m.error.nonFinite() > 0)
            nonFinite.push_back(strCat(m.scheme, ": ", groupDigits(m.error.nonFiniteInputs),
                                       " non-finite values (inf/NaN) in the weights and ",
                                       groupDigits(m.error.nonFiniteOutputs),
                                       " produced by quantization are left out of the error; ",
                                       groupDigits(m.error.count), " values were measured"));
    }
    std::vector<std::string> headers {"Scheme", "Quantized", "Bits/param", "Base size", "Size",      "Rel. error",
                                      "RMSE",   "SQNR dB",   "Cosine",     "Max |err|", "Non-finite"};
    std::string align = "lrrrrrrrrrr";
    if (!scan.calibration.empty()) { // ||(W - Q(W)) X||^2 / ||W X||^2 on the calibration inputs
        headers.push_back("Act. error²");
        align += 'r';
        for (std::size_t i = 0; i < summary.size(); ++i)
            summary[i].push_back(formatMetric(scan.models[i].activationError));
        doc.paragraph(strCat("Act. error² = ||(W - Q(W)) X||² / ||W X||² over calibration inputs X (", scan.calibration,
                             "): what reaches each layer's output, and what GPTQ minimises."));
    }
    doc.table(headers, std::move(summary), align);
    std::vector<std::string> policies;
    for (const auto& m : scan.models) {
        std::string line = strCat(m.scheme, ": ", policyDescription(scan.selection, m.scheme), ". ", coverageText(m));
        for (const auto& note : policyNotes(scan, m.scheme))
            line += strCat("; ", note);
        policies.push_back(line + ".");
    }
    doc.list(policies);
    doc.list(nonFinite);
    doc.list(skippedNotes(scan));
    const auto schemes = scanSchemes(scan);
    for (std::size_t k = 0; k < schemes.size(); ++k) {
        const auto& scheme = schemes[k];
        doc.heading(3, strCat("Scheme ", scheme));
        doc.chart(strCat("errors/", k), strCat("Relative error by layer under ", scheme));
        const auto worst = worstTensors(scan, scheme);
        std::vector<std::vector<std::string>> rows;
        for (std::size_t i = 0; i < worst.size() && i < kWorstTensorRows; ++i) {
            const auto* t = worst[i];
            rows.push_back({t->name, t->layer < 0 ? "-" : std::to_string(t->layer), std::string(roleName(t->role)),
                            shapeText(t->shape),
                            !t->skipped.empty() ? "skipped"
                                : t->kept()     ? "kept"
                                                : formatMetric(t->error.relError),
                            formatMetric(t->error.rmse), formatMetric(t->error.sqnrDb),
                            formatMetric(t->error.maxAbsError)});
        }
        doc.paragraph(worst.size() > kWorstTensorRows
                          ? strCat("Worst ", kWorstTensorRows, " of ", worst.size(),
                                   " tensors by relative error (all of them in the CSV and JSON reports).")
                          : strCat("All ", worst.size(), " tensors, worst relative error first."));
        doc.table({"Tensor", "Layer", "Role", "Shape", "Rel. error", "RMSE", "SQNR dB", "Max |err|"}, std::move(rows),
                  "lrllrrrr");
        std::vector<std::vector<std::string>> layerRows;
        for (const auto* l : layerSummaries(scan, scheme))
            layerRows.push_back({l->layer < 0 ? "outside blocks" : std::to_string(l->layer), std::to_string(l->tensors),
                                 groupDigits(l->parameters), formatMetric(l->error.relError),
                                 formatMetric(l->error.rmse), formatMetric(l->error.sqnrDb),
                                 groupDigits(l->error.nonFinite())});
        if (!layerRows.empty()) {
            doc.paragraph(strCat("Per layer under ", scheme, " (sums over the layer's tensors, weighted by size)."));
            doc.table({"Layer", "Tensors", "Parameters", "Rel. error", "RMSE", "SQNR dB", "Non-finite"},
                      std::move(layerRows), "lrrrrrr");
        }
    }
}

void addBench(DocumentBuilder& doc, const std::vector<BenchSection>& bench)
{
    doc.heading(2, "Benchmarks");
    for (const auto& b : bench) {
        doc.heading(3, b.title);
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : b.rows)
            rows.push_back({r.name, r.what, formatMetric(r.value) + " " + r.unit});
        doc.table({"Measurement", "What", "Result"}, std::move(rows), "llr");
        doc.list(b.notes);
    }
}

void addQuality(DocumentBuilder& doc, const EvalResult& q, const std::string& command)
{
    doc.heading(2, "Model quality");
    doc.paragraph(strCat("The model run on the CPU (", q.config, ") on ", q.input, "; ", groupDigits(q.tokensScored),
                         " next-token predictions scored. Baseline perplexity ", formatMetric(q.baselinePerplexity),
                         " (", formatMetric(q.baselineBitsPerParameter),
                         " bits per parameter as stored). KL is "
                         "KL(baseline || model) per position in nats; top-1 agreement is the share of positions where "
                         "both rank the same token first."));
    if (!command.empty()) {
        doc.paragraph("Reproduce it with:");
        doc.code(wrapCommandLine(command, 88));
    }
    if (!q.results.empty()) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& c : q.results)
            rows.push_back({c.name, formatMetric(c.bitsPerParameter), formatMetric(c.perplexity),
                            formatMetric(c.kl.mean), formatMetric(c.kl.median), formatMetric(c.kl.p99),
                            formatMetric(c.kl.max), strCat(formatMetric(100.0 * c.top1Agreement), "%"),
                            formatMetric(c.meanDeltaLogProb)});
        doc.table(
            {"Model", "Bits/param", "Perplexity", "KL mean", "KL median", "KL p99", "KL max", "Top-1", "Mean dlogp"},
            std::move(rows), "lrrrrrrrr");
        std::vector<std::string> policies;
        for (const auto& c : q.results) {
            std::string line
                = strCat(c.name, ": ", c.policy, " (", c.quantizedTensors, " of ", c.totalTensors, " tensors)");
            for (const auto& note : c.notes)
                line += "; " + note;
            policies.push_back(std::move(line));
        }
        doc.paragraph("What each row quantized:");
        doc.list(std::move(policies));
        doc.chart("quality/size", "Mean KL and top-1 agreement against bits per parameter");
    }
    if (!q.sensitivity.empty()) {
        doc.heading(3, strCat("Sensitivity by ", q.sensitivityMode, " under ", q.sensitivity.front().scheme));
        doc.paragraph(strCat("One ", q.sensitivityMode, " quantized at a time, the rest as the baseline."));
        doc.chart("quality/sensitivity", strCat("Mean KL with one ", q.sensitivityMode, " at a time"));
        std::vector<std::vector<std::string>> rows;
        for (const auto& s : q.sensitivity)
            rows.push_back({s.group, std::to_string(s.tensors), groupDigits(s.parameters), formatMetric(s.klMean),
                            strCat(formatMetric(100.0 * s.top1Agreement), "%")});
        doc.table({"Group", "Tensors", "Parameters", "KL mean", "Top-1"}, std::move(rows), "lrrrr");
    }
}

void addAdvice(DocumentBuilder& doc, const AdvisorResult& a, const std::string& command)
{
    const auto bits = [&](std::uint64_t bytes) {
        return formatMetric(a.parameters ? double(bytes) * 8.0 / double(a.parameters) : 0.0);
    };
    doc.heading(2, "Mixed precision advisor");
    doc.paragraph(strCat(
        "A ", a.family == "ggml" ? "GGUF" : "bitsandbytes", " mix of ", formatBinaryBytes(double(a.totalBytes)), " (",
        bits(a.totalBytes), " bits per parameter) for a budget of ", formatBinaryBytes(double(a.budgetBytes)), ": ",
        a.policy, ". Minimised: ", a.costKind, "; total ", formatMetric(a.predictedCost),
        a.exact ? " (optimal)."
                : strCat(" (at most ", formatMetric(a.predictedCost - a.lowerBound), " above the optimum).")));
    if (!command.empty()) {
        doc.paragraph("Reproduce it with:");
        doc.code(wrapCommandLine(command, 88));
    }
    std::vector<UniformPoint> rows(a.uniform.begin(), a.uniform.end());
    rows.insert(rows.end(), a.llamaCppMixes.begin(), a.llamaCppMixes.end());
    rows.push_back({"this mix", a.totalBytes, a.predictedCost, ""});
    std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.bytes < y.bytes; });
    std::vector<std::vector<std::string>> table;
    for (const auto& u : rows)
        table.push_back({u.scheme, formatBinaryBytes(double(u.bytes)), bits(u.bytes), formatMetric(u.cost), u.note});
    doc.paragraph("The mix against each type alone (as its tool applies it) and llama.cpp's own mixes:");
    const std::string label = costLabel(a.costId);
    std::string heading = label;
    heading[0] = char(std::toupper(static_cast<unsigned char>(heading[0])));
    doc.table({"Mix", "Size", "Bits/param", heading, "Note"}, std::move(table), "lrrrl");
    doc.chart("advice/frontier", strCat("Total ", label, " against bits per parameter"));
    std::map<std::string, std::pair<int, std::uint64_t>> byScheme;
    for (const auto& t : a.assignment) {
        ++byScheme[t.scheme].first;
        byScheme[t.scheme].second += t.bytes;
    }
    std::vector<std::vector<std::string>> counts;
    for (const auto& [scheme, c] : byScheme)
        counts.push_back({scheme, std::to_string(c.first), formatBinaryBytes(double(c.second))});
    doc.table({"Type", "Tensors", "Bytes"}, std::move(counts), "lrr");
    std::vector<std::vector<std::string>> assignment;
    for (const auto& t : a.assignment)
        assignment.push_back({t.tensor, t.layer < 0 ? "-" : std::to_string(t.layer), t.role, t.scheme,
                              groupDigits(t.bytes), formatMetric(t.cost)});
    doc.paragraph("Every tensor of the mix:");
    doc.table({"Tensor", "Layer", "Role", "Type", "Bytes", heading}, std::move(assignment), "lrllrr");
}

void addEnvironment(DocumentBuilder& doc, const ReportData& data)
{
    const auto& e = data.environment;
    doc.heading(2, "Environment");
    std::vector<std::vector<std::string>> rows = {
        {"QuantLens", e.appVersion},
        {"Generated", data.generatedAt},
        {"OS", e.os},
        {"CPU", strCat(e.cpuModel, e.cpuThreads ? strCat(" (", e.cpuThreads, " threads)") : std::string())},
        {"GPU", e.gpuName.empty() ? (e.gpuNote.empty() ? "none" : "none: " + e.gpuNote) : e.gpuName},
    };
    if (!e.gpuDriver.empty())
        rows.push_back({"GPU driver", e.gpuDriver});
    doc.table({"Item", "Value"}, std::move(rows), "ll");
}

} // namespace

std::vector<ReportBlock> buildReportDocument(const ReportData& data, const ReportSections& sections)
{
    DocumentBuilder doc;
    doc.heading(1, data.title);
    doc.paragraph(strCat("Generated ", data.generatedAt, " by QuantLens ", data.environment.appVersion, "."));
    if (!data.commandLine.empty()) {
        doc.paragraph("Regenerate it with:");
        doc.code(wrapCommandLine(data.commandLine, 88));
    }
    if (sections.model && data.model)
        addModel(doc, *data.model);
    if (sections.plans) {
        for (std::size_t i = 0; i < data.plans.size(); ++i) {
            addPlan(doc, data.plans[i], i);
            // The Planner holds any model; say so when it is not the file this report is about.
            if (data.model && data.plans[i].result.totalParameters != data.model->parameters)
                doc.paragraph(strCat("This plan is for ", data.plans[i].name, " (",
                                     groupDigits(data.plans[i].result.totalParameters),
                                     " parameters), not for the model file of this report (", data.model->path, ", ",
                                     groupDigits(data.model->parameters), " parameters)."));
        }
    }
    if (sections.teaching && data.teaching)
        addTeaching(doc, *data.teaching);
    if (sections.errors && data.scan)
        addErrors(doc, *data.scan);
    if (sections.quality && data.quality)
        addQuality(doc, *data.quality, data.qualityCommandLine);
    if (sections.advice && data.advice)
        addAdvice(doc, *data.advice, data.adviceCommandLine);
    if (sections.bench && !data.bench.empty())
        addBench(doc, data.bench);
    if (sections.environment)
        addEnvironment(doc, data);
    return doc.take();
}

} // namespace quantlens::core
