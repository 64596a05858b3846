#include "core/scan/thread_pool.h"

#include <algorithm>
#include <utility>

namespace quantlens::core {

ThreadPool::ThreadPool(unsigned threads)
{
    if (threads == 0)
        threads = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned w = 1; w < threads; ++w)
        m_threads.emplace_back([this, w] { workerLoop(w); });
}

ThreadPool::~ThreadPool()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads)
        t.join();
}

void ThreadPool::run(std::size_t taskCount, const std::function<void(std::size_t, unsigned)>& fn)
{
    if (taskCount == 0)
        return;
    {
        const std::lock_guard lock(m_mutex);
        m_job = &fn;
        m_taskCount = taskCount;
        m_next.store(0);
        m_failed.store(false);
        m_error = nullptr;
        m_busy = unsigned(m_threads.size());
        ++m_generation;
    }
    m_wake.notify_all();
    drain(0);
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [this] { return m_busy == 0; });
    m_job = nullptr;
    if (m_error)
        std::rethrow_exception(std::exchange(m_error, nullptr));
}

void ThreadPool::drain(unsigned worker)
{
    while (!m_failed.load(std::memory_order_relaxed)) {
        const std::size_t task = m_next.fetch_add(1);
        if (task >= m_taskCount)
            return;
        try {
            (*m_job)(task, worker);
        } catch (...) {
            const std::lock_guard lock(m_mutex);
            if (!m_error)
                m_error = std::current_exception();
            m_failed.store(true);
        }
    }
}

void ThreadPool::workerLoop(unsigned worker)
{
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stop || m_generation != seen; });
            if (m_stop)
                return;
            seen = m_generation;
        }
        drain(worker);
        {
            const std::lock_guard lock(m_mutex);
            if (--m_busy == 0)
                m_done.notify_all();
        }
    }
}

} // namespace quantlens::core
