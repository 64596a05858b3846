#include "core/io/gguf_reader.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <sstream>

namespace quantlens::core {

namespace {

enum GgufValueType : std::uint32_t {
    kU8 = 0,
    kI8,
    kU16,
    kI16,
    kU32,
    kI32,
    kF32,
    kBool,
    kString,
    kArray,
    kU64,
    kI64,
    kF64,
    kTypeCount
};

// Bytes of a scalar value type on disk; strings and arrays have a variable size (their minimum here).
std::uint64_t minimumValueBytes(std::uint32_t type)
{
    static constexpr std::array<std::uint64_t, kTypeCount> kBytes {1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8};
    return kBytes[type];
}

const char* valueTypeName(std::uint32_t type)
{
    static constexpr std::array<const char*, kTypeCount> kNames {"U8",   "I8",     "U16",   "I16", "U32", "I32", "F32",
                                                                 "BOOL", "STRING", "ARRAY", "U64", "I64", "F64"};
    return type < kTypeCount ? kNames[type] : "unknown";
}

// Reads little-endian values with a bounds check before every read.
class Cursor {
public:
    Cursor(std::span<const std::byte> data, const std::string& fileName)
        : m_data(data)
        , m_fileName(fileName)
    {
    }

    std::uint64_t position() const { return m_position; }
    std::uint64_t left() const { return m_data.size() - m_position; }
    const std::string& fileName() const { return m_fileName; }

    [[noreturn]] void fail(const std::string& field, const std::string& what, const std::string& expected = "",
                           const std::string& found = "", std::optional<std::uint64_t> at = std::nullopt) const
    {
        throw FormatError({m_fileName, at ? at : m_position, field, expected, found}, what);
    }

    void need(std::uint64_t bytes, const std::string& field) const
    {
        if (bytes > left())
            fail(field, "file ends inside the header", strCat(bytes, " more bytes"), strCat(left(), " left"));
    }

    template <typename T> T read(const std::string& field)
    {
        need(sizeof(T), field);
        T value;
        std::memcpy(&value, m_data.data() + m_position, sizeof(T));
        m_position += sizeof(T);
        return value;
    }

