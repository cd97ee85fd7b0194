// Workers sleep on a condition variable between jobs after a short spin (a job often follows another within
// microseconds); a job is published under a mutex with a generation number, chunks are claimed with fetch_add.
#include "kernels/threadpool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace zh::cpu {

namespace {

thread_local bool tl_in_parallel = false;

// Marks the current thread as inside a parallel region for its lifetime (restored on exceptions too).
struct RegionGuard {
  bool was = tl_in_parallel;
  RegionGuard() { tl_in_parallel = true; }
  ~RegionGuard() { tl_in_parallel = was; }
};

struct Job {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0, chunk = 0, nchunks = 0;
};

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    // Each worker starts from generation 0, the value before any job or stop: a worker whose thread starts only
    // after the pool was already told to stop must still see that, not take the stop's generation as seen.
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { worker(0); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int threads() const { return threads_; }

  // Runs the job with the workers; returns false (nothing run) if another caller holds the pool.
  bool run(const Job& job, std::exception_ptr& error) {
    std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
    if (!submit.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> g(m_);
      job_ = job;
      next_.store(0);
      done_.store(0);
      error_ = nullptr;
      active_ = true;
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    work();
    // Spin briefly for the workers' last chunks before sleeping: a wake-up through done_cv_ costs tens of
    // microseconds here, a large share of a millisecond-long product.
    for (int i = 0; i < 4000 && done_.load(std::memory_order_acquire) != job_.nchunks; ++i) __builtin_ia32_pause();
    // Every chunk is done; close the job and wait for workers still inside it to leave.
    std::unique_lock<std::mutex> g(m_);
    done_cv_.wait(g, [&] { return done_.load() == job_.nchunks && busy_ == 0; });
    active_ = false;
    error = error_;
    return true;
  }

 private:
  void work() {
    RegionGuard region;
    for (;;) {
      const int64_t c = next_.fetch_add(1);
      if (c >= job_.nchunks) break;
      const int64_t b = c * job_.chunk, e = std::min(job_.n, b + job_.chunk);
      try {
        (*job_.fn)(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> g(m_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1) + 1 == job_.nchunks) {
        std::lock_guard<std::mutex> g(m_);
        done_cv_.notify_all();
      }
    }
  }

  void worker(uint64_t seen) {
    for (;;) {
      // Spin briefly: back-to-back jobs (one per layer) are common and a sleep/wake costs tens of microseconds.
      for (int i = 0; i < 4000 && generation_.load(std::memory_order_acquire) == seen; ++i) __builtin_ia32_pause();
      std::unique_lock<std::mutex> g(m_);
      cv_.wait(g, [&] { return stop_ || generation_.load() != seen; });
      seen = generation_.load();
      if (stop_) return;
      if (!active_) continue;
      ++busy_;
      g.unlock();
      work();
      g.lock();
      --busy_;
      if (busy_ == 0) done_cv_.notify_all();
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex submit_, m_;
  std::condition_variable cv_, done_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0}, done_{0};
  Job job_;
  std::exception_ptr error_;
  bool active_ = false, stop_ = false;
  int busy_ = 0;
};

int usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::mutex g_pool_mutex;
std::shared_ptr<Pool> g_pool;

std::shared_ptr<Pool> pool() {
  std::lock_guard<std::mutex> g(g_pool_mutex);
  if (!g_pool) g_pool = std::make_shared<Pool>(default_num_threads());
  return g_pool;
}

Job make_job(int64_t n, int64_t grain, int threads, const std::function<void(int64_t, int64_t)>* fn) {
  // A few chunks per thread smooths out uneven chunks and a busy core; never below `grain` items each.
  const int64_t g = std::max<int64_t>(1, grain);
  const int64_t by_grain = (n + g - 1) / g;
  const int64_t want = threads <= 1 ? 1 : std::min<int64_t>(by_grain, static_cast<int64_t>(threads) * 4);
  Job j;
  j.fn = fn;
  j.n = n;
  j.chunk = (n + want - 1) / want;
  j.nchunks = (n + j.chunk - 1) / j.chunk;
  return j;
}

}  // namespace

int default_num_threads() {
  const char* env = std::getenv("ZOOHUB_NUM_THREADS");
  if (env == nullptr || *env == '\0') return usable_cores();
  char* end = nullptr;
  const long v = std::strtol(env, &end, 10);
  if (*end != '\0' || v < 1 || v > 1024)
    throw std::runtime_error(std::string("ZOOHUB_NUM_THREADS: expected a whole number from 1 to 1024, got '") + env +
                             "'");
  return static_cast<int>(v);
}

int num_threads() { return pool()->threads(); }

void set_num_threads(int n) {
  if (n < 1 || n > 1024)
    throw std::invalid_argument("set_num_threads: expected 1 to 1024 threads, got " + std::to_string(n));
  std::lock_guard<std::mutex> g(g_pool_mutex);
  if (g_pool && g_pool->threads() == n) return;
  g_pool = std::make_shared<Pool>(n);
}

bool in_parallel_region() { return tl_in_parallel; }

int64_t parallel_chunks(int64_t n, int64_t grain) {
  if (n <= 0) return 0;
  return make_job(n, grain, num_threads(), nullptr).nchunks;
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  std::shared_ptr<Pool> p = pool();
  const Job job = make_job(n, grain, p->threads(), &fn);
  std::exception_ptr error;
  if (job.nchunks > 1 && !tl_in_parallel && p->run(job, error)) {
    if (error) std::rethrow_exception(error);
    return;
  }
  RegionGuard region;
  for (int64_t c = 0; c < job.nchunks; ++c) fn(c * job.chunk, std::min(n, (c + 1) * job.chunk));
}

}  // namespace zh::cpu
