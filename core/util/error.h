#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace quantlens {

// The errors core throws. Each carries its facts as fields (file, byte offset, field, expected,
// found) as well as one readable message built from them, in the shape of nlohmann/json's
// exceptions: a base class plus a few kinds a caller can tell apart.
//
// Catch only at the edges: the CLI's main (exit 1, or 2 for UsageError), GUI jobs, tests.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message)
        : std::runtime_error(message)
    {
    }
};

// Where in a file something went wrong, and what was expected there.
struct ErrorLocation {
    std::string file; // path or name as the user gave it
    std::optional<std::uint64_t> offset; // byte offset in the file
    std::string field; // tensor name, JSON key or GGUF key
    std::string expected;
    std::string found;
};

// A file that does not follow its format: truncated, inconsistent, out of bounds.
class FormatError : public Error {
public:
    // The message reads "FILE: WHAT [field F] [at byte N] (expected E, found X)".
    FormatError(ErrorLocation where, const std::string& what);

    const ErrorLocation& where() const { return m_where; }
    const std::string& file() const { return m_where.file; }
    std::optional<std::uint64_t> offset() const { return m_where.offset; }
    const std::string& field() const { return m_where.field; }

private:
    ErrorLocation m_where;
};

// Valid input that this version cannot handle (a GGUF type without a dequantizer, say).
class UnsupportedError : public Error {
public:
    using Error::Error;
};

// A bad argument from the user: an unknown name, a number out of range. The CLI exits with 2.
class UsageError : public Error {
public:
    using Error::Error;
};

// The operating system refused: a file that cannot be opened, read or written.
class IoError : public Error {
public:
    IoError(const std::string& file, const std::string& what);
    const std::string& file() const { return m_file; }

private:
    std::string m_file;
};

// Long work stopped because the user asked.
class CancelledError : public Error {
public:
    CancelledError()
        : Error("cancelled")
    {
    }
};

} // namespace quantlens