    std::string readString(const std::string& field)
    {
        const auto start = m_position;
        const auto length = read<std::uint64_t>(field);
        if (length > left() || length > kGgufMaxString)
            fail(field, "string length runs past the end of the file",
                 strCat("at most ", std::min(left(), kGgufMaxString)), strCat(length), start);
        std::string value(reinterpret_cast<const char*>(m_data.data() + m_position), static_cast<std::size_t>(length));
        m_position += length;
        return value;
    }

private:
    std::span<const std::byte> m_data;
    std::string m_fileName;
    std::uint64_t m_position = 0;
};

GgufValue readValue(Cursor& cursor, std::uint32_t type, const std::string& key, std::uint32_t depth, bool keep,
                    std::uint64_t keepItems = kGgufKeptArrayItems)
{
    GgufValue value;
    value.type = type;
    switch (type) {
    case kU8:
        value.unsignedValue = cursor.read<std::uint8_t>(key);
        break;
    case kI8:
        value.signedValue = cursor.read<std::int8_t>(key);
        break;
    case kU16:
        value.unsignedValue = cursor.read<std::uint16_t>(key);
        break;
    case kI16:
        value.signedValue = cursor.read<std::int16_t>(key);
        break;
    case kU32:
        value.unsignedValue = cursor.read<std::uint32_t>(key);
        break;
    case kI32:
        value.signedValue = cursor.read<std::int32_t>(key);
        break;
    case kF32:
        value.floatValue = cursor.read<float>(key);
        break;
    case kBool: {
        const auto at = cursor.position();
        const auto b = cursor.read<std::uint8_t>(key);
        if (b > 1)
            cursor.fail(key, "boolean is neither 0 nor 1", "0 or 1", strCat(int(b)), at);
        value.unsignedValue = b;
        break;
    }
    case kString:
        if (keep)
            value.stringValue = cursor.readString(key);
        else
            cursor.readString(key);
        break;
    case kU64:
        value.unsignedValue = cursor.read<std::uint64_t>(key);
        break;
    case kI64:
        value.signedValue = cursor.read<std::int64_t>(key);
        break;
    case kF64:
        value.floatValue = cursor.read<double>(key);
        break;
    case kArray: {
        const auto at = cursor.position();
        if (depth >= kGgufMaxNesting)
            cursor.fail(key, "arrays nested too deeply", strCat("at most ", kGgufMaxNesting, " levels"), "", at);
        value.arrayType = cursor.read<std::uint32_t>(key);
        if (value.arrayType >= kTypeCount)
            cursor.fail(key, "unknown array element type", "0..12", strCat(value.arrayType), at);
        value.arrayCount = cursor.read<std::uint64_t>(key);
        // Each element takes at least its minimum size, so a count the file cannot hold is a lie.
        if (value.arrayCount > cursor.left() / minimumValueBytes(value.arrayType))
            cursor.fail(key, "array count runs past the end of the file",
                        strCat("at most ", cursor.left() / minimumValueBytes(value.arrayType)),
                        strCat(value.arrayCount), at);
        for (std::uint64_t i = 0; i < value.arrayCount; ++i) {
            const bool keepItem = keep && i < keepItems;
            auto item = readValue(cursor, value.arrayType, key, depth + 1, keepItem, keepItems);
            if (keepItem)
                value.arrayItems.push_back(std::move(item));
        }
        break;
    }
    default:
        cursor.fail(key, "unknown value type", "0..12", strCat(type));
    }
    return value;
}

} // namespace

std::string GgufValue::render() const
{
    switch (type) {
    case kU8:
    case kU16:
    case kU32:
    case kU64:
        return std::to_string(unsignedValue);
    case kBool:
        return unsignedValue ? "true" : "false";
    case kI8:
    case kI16:
    case kI32:
    case kI64:
        return std::to_string(signedValue);
    case kF32:
    case kF64: {
        std::ostringstream out;
        out << floatValue;
        return out.str();
    }
    case kString:
        return stringValue;
    case kArray: {
        std::string out = "[";
        for (std::size_t i = 0; i < arrayItems.size(); ++i) {
            if (i)
                out += ", ";
            out += arrayItems[i].type == kString ? "\"" + arrayItems[i].stringValue + "\"" : arrayItems[i].render();
        }
        if (arrayCount > arrayItems.size())
            out += strCat(arrayItems.empty() ? "" : ", ", "... (", arrayCount, " ", valueTypeName(arrayType),
                          " items)");
        return out + "]";
    }
    default:
        return "?";
    }
}

std::optional<GgufValue> readGgufValue(std::span<const std::byte> file, const std::string& fileName,
                                       const std::string& wanted)
{
    Cursor cursor(file, fileName);
    if (cursor.read<std::uint32_t>("magic") != 0x46554747u)
        cursor.fail("magic", "not a GGUF file", "GGUF", "", 0);
    cursor.read<std::uint32_t>("version");
    cursor.read<std::uint64_t>("tensor count");
    const auto kvCount = cursor.read<std::uint64_t>("metadata count");
    if (kvCount > cursor.left() / 13)
        cursor.fail("metadata count", "metadata count runs past the end of the file",
                    strCat("at most ", cursor.left() / 13), strCat(kvCount), 16);
    for (std::uint64_t i = 0; i < kvCount; ++i) {
        const auto key = cursor.readString(strCat("metadata key #", i));
        const auto type = cursor.read<std::uint32_t>(key);
        const bool match = key == wanted;
        auto value = readValue(cursor, type, key, 0, match, match ? UINT64_MAX : 0);
        if (match)
            return value;
    }
    return std::nullopt;
}

GgufFile parseGguf(std::span<const std::byte> file, const std::string& fileName)
{
    Cursor cursor(file, fileName);
    GgufFile gguf;
    const auto magic = cursor.read<std::uint32_t>("magic");
    if (magic != 0x46554747u) // "GGUF" little-endian
        cursor.fail("magic", "not a GGUF file", "GGUF", strCat("0x", std::hex, magic), 0);
    gguf.version = cursor.read<std::uint32_t>("version");
    if (gguf.version != 2 && gguf.version != 3)
        cursor.fail("version", "unsupported GGUF version", "2 or 3", strCat(gguf.version), 4);
    const auto tensorCount = cursor.read<std::uint64_t>("tensor count");
    const auto kvCount = cursor.read<std::uint64_t>("metadata count");
    // Minimum bytes of one entry: a tensor info is name length + dims + type + offset (24), a
    // key/value is key length + type + a 1-byte value (13).
    if (kvCount > cursor.left() / 13)
        cursor.fail("metadata count", "metadata count runs past the end of the file",
                    strCat("at most ", cursor.left() / 13), strCat(kvCount), 16);
    for (std::uint64_t i = 0; i < kvCount; ++i) {
        const auto at = cursor.position();
        auto key = cursor.readString(strCat("metadata key #", i));
        const auto type = cursor.read<std::uint32_t>(key);
        if (gguf.metadata.count(key))
            cursor.fail(key, "duplicate metadata key", "", "", at);
        gguf.metadata[key] = readValue(cursor, type, key, 0, true);
    }
    if (const auto it = gguf.metadata.find("general.alignment"); it != gguf.metadata.end()) {
        const auto& v = it->second;
        if (v.type != kU32 || v.unsignedValue == 0 || (v.unsignedValue & (v.unsignedValue - 1)) != 0)
            cursor.fail("general.alignment", "alignment is not a non-zero power of two (U32)", "a power of two",
                        v.render());
        gguf.alignment = v.unsignedValue;
    }

    if (tensorCount > cursor.left() / 24)
        cursor.fail("tensor count", "tensor count runs past the end of the file",
                    strCat("at most ", cursor.left() / 24), strCat(tensorCount), 8);
    std::set<std::string> names;
    std::vector<std::uint64_t> relativeOffsets;
    for (std::uint64_t i = 0; i < tensorCount; ++i) {
        const auto at = cursor.position();
        GgufTensorEntry t;
        t.name = cursor.readString(strCat("tensor #", i, " name"));
        const auto field = strCat("tensor '", t.name, "'");
        if (!names.insert(t.name).second)
            cursor.fail(field, "duplicate tensor name", "", "", at);
        const auto dims = cursor.read<std::uint32_t>(field);
        if (dims > kGgufMaxDims)
            cursor.fail(field, "too many dimensions", strCat("at most ", kGgufMaxDims), strCat(dims), at);
        std::uint64_t elements = 1;
        for (std::uint32_t d = 0; d < dims; ++d) {
            const auto n = cursor.read<std::uint64_t>(field);
            if (n > static_cast<std::uint64_t>(INT64_MAX) || __builtin_mul_overflow(elements, n, &elements)
                || elements > static_cast<std::uint64_t>(INT64_MAX))
                cursor.fail(field, "element count overflows", "", strCat("dimension ", n), at);
            t.ne.push_back(n);
        }
        const auto typeAt = cursor.position();
        const auto typeId = cursor.read<std::uint32_t>(field);
        t.layout = ggmlTraitsById(typeId);
        if (!t.layout)
            cursor.fail(field, strCat(field, " has unknown ggml type ", typeId), "a ggml type id", strCat(typeId),
                        typeAt);
        const auto rowLength = t.ne.empty() ? 1 : t.ne[0];
        if (rowLength % t.layout->blockElements != 0)
            cursor.fail(field,
                        strCat(field, " has rows of ", rowLength, " elements, not a whole number of ",
                               dtypeName(t.layout->dtype), " blocks of ", t.layout->blockElements),
                        "", "", at);
        if (__builtin_mul_overflow(elements / t.layout->blockElements, std::uint64_t {t.layout->blockBytes},
                                   &t.byteSize))
            cursor.fail(field, "byte size overflows", "", "", at);
        const auto offsetAt = cursor.position();
        const auto offset = cursor.read<std::uint64_t>(field);
        if (offset % gguf.alignment != 0)
            cursor.fail(field, strCat(field, " data offset ", offset, " is not aligned"),
                        strCat("a multiple of ", gguf.alignment), strCat(offset), offsetAt);
        relativeOffsets.push_back(offset);
        gguf.tensors.push_back(std::move(t));
    }

    const auto headerEnd = cursor.position();
    gguf.dataOffset = (headerEnd + gguf.alignment - 1) / gguf.alignment * gguf.alignment;
    if (gguf.dataOffset > file.size() && !gguf.tensors.empty())
        cursor.fail("tensor data", "file ends before the tensor data section", strCat(gguf.dataOffset, " bytes"),
                    strCat(file.size(), " bytes"), headerEnd);
    const std::uint64_t dataSize = file.size() > gguf.dataOffset ? file.size() - gguf.dataOffset : 0;
    std::vector<std::size_t> order(gguf.tensors.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
        auto& t = gguf.tensors[i];
        const auto relative = relativeOffsets[i];
        if (relative > dataSize || t.byteSize > dataSize - relative) {
            throw FormatError({fileName, gguf.dataOffset + relative, strCat("tensor '", t.name, "'"),
                               strCat("end at most ", dataSize), strCat(relative, " + ", t.byteSize)},
                              strCat("tensor '", t.name, "' ends past the end of the data section (", dataSize,
                                     " bytes from byte ", gguf.dataOffset, ")"));
        }
        t.offset = gguf.dataOffset + relative;
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return gguf.tensors[a].offset < gguf.tensors[b].offset; });
    const GgufTensorEntry* reach = nullptr;
    for (const auto i : order) {
        const auto& t = gguf.tensors[i];
        if (t.byteSize == 0)
            continue;
        if (reach && t.offset < reach->offset + reach->byteSize)
            throw FormatError({fileName, t.offset, strCat("tensor '", t.name, "'"), "", ""},
                              strCat("tensor '", t.name, "' overlaps tensor '", reach->name, "'"));
        if (!reach || t.offset + t.byteSize > reach->offset + reach->byteSize)
            reach = &t;
    }
    return gguf;
}

} // namespace quantlens::core
