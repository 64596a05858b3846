#include "core/eval/tokenizer.h"

#include "core/io/gguf_reader.h"
#include "core/io/hf_config.h"
#include "core/io/mapped_file.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <nlohmann/json.hpp>
#include <pcre2.h>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <queue>
#include <unordered_map>

namespace quantlens::core {

namespace {

std::string readText(const std::filesystem::path& path)
{
    const MappedFile file(path);
    const auto bytes = file.bytes(0, file.size(), "text");
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Length of the UTF-8 sequence starting with `lead` (1 for a stray continuation or invalid byte).
std::size_t utf8Length(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if ((lead & 0xE0) == 0xC0)
        return 2;
    if ((lead & 0xF0) == 0xE0)
        return 3;
    if ((lead & 0xF8) == 0xF0)
        return 4;
    return 1;
}

std::string utf8(std::uint32_t codepoint)
{
    std::string out;
    if (codepoint < 0x80) {
        out += char(codepoint);
    } else if (codepoint < 0x800) {
        out += char(0xC0 | (codepoint >> 6));
        out += char(0x80 | (codepoint & 0x3F));
    } else {
        out += char(0xE0 | (codepoint >> 12));
        out += char(0x80 | ((codepoint >> 6) & 0x3F));
        out += char(0x80 | (codepoint & 0x3F));
    }
    return out;
}

// llama.cpp's SentencePiece-style tokenizer over GGUF's "llama" vocabulary (llm_tokenizer_spm in
// src/llama-vocab.cpp): spaces become U+2581 (with one in front when add_space_prefix), then
// adjacent symbols merge, highest vocabulary score first (ties: leftmost), while the merged text is
// a token; what is left out of the vocabulary falls back to its bytes' <0xXX> tokens.
class SpmVocabTokenizer final : public Tokenizer {
public:
    SpmVocabTokenizer(std::vector<std::string> tokens, std::vector<float> scores, bool addSpacePrefix,
                      std::int64_t bos, std::int64_t unk, std::string source)
        : m_tokens(std::move(tokens))
        , m_scores(std::move(scores))
        , m_addSpacePrefix(addSpacePrefix)
        , m_bos(bos)
        , m_unk(unk)
        , m_source(std::move(source))
    {
        for (std::size_t i = 0; i < m_tokens.size(); ++i)
            m_ids.emplace(m_tokens[i], std::int32_t(i));
    }

    std::string description() const override
    {
        return strCat("SentencePiece-style vocabulary of ", m_tokens.size(), " tokens (", m_source,
                      ", tokenized as llama.cpp does)");
    }
    std::int64_t bos() const override { return m_bos; }

    std::vector<std::int32_t> encode(std::string_view input) const override
    {
        std::string text;
        if (m_addSpacePrefix && !input.empty())
            text += "\xE2\x96\x81";
        for (char c : input) {
            if (c == ' ')
                text += "\xE2\x96\x81";
            else
                text += c;
        }
        struct Symbol {
            std::size_t offset = 0;
            std::size_t size = 0;
            int prev = -1;
            int next = -1;
        };
        std::vector<Symbol> symbols;
        for (std::size_t at = 0; at < text.size();) {
            const std::size_t n = std::min(utf8Length(static_cast<unsigned char>(text[at])), text.size() - at);
            symbols.push_back({at, n, int(symbols.size()) - 1, at + n < text.size() ? int(symbols.size()) + 1 : -1});
            at += n;
        }
        struct Bigram {
            int left = 0;
            int right = 0;
            float score = 0.0f;
            std::size_t size = 0;
        };
        const auto lower = [](const Bigram& a, const Bigram& b) {
            return a.score < b.score || (a.score == b.score && a.left > b.left);
        };
        std::priority_queue<Bigram, std::vector<Bigram>, decltype(lower)> queue(lower);
        const auto tryAdd = [&](int left, int right) {
            if (left < 0 || right < 0)
                return;
            const std::string_view piece(text.data() + symbols[std::size_t(left)].offset,
                                         symbols[std::size_t(left)].size + symbols[std::size_t(right)].size);
            const auto it = m_ids.find(std::string(piece));
            if (it == m_ids.end())
                return;
            queue.push({left, right, m_scores[std::size_t(it->second)], piece.size()});
        };
        for (std::size_t i = 1; i < symbols.size(); ++i)
            tryAdd(int(i) - 1, int(i));
        while (!queue.empty()) {
            const Bigram b = queue.top();
            queue.pop();
            auto& left = symbols[std::size_t(b.left)];
            auto& right = symbols[std::size_t(b.right)];
            if (left.size == 0 || right.size == 0 || left.size + right.size != b.size)
                continue; // one side was merged into something else since
            left.size += right.size;
            right.size = 0;
            left.next = right.next;
            if (right.next >= 0)
                symbols[std::size_t(right.next)].prev = b.left;
            tryAdd(left.prev, b.left);
            tryAdd(b.left, left.next);
        }
        std::vector<std::int32_t> ids;
        for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[std::size_t(i)].next) {
            const auto& s = symbols[std::size_t(i)];
            const std::string piece = text.substr(s.offset, s.size);
            if (const auto it = m_ids.find(piece); it != m_ids.end()) {
                ids.push_back(it->second);
                continue;
            }
            for (unsigned char byte : piece) { // byte fallback
                char name[8];
                std::snprintf(name, sizeof name, "<0x%02X>", byte);
                const auto it = m_ids.find(name);
                if (it != m_ids.end())
                    ids.push_back(it->second);
                else if (m_unk >= 0)
                    ids.push_back(std::int32_t(m_unk));
                else
                    throw UnsupportedError(strCat(m_source, ": the text holds '", piece,
                                                  "', which the vocabulary has neither as a token nor as bytes"));
            }
        }
        return ids;
    }

private:
    std::vector<std::string> m_tokens;
    std::vector<float> m_scores;
    std::unordered_map<std::string, std::int32_t> m_ids;
    bool m_addSpacePrefix = true;
    std::int64_t m_bos = -1;
    std::int64_t m_unk = -1;
    std::string m_source;
};

// The pre-tokenizer patterns of the byte-level BPE vocabularies (GPT-2's, Llama 3's, Qwen2's), as
// tokenizer.json and llama.cpp's llama-vocab.cpp write them.
const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3Pattern
    = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Pattern
    = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A compiled PCRE2 pattern in UTF mode with Unicode properties (\p{L} as Hugging Face's regex sees it).
// One match buffer: not for several threads at once.
class Pattern {
public:
    Pattern(const std::string& pattern, const std::string& source)
    {
        int error = 0;
        PCRE2_SIZE offset = 0;
        m_code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                               &error, &offset, nullptr);
        if (!m_code) {
            std::array<PCRE2_UCHAR, 256> message {};
            pcre2_get_error_message(error, message.data(), message.size());
            throw FormatError({source, std::nullopt, "pre_tokenizer pattern", "a regular expression",
                               strCat(reinterpret_cast<const char*>(message.data()), " at character ", offset)},
                              "the pre-tokenizer's pattern does not compile");
        }
        m_match = pcre2_match_data_create_from_pattern(m_code, nullptr);
    }
    ~Pattern()
    {
        pcre2_match_data_free(m_match);
        pcre2_code_free(m_code);
    }
    Pattern(const Pattern&) = delete;
    Pattern& operator=(const Pattern&) = delete;

    // The matches and the gaps between them, in order ("Isolated" splitting).
    std::vector<std::string_view> split(std::string_view text) const
    {
        std::vector<std::string_view> pieces;
        std::size_t at = 0;
        std::size_t gapStart = 0;
        while (at <= text.size()) {
            const int rc = pcre2_match(m_code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at, 0, m_match,
                                       nullptr);
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0) {
                std::array<PCRE2_UCHAR, 256> message {};
                pcre2_get_error_message(rc, message.data(), message.size());
                throw FormatError({"text", at, "", "UTF-8 text", reinterpret_cast<const char*>(message.data())},
                                  "the text cannot be tokenized");
            }
            const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(m_match);
            const std::size_t begin = ovector[0];
            const std::size_t end = ovector[1];
            if (begin > gapStart)
                pieces.push_back(text.substr(gapStart, begin - gapStart));
            if (end > begin)
                pieces.push_back(text.substr(begin, end - begin));
            gapStart = end;
            at = end > begin ? end : end + utf8Length(static_cast<unsigned char>(text[std::min(end, text.size() - 1)]));
            if (end == text.size())
                break;
        }
        if (gapStart < text.size())
            pieces.push_back(text.substr(gapStart));
        return pieces;
    }

private:
    pcre2_code* m_code = nullptr;
    pcre2_match_data* m_match = nullptr;
};

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256 + n.
const std::array<std::string, 256>& byteSymbols()
{
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[std::size_t(b)] = utf8(printable ? std::uint32_t(b) : std::uint32_t(256 + extra++));
        }
        return t;
    }();
    return table;
}

