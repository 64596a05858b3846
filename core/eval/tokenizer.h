#pragma once

#include "core/eval/token_input.h"
#include "core/model/model.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// The model's own tokenizer, so that eval can read plain text: GGUF's embedded vocabulary
// (tokenizer.ggml.*: "llama" SentencePiece-style and "gpt2" byte-level BPE, as llama.cpp applies
// them), or tokenizer.model (SentencePiece, through libsentencepiece) or tokenizer.json (byte-level
// BPE, as Hugging Face tokenizers applies it) beside a safetensors checkpoint.
namespace quantlens::core {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    // Which tokenizer, from where: "SentencePiece BPE (tokenizer.model, libsentencepiece 0.1.97)".
    virtual std::string description() const = 0;
    // Token ids of `text`, without BOS.
    virtual std::vector<std::int32_t> encode(std::string_view text) const = 0;
    // The BOS id added before each sequence; -1 when the tokenizer adds none.
    virtual std::int64_t bos() const = 0;
};

// The tokenizer of an opened model. Throws UnsupportedError saying what was looked for when the
// file carries none this version reads, and FormatError naming the file for a malformed one.
std::unique_ptr<Tokenizer> loadTokenizer(const Model& model);
// A tokenizer file on its own: tokenizer.model (SentencePiece) or tokenizer.json, with BOS `bos`
// (-1: none).
std::unique_ptr<Tokenizer> loadTokenizerFile(const std::filesystem::path& path, std::int64_t bos = -1);

// Tokenizes a whole text file and cuts it into sequences of `length` tokens (each starting with
// BOS when the tokenizer adds one), as llama.cpp's perplexity tool cuts its input; a last piece of
// fewer than 2 tokens is dropped. `maxSequences` 0 keeps them all. Ids must be below `vocab`.
TokenSet tokenizeTextFile(const Tokenizer& tokenizer, const std::filesystem::path& path, std::uint64_t length,
                          std::uint64_t maxSequences, std::uint64_t vocab);

} // namespace quantlens::core
