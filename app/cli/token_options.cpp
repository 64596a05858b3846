#include "token_options.h"

#include "core/util/error.h"

namespace quantlens::cli {

void addTokenOptions(CLI::App& sub, TokenOptions& o, const std::string& what)
{
    sub.add_option("--tokens", o.tokens,
                   "Token-id file for " + what + ": whitespace-separated integers, one sequence per line");
    sub.add_option("--text", o.text,
                   "Plain text through the model's own tokenizer (GGUF vocabulary, tokenizer.model or "
                   "tokenizer.json), cut into sequences of --length tokens (at most --sample of them when given)")
        ->check(CLI::ExistingFile);
    o.sampleOption
        = sub.add_option("--sample", o.sample, "With no --tokens: sample this many sequences from the baseline itself")
              ->check(CLI::Range(std::uint64_t(1), std::uint64_t(4096)))
              ->capture_default_str();
    o.lengthOption = sub.add_option("--length", o.length, "Tokens per sampled sequence, BOS included")
                         ->check(CLI::Range(std::uint64_t(2), std::uint64_t(1) << 20))
                         ->capture_default_str();
    sub.add_option("--seed", o.seed, "Seed of the sampling")->capture_default_str();
}

core::EvalInputSpec toInputSpec(const TokenOptions& o)
{
    const bool sampleGiven = o.sampleOption && o.sampleOption->count() > 0;
    const bool lengthGiven = o.lengthOption && o.lengthOption->count() > 0;
    if (!o.tokens.empty() && (sampleGiven || lengthGiven || !o.text.empty()))
        throw UsageError("choose one input: --tokens FILE, --text FILE, or --sample N --length L");
    core::EvalInputSpec input;
    input.tokens = o.tokens;
    input.text = o.text;
    // For text, --sample caps the sequences only when given.
    input.sequences = !o.text.empty() && !sampleGiven ? 0 : o.sample;
    input.length = o.length;
    input.seed = o.seed;
    return input;
}

} // namespace quantlens::cli
