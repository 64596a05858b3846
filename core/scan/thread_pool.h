#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace quantlens::core {

// A fixed set of worker threads that run one parallel loop at a time: run(n, fn) calls
// fn(task, worker) for every task in [0, n), spread over the workers (the calling thread is
// worker 0), and returns when all are done. The first exception a task throws stops the handing
// out of further tasks and is rethrown by run(), which is how cancellation travels.
// Threads are started once: a scan runs thousands of short loops, one or two per tensor.
class ThreadPool {
public:
    // threads == 0 means one per hardware thread.
    explicit ThreadPool(unsigned threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    unsigned size() const { return unsigned(m_threads.size()) + 1; }
    void run(std::size_t taskCount, const std::function<void(std::size_t task, unsigned worker)>& fn);

private:
    void workerLoop(unsigned worker);
    void drain(unsigned worker);

    std::vector<std::thread> m_threads;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_done;
    const std::function<void(std::size_t, unsigned)>* m_job = nullptr;
    std::size_t m_taskCount = 0;
    std::atomic<std::size_t> m_next {0};
    std::atomic<bool> m_failed {false};
    std::exception_ptr m_error;
    unsigned m_busy = 0;
    std::uint64_t m_generation = 0;
    bool m_stop = false;
};

} // namespace quantlens::core
