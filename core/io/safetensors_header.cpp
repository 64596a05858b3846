#include "core/io/safetensors_header.h"

#include "core/io/json_keys.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace quantlens::core {

namespace {

constexpr std::uint64_t kLengthPrefix = 8;

std::uint64_t readLittleEndian64(std::span<const std::byte> bytes)
{
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i)
        value = (value << 8) | static_cast<std::uint64_t>(bytes[static_cast<std::size_t>(i)]);
    return value;
}

bool checkedMultiply(std::uint64_t a, std::uint64_t b, std::uint64_t& result)
{
    return !__builtin_mul_overflow(a, b, &result);
}

} // namespace

DType safetensorsDtypeFromName(const std::string& name)
{
    static const std::map<std::string, DType> kNames = {
        {"F64", DType::F64},         {"F32", DType::F32},         {"F16", DType::F16}, {"BF16", DType::BF16},
        {"F8_E4M3", DType::F8_E4M3}, {"F8_E5M2", DType::F8_E5M2}, {"I64", DType::I64}, {"I32", DType::I32},
        {"I16", DType::I16},         {"I8", DType::I8},           {"U8", DType::U8},   {"BOOL", DType::BOOL},
    };
    const auto it = kNames.find(name);
    return it == kNames.end() ? DType::Unknown : it->second;
}

