#include "core/util/progress.h"

#include "core/util/error.h"

namespace quantlens::core {

void ProgressSink::throwIfCancelled() const
{
    if (isCancelled())
        throw CancelledError();
}

} // namespace quantlens::core