// Byte-level BPE (GPT-2, Llama 3, Qwen2): special tokens are cut out of the text first, each piece
// of the pre-tokenizer's pattern becomes byte symbols, and the pair of lowest merge rank merges
// first until none is left; as Hugging Face tokenizers' BPE model and llama.cpp's llm_tokenizer_bpe.
class ByteLevelBpeTokenizer final : public Tokenizer {
public:
    ByteLevelBpeTokenizer(std::unordered_map<std::string, std::int32_t> vocab,
                          const std::vector<std::pair<std::string, std::string>>& merges,
                          std::vector<std::pair<std::string, std::int32_t>> specials, const std::string& pattern,
                          bool ignoreMerges, std::int64_t bos, std::string source)
        : m_vocab(std::move(vocab))
        , m_specials(std::move(specials))
        , m_pattern(std::make_unique<Pattern>(pattern, source))
        , m_ignoreMerges(ignoreMerges)
        , m_bos(bos)
        , m_source(std::move(source))
    {
        for (std::size_t i = 0; i < merges.size(); ++i)
            m_ranks.emplace(merges[i].first + '\0' + merges[i].second, int(i));
        // Longest special token first, so that one that contains another wins.
        std::sort(m_specials.begin(), m_specials.end(),
                  [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }

    std::string description() const override
    {
        return strCat("byte-level BPE of ", m_vocab.size(), " tokens and ", m_ranks.size(), " merges (", m_source,
                      ")");
    }
    std::int64_t bos() const override { return m_bos; }

    std::vector<std::int32_t> encode(std::string_view text) const override
    {
        std::vector<std::int32_t> ids;
        std::size_t at = 0;
        while (at < text.size()) {
            // The next special token, if any; the text before it is ordinary.
            std::size_t next = text.size();
            const std::pair<std::string, std::int32_t>* special = nullptr;
            for (const auto& s : m_specials) {
                const auto found = text.find(s.first, at);
                if (found != std::string_view::npos && found < next) {
                    next = found;
                    special = &s;
                }
            }
            encodeOrdinary(text.substr(at, next - at), ids);
            if (!special)
                break;
            ids.push_back(special->second);
            at = next + special->first.size();
        }
        return ids;
    }

private:
    void encodeOrdinary(std::string_view text, std::vector<std::int32_t>& ids) const
    {
        for (const auto piece : m_pattern->split(text)) {
            std::vector<std::string> symbols;
            std::string whole;
            for (unsigned char byte : piece) {
                symbols.push_back(byteSymbols()[byte]);
                whole += symbols.back();
            }
            if (m_ignoreMerges) {
                if (const auto it = m_vocab.find(whole); it != m_vocab.end()) {
                    ids.push_back(it->second);
                    continue;
                }
            }
            while (symbols.size() > 1) {
                int best = -1;
                std::size_t where = 0;
                for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                    const auto it = m_ranks.find(symbols[i] + '\0' + symbols[i + 1]);
                    if (it != m_ranks.end() && (best < 0 || it->second < best)) {
                        best = it->second;
                        where = i;
                    }
                }
                if (best < 0)
                    break;
                symbols[where] += symbols[where + 1];
                symbols.erase(symbols.begin() + std::ptrdiff_t(where) + 1);
            }
            for (const auto& s : symbols) {
                const auto it = m_vocab.find(s);
                if (it == m_vocab.end())
                    throw UnsupportedError(
                        strCat(m_source, ": the symbol '", s, "' is not in the vocabulary (a byte-level vocabulary "
                                                              "has every byte)"));
                ids.push_back(it->second);
            }
        }
    }

    std::unordered_map<std::string, std::int32_t> m_vocab;
    std::unordered_map<std::string, int> m_ranks;
    std::vector<std::pair<std::string, std::int32_t>> m_specials;
    std::unique_ptr<Pattern> m_pattern;
    bool m_ignoreMerges = false;
    std::int64_t m_bos = -1;
    std::string m_source;
};

// tokenizer.model through the SentencePiece library itself.
class SentencePieceTokenizer final : public Tokenizer {
public:
    SentencePieceTokenizer(const std::filesystem::path& path, bool addBos)
        : m_source(path.filename().string())
    {
        const auto status = m_processor.Load(path.string());
        if (!status.ok())
            throw FormatError({path.string(), std::nullopt, "", "a SentencePiece model", status.ToString()},
                              "cannot load the SentencePiece model");
        m_bos = addBos ? m_processor.bos_id() : -1;
    }
    std::string description() const override
    {
        return strCat("SentencePiece model of ", m_processor.GetPieceSize(), " pieces (", m_source,
                      ", through libsentencepiece)");
    }
    std::int64_t bos() const override { return m_bos; }
    std::vector<std::int32_t> encode(std::string_view text) const override
    {
        std::vector<int> ids;
        const auto status = m_processor.Encode(text, &ids);
        if (!status.ok())
            throw UnsupportedError(strCat(m_source, ": ", status.ToString()));
        return {ids.begin(), ids.end()};
    }

private:
    sentencepiece::SentencePieceProcessor m_processor;
    std::string m_source;
    std::int64_t m_bos = -1;
};

std::vector<std::string> ggufStrings(const GgufValue& value, const std::string& file, const std::string& key)
{
    if (value.type != 9 || value.arrayType != 8)
        throw FormatError({file, std::nullopt, key, "an array of strings", value.render()}, "bad tokenizer metadata");
    std::vector<std::string> out;
    out.reserve(value.arrayItems.size());
    for (const auto& item : value.arrayItems)
        out.push_back(item.stringValue);
    return out;
}

std::unique_ptr<Tokenizer> ggufTokenizer(const Model& model)
{
    const auto& meta = model.metadata();
    const std::string file = model.path().filename().string();
    const auto text = [&](const std::string& key) {
        const auto it = meta.find(key);
        return it == meta.end() ? std::string() : it->second;
    };
    const auto integer = [&](const std::string& key) -> std::int64_t {
        const auto value = text(key);
        return value.empty() ? -1 : std::stoll(value);
    };
    const std::string kind = text("tokenizer.ggml.model");
    if (kind.empty())
        throw UnsupportedError(strCat(file, " holds no tokenizer (no tokenizer.ggml.model): give token ids with --tokens"));
    const MappedFile mapped(model.path());
    const auto read = [&](const std::string& key) {
        auto value = readGgufValue(mapped.all(), file, key);
        if (!value)
            throw FormatError({file, std::nullopt, key, "the tokenizer's " + key, "nothing"},
                              "incomplete tokenizer metadata");
        return std::move(*value);
    };
    auto tokens = ggufStrings(read("tokenizer.ggml.tokens"), file, "tokenizer.ggml.tokens");
    const bool addBosDefault = kind == "llama";
    const std::string addBosText = text("tokenizer.ggml.add_bos_token");
    const bool addBos = addBosText.empty() ? addBosDefault : addBosText == "true";
    const std::int64_t bos = addBos ? integer("tokenizer.ggml.bos_token_id") : -1;
    if (kind == "llama") {
        const auto scoreValue = read("tokenizer.ggml.scores");
        if (scoreValue.arrayCount != tokens.size())
            throw FormatError({file, std::nullopt, "tokenizer.ggml.scores", strCat(tokens.size(), " scores"),
                               strCat(scoreValue.arrayCount)},
                              "the vocabulary's scores do not match its tokens");
        std::vector<float> scores;
        for (const auto& item : scoreValue.arrayItems)
            scores.push_back(float(item.floatValue));
        const std::string prefix = text("tokenizer.ggml.add_space_prefix");
        return std::make_unique<SpmVocabTokenizer>(std::move(tokens), std::move(scores), prefix != "false", bos,
                                                   integer("tokenizer.ggml.unknown_token_id"), file);
    }
    if (kind == "gpt2") {
        const std::string pre = text("tokenizer.ggml.pre");
        const char* pattern = nullptr;
        if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2")
            pattern = kGpt2Pattern;
        else if (pre == "llama-bpe" || pre == "llama3")
            pattern = kLlama3Pattern;
        else if (pre == "qwen2")
            pattern = kQwen2Pattern;
        else
            throw UnsupportedError(strCat(file, ": the pre-tokenizer '", pre,
                                          "' is not supported (known: gpt2, llama-bpe, qwen2)"));
        std::vector<std::pair<std::string, std::string>> merges;
        for (const auto& m : ggufStrings(read("tokenizer.ggml.merges"), file, "tokenizer.ggml.merges")) {
            const auto space = m.find(' ', 1);
            if (space == std::string::npos)
                throw FormatError({file, std::nullopt, "tokenizer.ggml.merges", "\"left right\"", m}, "bad merge");
            merges.emplace_back(m.substr(0, space), m.substr(space + 1));
        }
        std::unordered_map<std::string, std::int32_t> vocab;
        std::vector<std::pair<std::string, std::int32_t>> specials;
        const auto types = meta.count("tokenizer.ggml.token_type") ? read("tokenizer.ggml.token_type") : GgufValue {};
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            vocab.emplace(tokens[i], std::int32_t(i));
            const bool control = i < types.arrayItems.size()
                && (types.arrayItems[i].signedValue == 3 || types.arrayItems[i].signedValue == 4);
            if (control)
                specials.emplace_back(tokens[i], std::int32_t(i));
        }
        return std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab), merges, std::move(specials), pattern,
                                                       pre == "llama-bpe" || pre == "llama3", bos, file);
    }
    throw UnsupportedError(strCat(file, ": tokenizer.ggml.model '", kind, "' is not supported (known: llama, gpt2)"));
}

