// Thread pool behind parallel_for (see parallel.h).
#include "tensor/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace difflut {
namespace {

// Hands each parallel region to the workers. A region's workers are woken through a generation
// counter that they first poll for a short while (kSpin) before sleeping on a condition variable,
// and the caller polls for their completion the same way: a training step runs dozens of regions
// a few microseconds apart, and a futex wake-up and context switch per region and worker cost
// more than many of the regions themselves (docs/PERFORMANCE.md, "Thread pool"). The poll is
// bounded, so an idle pool sleeps and an oversubscribed machine loses at most kSpin per region.
class ThreadPool {
 public:
  explicit ThreadPool(int n) : size_(n) {
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return size_; }

  // Runs task(i) for i in [0, size) with the caller as participant 0; returns when all are done.
  void run(const std::function<void(int)>& task) {
    std::unique_lock<std::mutex> run_lock(run_mu_);  // one parallel region at a time
    {
      // Under mu_ so that a worker checking the generation before it sleeps cannot miss it.
      std::lock_guard<std::mutex> lock(mu_);
      task_ = &task;
      pending_.store(size_ - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();  // no system call while every worker is still polling
    task(0);
    if (!poll_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    task_ = nullptr;
  }

 private:
  static constexpr std::chrono::microseconds kSpin{100};

  // Polls `ready` for up to kSpin; true once it holds.
  template <class Ready>
  static bool poll_until(const Ready& ready) {
    if (ready()) return true;
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (ready()) return true;
        cpu_relax();
      }
      if (std::chrono::steady_clock::now() >= deadline) return ready();
    }
  }

  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  void worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      const auto moved = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      if (!poll_until(moved)) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, moved);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_relaxed)) return;
      (*task_)(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // The caller may be asleep on done_cv_: take mu_ so the wake-up cannot fall between its
        // check of pending_ and its wait.
        std::lock_guard<std::mutex> lock(mu_);
        done_cv_.notify_one();
      }
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex mu_, run_mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* task_ = nullptr;  // written before generation_'s release
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

int default_threads() {
  if (const char* v = std::getenv("DIFFLUT_NUM_THREADS")) {
    int n = std::atoi(v);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

int g_threads = 0;
std::unique_ptr<ThreadPool> g_pool;
std::mutex g_pool_mu;
thread_local bool t_in_parallel = false;

ThreadPool& pool() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (!g_pool) {
    if (g_threads <= 0) g_threads = default_threads();
    g_pool = std::make_unique<ThreadPool>(g_threads);
  }
  return *g_pool;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  g_threads = std::max(1, n);
  g_pool.reset();
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t n = end - begin;
  // Nested regions run inline: the pool has one job slot and the outer region owns it.
  if (t_in_parallel || n <= std::max<int64_t>(grain, 1)) {
    fn(begin, end);
    return;
  }
  ThreadPool& p = pool();
  const int64_t parts = std::min<int64_t>(
      p.size(), (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (parts <= 1) {
    fn(begin, end);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mu;
  p.run([&](int i) {
    if (i >= parts) return;
    const int64_t lo = begin + n * i / parts, hi = begin + n * (i + 1) / parts;
    t_in_parallel = true;
    try {
      fn(lo, hi);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
    }
    t_in_parallel = false;
  });
  if (error) std::rethrow_exception(error);
}

}  // namespace difflut
