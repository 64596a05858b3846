#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace quantlens::core {

// What long work reports: units done of a total (tensors, bytes, blocks: `unit` says which).
struct Progress {
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    std::uint64_t bytesDone = 0;
    std::uint64_t bytesTotal = 0;
    std::string unit;
    std::string current; // what is being worked on now, e.g. a tensor name
};

// How core's long loops talk to their caller without knowing Qt: a callback for progress and a
// flag for cancellation, checked every few thousand blocks. ui/jobs adapts it to QPromise.
class ProgressSink {
public:
    ProgressSink() = default;
    explicit ProgressSink(std::function<void(const Progress&)> onProgress)
        : m_onProgress(std::move(onProgress))
    {
    }

    void report(const Progress& progress) const
    {
        if (m_onProgress)
            m_onProgress(progress);
    }
    void cancel() { m_cancelled.store(true, std::memory_order_relaxed); }
    bool isCancelled() const { return m_cancelled.load(std::memory_order_relaxed); }
    // Throws CancelledError when cancel() was called: call it between units of work.
    void throwIfCancelled() const;

private:
    std::function<void(const Progress&)> m_onProgress;
    std::atomic<bool> m_cancelled {false};
};

} // namespace quantlens::core