// The BOS a tokenizer.json's post-processor puts first (TemplateProcessing, alone or in a
// Sequence), or -1.
std::int64_t templateBos(const nlohmann::json& processor)
{
    if (!processor.is_object())
        return -1;
    const std::string type = processor.value("type", "");
    if (type == "Sequence") {
        for (const auto& p : processor.value("processors", nlohmann::json::array()))
            if (const auto bos = templateBos(p); bos >= 0)
                return bos;
        return -1;
    }
    if (type != "TemplateProcessing")
        return -1;
    const auto single = processor.value("single", nlohmann::json::array());
    if (!single.is_array() || single.empty() || !single[0].contains("SpecialToken"))
        return -1;
    const std::string name = single[0]["SpecialToken"].value("id", "");
    const auto specials = processor.value("special_tokens", nlohmann::json::object());
    if (!specials.contains(name) || !specials[name].contains("ids") || specials[name]["ids"].empty())
        return -1;
    return specials[name]["ids"][0].get<std::int64_t>();
}

std::unique_ptr<Tokenizer> tokenizerJson(const std::filesystem::path& path)
{
    const std::string file = path.string();
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(readText(path));
    } catch (const nlohmann::json::exception& e) {
        throw FormatError({file, std::nullopt, "", "valid JSON", e.what()}, "tokenizer.json is not valid JSON");
    }
    try {
        const auto& model = root.at("model");
        if (model.value("type", "") != "BPE")
            throw UnsupportedError(strCat(file, ": model type '", model.value("type", ""),
                                          "' is not supported (byte-level BPE is; SentencePiece models are read from "
                                          "tokenizer.model)"));
        // The pre-tokenizer: ByteLevel (with its own GPT-2 pattern), or a Split by a pattern then
        // ByteLevel without one.
        const auto& pre = root.at("pre_tokenizer");
        std::string pattern;
        bool byteLevel = false;
        const auto visit = [&](const nlohmann::json& p) {
            const std::string type = p.value("type", "");
            if (type == "ByteLevel") {
                byteLevel = true;
                if (p.value("add_prefix_space", false))
                    throw UnsupportedError(strCat(file, ": ByteLevel add_prefix_space is not supported"));
                if (p.value("use_regex", true))
                    pattern = kGpt2Pattern;
            } else if (type == "Split") {
                if (p.value("behavior", "") != "Isolated" || p.value("invert", false))
                    throw UnsupportedError(strCat(file, ": a Split pre-tokenizer other than Isolated"));
                pattern = p.at("pattern").at("Regex").get<std::string>();
            } else {
                throw UnsupportedError(strCat(file, ": the pre-tokenizer '", type, "' is not supported"));
            }
        };
        if (pre.value("type", "") == "Sequence") {
            for (const auto& p : pre.at("pretokenizers"))
                visit(p);
        } else {
            visit(pre);
        }
        if (!byteLevel || pattern.empty())
            throw UnsupportedError(strCat(file, ": only byte-level BPE tokenizers are supported"));
        if (root.contains("normalizer") && !root["normalizer"].is_null())
            throw UnsupportedError(strCat(file, ": a normalizer is not supported for byte-level BPE"));
        std::unordered_map<std::string, std::int32_t> vocab;
        for (const auto& [piece, id] : model.at("vocab").items())
            vocab.emplace(piece, id.get<std::int32_t>());
        std::vector<std::pair<std::string, std::string>> merges;
        for (const auto& m : model.at("merges")) {
            if (m.is_array() && m.size() == 2) {
                merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else {
                const auto text = m.get<std::string>();
                const auto space = text.find(' ', 1);
                if (space == std::string::npos)
                    throw FormatError({file, std::nullopt, "model.merges", "\"left right\"", text}, "bad merge");
                merges.emplace_back(text.substr(0, space), text.substr(space + 1));
            }
        }
        std::vector<std::pair<std::string, std::int32_t>> specials;
        for (const auto& t : root.value("added_tokens", nlohmann::json::array())) {
            const auto content = t.at("content").get<std::string>();
            const auto id = t.at("id").get<std::int32_t>();
            vocab.emplace(content, id);
            specials.emplace_back(content, id);
        }
        return std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab), merges, std::move(specials), pattern,
                                                       model.value("ignore_merges", false),
                                                       templateBos(root.value("post_processor", nlohmann::json())),
                                                       path.filename().string());
    } catch (const nlohmann::json::exception& e) {
        throw FormatError({file, std::nullopt, "", "a Hugging Face tokenizer.json", e.what()},
                          "tokenizer.json is malformed");
    }
}

} // namespace

