#include "command.h"
#include "progress_bar.h"

#include "core/eval/eval.h"
#include "core/model/model.h"
#include "core/scan/scan.h"
#include "core/scan/scan_json.h"
#include "core/scan/scan_schemes.h"
#include "core/util/error.h"
#include "core/util/units.h"
#include "gpu/scan_acceleration.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace quantlens::cli {

namespace {

struct InspectOptions {
    std::string file;
    std::string schemes = "nf4";
    std::uint64_t blocksize = 0;
    bool doubleQuant = false;
    std::string filter;
    std::string role;
    std::string policy = "as-tool";
    bool calibrate = false;
    std::string calibration; // token-id file
    unsigned threads = 0;
    std::string device = "cpu";
    bool json = false;
    bool csv = false;
};

std::string fmt(const char* format, double value)
{
    if (std::isinf(value))
        return value > 0 ? "inf" : "-inf";
    if (std::isnan(value))
        return "n/a"; // no finite value to measure
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

std::string shapeText(const std::vector<std::uint64_t>& shape)
{
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        text += (i ? "x" : "") + std::to_string(shape[i]);
    return text + "]";
}

std::string layerText(int layer)
{
    return layer < 0 ? "-" : std::to_string(layer);
}

// Pads or cuts to a column; tensor names keep their end, where the distinguishing part is.
std::string column(const std::string& text, std::size_t width, bool left = false)
{
    std::string t = text;
    if (t.size() > width)
        t = left ? "…" + t.substr(t.size() - (width - 1)) : t.substr(0, width);
    const std::size_t visible = t.size() - (t.find("…") != std::string::npos ? 2 : 0);
    const std::string pad(width > visible ? width - visible : 0, ' ');
    return left ? t + pad : pad + t;
}

void printTable(const core::ScanResult& result, bool activation)
{
    std::cout << column("tensor", 44, true) << " " << column("layer", 5) << " " << column("role", 9, true) << " "
              << column("shape", 12, true) << " " << column("scheme", 8, true) << " " << column("stored", 8, true)
              << " " << column("rmse", 10) << " " << column("max|err|", 10) << " " << column("rel err", 9) << " "
              << column("SQNR dB", 8) << " " << column("cosine", 9) << " " << column("p99|err|", 10) << " "
              << column("bits", 6) << " " << column("non-fin", 7)
              << (activation ? " " + column("act err", 9) : std::string()) << "\n";
    for (const auto& t : result.tensors) {
        std::cout << column(t.name, 44, true) << " " << column(layerText(t.layer), 5) << " "
                  << column(std::string(core::roleName(t.role)), 9, true) << " " << column(shapeText(t.shape), 12, true)
                  << " " << column(t.scheme, 8, true) << " ";
        if (!t.skipped.empty()) {
            std::cout << column("-", 8, true) << " skipped: " << t.skipped << "\n";
            continue;
        }
        if (t.kept()) {
            std::cout << column("kept", 8, true) << " " << t.policyNote << " (" << core::dtypeName(t.dtype) << ", "
                      << fmt("%.3f", t.bitsPerParameter) << " bits)\n";
            continue;
        }
        std::cout << column(t.storedAs, 8, true) << " ";
        std::cout << column(fmt("%.3e", t.error.rmse), 10) << " " << column(fmt("%.3e", t.error.maxAbsError), 10) << " "
                  << column(fmt("%.4f", t.error.relError), 9) << " " << column(fmt("%.2f", t.error.sqnrDb), 8) << " "
                  << column(fmt("%.6f", t.error.cosine), 9) << " " << column(fmt("%.3e", t.error.p99AbsError), 10)
                  << " " << column(fmt("%.3f", t.bitsPerParameter), 6) << " "
                  << column(std::to_string(t.error.nonFinite()), 7)
                  << (activation ? " " + column(fmt("%.4f", t.activationError), 9) : std::string()) << "\n";
    }

    std::cout << "\nPer layer (element-weighted)\n"
              << column("scheme", 8, true) << " " << column("layer", 5) << " " << column("tensors", 7) << " "
              << column("params", 12) << " " << column("rmse", 10) << " " << column("max|err|", 10) << " "
              << column("rel err", 9) << " " << column("SQNR dB", 8) << " " << column("cosine", 9) << " "
              << column("non-fin", 7) << "\n";
    for (const auto& s : result.layers) {
        std::cout << column(s.scheme, 8, true) << " " << column(layerText(s.layer), 5) << " "
                  << column(std::to_string(s.tensors), 7) << " " << column(core::formatThousands(s.parameters), 12)
                  << " " << column(fmt("%.3e", s.error.rmse), 10) << " " << column(fmt("%.3e", s.error.maxAbsError), 10)
                  << " " << column(fmt("%.4f", s.error.relError), 9) << " " << column(fmt("%.2f", s.error.sqnrDb), 8)
                  << " " << column(fmt("%.6f", s.error.cosine), 9) << " "
                  << column(std::to_string(s.error.nonFinite()), 7) << "\n";
    }

    std::cout << "\nWhole model (every scheme over the same tensors; kept tensors count at their stored size, as "
                 "exact)\n";
    for (const auto& s : result.models) {
        std::cout << s.scheme << ": " << core::coverageText(s) << ", ";
        if (s.tensors == 0)
            std::cout << "nothing stored";
        else
            std::cout << fmt("%.3f", s.bitsPerParameter) << " bits/param in all, "
                      << core::formatBinaryBytes(double(s.originalBytes)) << " -> "
                      << core::formatBinaryBytes(double(s.quantizedBytes));
        std::cout << "; rel err " << fmt("%.4f", s.error.relError) << ", RMSE " << fmt("%.3e", s.error.rmse)
                  << ", max |err| " << fmt("%.3e", s.error.maxAbsError) << ", SQNR " << fmt("%.2f", s.error.sqnrDb)
                  << (std::isnan(s.error.sqnrDb) ? "" : " dB") << ", cosine " << fmt("%.6f", s.error.cosine);
        if (activation)
            std::cout << ", activation-weighted error ||(W-Q)X||^2/||WX||^2 " << fmt("%.4f", s.activationError);
        if (s.device != "CPU")
            std::cout << " (measured on " << s.device << ")";
        const auto skipped = std::count_if(result.tensors.begin(), result.tensors.end(),
                                           [&](const auto& t) { return t.scheme == s.scheme && !t.skipped.empty(); });
        if (skipped != 0)
            std::cout << "; " << skipped
                      << (skipped == 1 ? " tensor not measured (its row above says why)"
                                       : " tensors not measured (their rows above say why)");
        if (s.error.nonFinite() != 0)
            std::cout << "; non-finite values: " << s.error.nonFiniteInputs << " in the weights, "
                      << s.error.nonFiniteOutputs << " produced by quantization (left out of the error)";
        std::cout << "\n  policy: " << core::policyDescription(result.selection, s.scheme) << "\n";
        for (const auto& note : core::policyNotes(result, s.scheme))
            std::cout << "  " << note << "\n";
    }
    std::cout << "\nScanned " << core::formatThousands(result.parameters) << " parameters in "
              << fmt("%.2f", result.seconds) << " s on " << result.threads << " threads.\n";
}

void printCsv(const core::ScanResult& result)
{
    std::cout
        << "name,layer,role,shape,dtype,scheme,elements,bits_per_parameter,quantized_bytes,mse,rmse,max_abs_error,"
           "mean_abs_error,rel_error,sqnr_db,cosine,p50_abs_error,p95_abs_error,p99_abs_error,"
           "non_finite_inputs,non_finite_outputs,stored_as,policy_note,skipped\n";
    const auto quoted = [](const std::string& s) {
        std::string q = "\"";
        for (char c : s)
            q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    for (const auto& t : result.tensors) {
        const auto& e = t.error;
        std::cout << quoted(t.name) << "," << t.layer << "," << core::roleName(t.role) << "," << shapeText(t.shape)
                  << "," << core::dtypeName(t.dtype) << "," << quoted(t.scheme) << "," << t.elements << ","
                  << fmt("%.6g", t.bitsPerParameter) << "," << t.quantizedBytes << "," << fmt("%.9g", e.mse) << ","
                  << fmt("%.9g", e.rmse) << "," << fmt("%.9g", e.maxAbsError) << "," << fmt("%.9g", e.meanAbsError)
                  << "," << fmt("%.9g", e.relError) << "," << fmt("%.6f", e.sqnrDb) << "," << fmt("%.9f", e.cosine)
                  << "," << fmt("%.9g", e.p50AbsError) << "," << fmt("%.9g", e.p95AbsError) << ","
                  << fmt("%.9g", e.p99AbsError) << "," << e.nonFiniteInputs << "," << e.nonFiniteOutputs << ","
                  << quoted(t.skipped.empty() ? (t.storedAs.empty() ? "kept" : t.storedAs) : "") << ","
                  << quoted(t.policyNote) << "," << quoted(t.skipped) << "\n";
    }
}

void runInspect(const InspectOptions& options)
{
    if (options.json && options.csv)
        throw UsageError("choose one of --json and --csv");
    core::ScanOptions scan;
    scan.schemes = core::makeScanSchemes(options.schemes, options.blocksize, options.doubleQuant);
    scan.filter = options.filter;
    scan.role = options.role;
    scan.selection = core::parseSelection(options.policy);
    scan.threads = options.threads;
    if (options.device == "cuda") {
        // The 4-bit schemes measure on the GPU, in large chunks; the others stay on the CPU.
        scan.schemes = gpu::accelerateScanSchemes(scan.schemes);
        scan.chunkElements = gpu::kGpuScanChunkElements;
    }
    const auto model = core::openModel(options.file);

    ProgressBar bar;
    core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
    std::string whyNot;
    const std::optional<core::CalibrationData> calibration = core::calibrateScan(
        *model, scan.schemes, options.calibrate, options.calibration, options.threads, &sink, &whyNot);
    if (!whyNot.empty())
        std::cerr << "note: no calibration inputs, so the calibrated schemes keep every tensor: " << whyNot << "\n";
    scan.calibration = calibration ? &*calibration : nullptr;
    scan.onProgress = [&bar](const core::ScanProgress& p) { bar.update(p.progress); };
    const core::ScanResult result = core::scanModel(*model, scan, sink);
    bar.finish();

    const std::string stored = core::storedQuantizationNote(*model);
    if (options.json) {
        auto j = core::scanResultToJson(result);
        j["stored_quantization"] = stored.empty() ? nlohmann::json(nullptr) : nlohmann::json(stored);
        j["calibration"] = calibration ? nlohmann::json(calibration->description()) : nlohmann::json(nullptr);
        std::cout << j.dump(2) << "\n";
    } else if (options.csv) {
        if (!stored.empty())
            std::cerr << "note: " << stored << "\n"; // the CSV stays a table; its dtype column names each type
        printCsv(result);
    } else {
        if (!stored.empty())
            std::cout << "Note: " << stored << "\n\n";
        if (calibration)
            std::cout
                << "Calibration: " << calibration->description()
                << ". act err = ||(W - Q(W)) X||^2 / ||W X||^2 over those inputs X (squared, unlike rel err).\n\n";
        printTable(result, calibration.has_value());
    }
}

} // namespace

void setupInspectCommand(CLI::App& app)
{
    auto options = std::make_shared<InspectOptions>();
    auto* sub = app.add_subcommand(
        "inspect", "Quantize each tensor as the format's tool does and measure the error, per tensor, layer and model");
    sub->add_option("file", options->file, "safetensors file, sharded index, folder or GGUF file")->required();
    sub->add_option("--scheme", options->schemes, "Comma-separated schemes, e.g. nf4,fp4,int8,q4_0")
        ->capture_default_str();
    sub->add_option("--blocksize", options->blocksize,
                    "Block size of the block schemes (default: each scheme's own, 64 for nf4/fp4)");
    sub->add_flag("--double-quant", options->doubleQuant, "Quantize the absmax constants too (QLoRA's DQ)");
    sub->add_option("--filter", options->filter,
                    "Only tensors whose name matches this regular expression (ignoring case)");
    sub->add_option("--role", options->role,
                    "Only tensors of these roles, comma-separated: attn_q, attn_k, ..., mlp_down, norm, ...");
    sub->add_option("--policy", options->policy,
                    "Which tensors each scheme quantizes: as-tool (bitsandbytes: Linear projection weights only; "
                    "ggml formats: as llama-quantize --pure, with llama.cpp's fallback types) or every (every tensor "
                    "the scheme can store, for teaching)")
        ->check(CLI::IsMember({"as-tool", "every"}))
        ->capture_default_str();
    sub->add_flag("--calibrate", options->calibrate,
                  "Run the model on calibration inputs (16 sequences of up to 256 tokens sampled from it, seed 1234) "
                  "and add the activation-weighted error ||(W - Q(W)) X||^2 / ||W X||^2 to every row; gptq and awq "
                  "schemes calibrate by themselves");
    sub->add_option("--calibration", options->calibration, "Token-id file of calibration inputs instead of sampling")
        ->check(CLI::ExistingFile);
    sub->add_option("--threads", options->threads, "Worker threads (default: all cores)")->check(CLI::Range(0u, 1024u));
    sub->add_option("--device", options->device,
                    "cpu, or cuda: measure the nf4/fp4 schemes on the GPU (others stay on the CPU)")
        ->check(CLI::IsMember({"cpu", "cuda"}))
        ->capture_default_str();
    sub->add_flag("--json", options->json, "Machine-readable output");
    sub->add_flag("--csv", options->csv, "One CSV row per tensor and scheme");
    sub->callback([options] { runInspect(*options); });
}

} // namespace quantlens::cli