SafetensorsHeader parseSafetensorsHeader(std::span<const std::byte> file, const std::string& fileName)
{
    SafetensorsHeader header;
    if (file.size() < kLengthPrefix) {
        throw FormatError({fileName, 0, "header length", "at least 8 bytes", strCat(file.size(), " bytes")},
                          "file too short for a safetensors header");
    }
    header.headerLength = readLittleEndian64(file.first(kLengthPrefix));
    const std::uint64_t available = file.size() - kLengthPrefix;
    if (header.headerLength > kMaxSafetensorsHeader) {
        throw FormatError(
            {fileName, 0, "header length", strCat("at most ", kMaxSafetensorsHeader), strCat(header.headerLength)},
            "not a safetensors file: its first 8 bytes, the length of the JSON header that follows, are larger than "
            "any real header");
    }
    if (header.headerLength > available) {
        throw FormatError({fileName, 0, "header length", strCat("at most ", available, " (file size - 8)"),
                           strCat(header.headerLength)},
                          "header length runs past the end of the file");
    }
    header.dataOffset = kLengthPrefix + header.headerLength;
    const std::uint64_t dataSize = file.size() - header.dataOffset;

    const auto* text = reinterpret_cast<const char*>(file.data() + kLengthPrefix);
    nlohmann::json json;
    // A tensor named twice would lose its first entry: refused (duplicates deeper down are left
    // to nlohmann, as before).
    const auto refuseDuplicates = duplicateKeyCheck([&](const std::vector<std::string>& path, const std::string& name) {
        if (path.empty())
            throw FormatError({fileName, kLengthPrefix, strCat("entry '", name, "'"), "each name once", "twice"},
                              strCat("the header names '", name, "' twice"));
    });
    try {
        json = nlohmann::json::parse(text, text + header.headerLength, refuseDuplicates);
    } catch (const nlohmann::json::parse_error& e) {
        throw FormatError({fileName, kLengthPrefix + (e.byte > 0 ? e.byte - 1 : 0), "header", "valid JSON", e.what()},
                          "header is not valid JSON");
    } catch (const nlohmann::json::exception& e) {
        // Well-formed text nlohmann cannot hold, e.g. a number beyond double's range (out_of_range
        // 406); found by safetensors_header_fuzzer (tests/data/fuzz/safetensors/crash-aa0b2b4f...).
        throw FormatError({fileName, kLengthPrefix, "header", "valid JSON", e.what()}, "header is not valid JSON");
    }
    if (!json.is_object()) {
        throw FormatError({fileName, kLengthPrefix, "header", "a JSON object", json.type_name()},
                          "header is not a JSON object");
    }

    for (const auto& item : json.items()) {
        // Named references, not structured bindings: clang 14 cannot capture those in the lambda below.
        const std::string& name = item.key();
        const nlohmann::json& value = item.value();
        if (name == "__metadata__") {
            if (!value.is_object())
                throw FormatError({fileName, kLengthPrefix, name, "an object of strings", value.type_name()},
                                  "metadata is not an object");
            for (const auto& [key, item] : value.items()) {
                if (!item.is_string())
                    throw FormatError(
                        {fileName, kLengthPrefix, strCat("__metadata__.", key), "a string", item.type_name()},
                        "metadata value is not a string");
                header.metadata[key] = item.get<std::string>();
            }
            continue;
        }
        const auto fail = [&](const std::string& what, const std::string& expected, const std::string& found) {
            throw FormatError({fileName, kLengthPrefix, strCat("tensor '", name, "'"), expected, found},
                              strCat("tensor '", name, "': ", what));
        };
        if (!value.is_object())
            fail("entry is not an object", "an object", value.type_name());
        SafetensorsEntry entry;
        entry.name = name;
        const auto dtype = value.find("dtype");
        if (dtype == value.end() || !dtype->is_string())
            fail("missing or non-string dtype", "a dtype string", dtype == value.end() ? "none" : dtype->type_name());
        entry.dtype = safetensorsDtypeFromName(dtype->get<std::string>());
        if (entry.dtype == DType::Unknown)
            fail(strCat("unknown dtype '", dtype->get<std::string>(), "'"),
                 "F64, F32, F16, BF16, F8_E4M3, F8_E5M2, "
                 "I64, I32, I16, I8, U8 or BOOL",
                 dtype->get<std::string>());
        const auto shape = value.find("shape");
        if (shape == value.end() || !shape->is_array())
            fail("missing or non-array shape", "an array of sizes", shape == value.end() ? "none" : shape->type_name());
        std::uint64_t elements = 1;
        for (const auto& d : *shape) {
            if (!d.is_number_unsigned())
                fail("shape holds a value that is not a non-negative integer", "non-negative integers", d.dump());
            const auto size = d.get<std::uint64_t>();
            entry.shape.push_back(size);
            if (!checkedMultiply(elements, size, elements))
                fail("element count overflows 64 bits", "a representable size", shape->dump());
        }
        const auto offsets = value.find("data_offsets");
        if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2
            || !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
            fail("data_offsets is not a pair of non-negative integers", "[begin, end]",
                 offsets == value.end() ? "none" : offsets->dump());
        entry.begin = (*offsets)[0].get<std::uint64_t>();
        entry.end = (*offsets)[1].get<std::uint64_t>();
        if (entry.end < entry.begin)
            fail(strCat("ends at byte ", entry.end, " before it begins at byte ", entry.begin), "begin <= end",
                 offsets->dump());
        if (entry.end > dataSize) {
            throw FormatError({fileName, header.dataOffset, strCat("tensor '", name, "'"), strCat("at most ", dataSize),
                               strCat(entry.end)},
                              strCat("tensor '", name, "' ends at byte ", entry.end,
                                     ", past the end of the data section (", dataSize, ") [header offset ",
                                     header.dataOffset, "]"));
        }
        std::uint64_t bytes = 0;
        if (!checkedMultiply(elements, dtypeElementBytes(entry.dtype), bytes))
            fail("byte count overflows 64 bits", "a representable size", shape->dump());
        if (bytes != entry.end - entry.begin)
            fail(strCat("shape ", shape->dump(), " of ", dtype->get<std::string>(), " is ", bytes,
                        " bytes but data_offsets span ", entry.end - entry.begin),
                 strCat(bytes, " bytes"), strCat(entry.end - entry.begin, " bytes"));
        header.tensors.push_back(std::move(entry));
    }

    std::sort(header.tensors.begin(), header.tensors.end(),
              [](const auto& a, const auto& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    // Empty tensors occupy no bytes and may sit anywhere, even inside another's range; so compare
    // each tensor with the furthest-reaching one before it, not merely its neighbour.
    // The data section is the tensors packed end to end, as the safetensors library checks (it
    // refuses a gap or trailing bytes as an incomplete buffer): bytes that belong to no tensor mean
    // a damaged or hand-edited header, so they are refused rather than skipped.
    const SafetensorsEntry* reach = nullptr;
    for (const auto& current : header.tensors) {
        if (current.end == current.begin)
            continue;
        if (reach && current.begin < reach->end) {
            throw FormatError({fileName, header.dataOffset + current.begin, strCat("tensor '", current.name, "'"),
                               strCat("begin >= ", reach->end), strCat(current.begin)},
                              strCat("tensor '", current.name, "' (bytes ", current.begin, "..", current.end,
                                     ") overlaps tensor '", reach->name, "' (bytes ", reach->begin, "..", reach->end,
                                     ")"));
        }
        const std::uint64_t expected = reach ? reach->end : 0;
        if (current.begin != expected) {
            throw FormatError(
                {fileName, header.dataOffset + expected, strCat("tensor '", current.name, "'"),
                 strCat("data_offsets beginning at ", expected), strCat(current.begin)},
                strCat("bytes ", expected, "..", current.begin, " of the data section belong to no tensor (tensor '",
                       current.name, "' begins at ", current.begin,
                       reach ? strCat(", tensor '", reach->name, "' ends at ", reach->end) : std::string(),
                       "); safetensors packs tensors with no gap"));
        }
        reach = &current;
    }
    const std::uint64_t used = reach ? reach->end : 0;
    if (used != dataSize) {
        throw FormatError({fileName, header.dataOffset + used, "data section",
                           strCat(used, " bytes, as the tensors span"), strCat(dataSize, " bytes")},
                          strCat("the data section holds ", dataSize - used, " bytes after the last tensor",
                                 reach ? strCat(" ('", reach->name, "', ending at ", used, ")") : std::string(),
                                 "; safetensors files end with their last tensor"));
    }
    return header;
}

} // namespace quantlens::core