std::unique_ptr<Tokenizer> loadTokenizer(const Model& model)
{
    if (model.format() == "gguf")
        return ggufTokenizer(model);
    const auto folder = model.files().front().parent_path();
    if (std::filesystem::is_regular_file(folder / "tokenizer.model")) {
        // Llama 2 and Mistral add BOS unless tokenizer_config.json says otherwise.
        bool addBos = true;
        const auto config = folder / "tokenizer_config.json";
        if (std::filesystem::is_regular_file(config)) {
            const auto root = parseConfigJson(readText(config), config.string());
            if (const auto it = root.find("add_bos_token"); it != root.end() && it->is_boolean())
                addBos = it->get<bool>();
        }
        return std::make_unique<SentencePieceTokenizer>(folder / "tokenizer.model", addBos);
    }
    if (std::filesystem::is_regular_file(folder / "tokenizer.json"))
        return tokenizerJson(folder / "tokenizer.json");
    throw UnsupportedError(strCat(model.path().filename().string(),
                                  ": no tokenizer found (looked for tokenizer.model and tokenizer.json in ",
                                  folder.string(), "): give token ids with --tokens, or sample with --sample"));
}

std::unique_ptr<Tokenizer> loadTokenizerFile(const std::filesystem::path& path, std::int64_t bos)
{
    if (!std::filesystem::is_regular_file(path))
        throw IoError(path.string(), "no such file");
    if (path.extension() == ".json") {
        auto tokenizer = tokenizerJson(path);
        return tokenizer;
    }
    auto tokenizer = std::make_unique<SentencePieceTokenizer>(path, bos >= 0);
    return tokenizer;
}

