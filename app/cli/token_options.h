#pragma once

#include "core/eval/eval.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

// The tokens a command runs the model on (eval's input, advise's activation and KL costs): a
// token-id file, text through the model's tokenizer, or sequences sampled from the model.
namespace quantlens::cli {

struct TokenOptions {
    std::string tokens;
    std::string text;
    std::uint64_t sample = 8;
    std::uint64_t length = 256;
    std::uint64_t seed = 1;
    CLI::Option* sampleOption = nullptr;
    CLI::Option* lengthOption = nullptr;
};

// Registers --tokens, --text, --sample, --length and --seed (`what`: what the tokens are for, in the help).
void addTokenOptions(CLI::App& sub, TokenOptions& options, const std::string& what);

// The input they name. UsageError when --tokens is given with another input.
core::EvalInputSpec toInputSpec(const TokenOptions& options);

} // namespace quantlens::cli
