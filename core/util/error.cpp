#include "core/util/error.h"

#include "core/util/str_cat.h"

namespace quantlens {

namespace {

std::string formatMessage(const ErrorLocation& where, const std::string& what)
{
    std::string message = where.file.empty() ? what : strCat(where.file, ": ", what);
    if (!where.field.empty())
        message += strCat(" [", where.field, "]");
    if (where.offset)
        message += strCat(" [at byte ", *where.offset, "]");
    if (!where.expected.empty() || !where.found.empty()) {
        message += " (";
        if (!where.expected.empty())
            message += "expected " + where.expected;
        if (!where.expected.empty() && !where.found.empty())
            message += ", ";
        if (!where.found.empty())
            message += "found " + where.found;
        message += ")";
    }
    return message;
}

} // namespace

FormatError::FormatError(ErrorLocation where, const std::string& what)
    : Error(formatMessage(where, what))
    , m_where(std::move(where))
{
}

IoError::IoError(const std::string& file, const std::string& what)
    : Error(strCat(file, ": ", what))
    , m_file(file)
{
}

} // namespace quantlens