TokenSet tokenizeTextFile(const Tokenizer& tokenizer, const std::filesystem::path& path, std::uint64_t length,
                          std::uint64_t maxSequences, std::uint64_t vocab)
{
    if (!std::filesystem::exists(path))
        throw IoError(path.string(), "no such file");
    if (length < 2)
        throw UsageError("text sequences need at least 2 tokens");
    const std::string text = std::filesystem::file_size(path) ? readText(path) : std::string();
    std::vector<std::int32_t> ids;
    try {
        ids = tokenizer.encode(text);
    } catch (const FormatError& e) {
        throw FormatError({path.string(), e.offset(), e.field(), e.where().expected, e.where().found},
                          "the text cannot be tokenized");
    }
    for (const auto id : ids)
        if (id < 0 || std::uint64_t(id) >= vocab)
            throw UnsupportedError(strCat(path.string(), ": the tokenizer gave id ", id,
                                          ", outside the model's vocabulary of ", vocab, "; is it this model's tokenizer?"));
    TokenSet set;
    const std::int64_t bos = tokenizer.bos();
    const std::uint64_t body = bos >= 0 ? length - 1 : length;
    for (std::size_t at = 0; at < ids.size(); at += body) {
        if (maxSequences && set.sequences.size() == maxSequences)
            break;
        const auto end = std::min<std::size_t>(ids.size(), at + body);
        std::vector<std::int32_t> sequence(end - at + (bos >= 0 ? 1 : 0));
        std::size_t k = 0;
        if (bos >= 0)
            sequence[k++] = std::int32_t(bos);
        for (std::size_t i = at; i < end; ++i)
            sequence[k++] = ids[i];
        if (sequence.size() >= 2)
            set.sequences.push_back(std::move(sequence));
    }
    if (set.sequences.empty())
        throw FormatError({path.string(), 0, "", "text of at least 2 tokens", strCat(ids.size(), " tokens")},
                          "too little text to score");
    set.source = strCat(path.string(), " (", ids.size(), " tokens by the model's ", tokenizer.description(), ", in ",
                        set.sequences.size(), set.sequences.size() == 1 ? " sequence" : " sequences", " of up to ",
                        length, bos >= 0 ? strCat(" with BOS ", bos) : std::string(), ")");
    return set;
}

} // namespace quantlens::core
